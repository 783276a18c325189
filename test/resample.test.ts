import { describe, it, expect } from 'vitest';
import { createMotion } from '../src/model/motion.js';
import type { Motion } from '../src/model/motion.js';
import { resampleMotion, resampledFrameCount } from '../src/model/resample.js';
import type { JointName } from '../src/model/skeleton.js';

const VELOCITY = [0.5, -0.25, 1.5]; // metres per second
const START = [1, 2, -3];

/** Two joints: one moving at constant velocity, one fixed. */
function linearMotion(fps: number, frames: number): Motion {
  const joints: JointName[] = ['Hips', 'Head'];
  const positions = new Float32Array(frames * joints.length * 3);
  for (let t = 0; t < frames; t++) {
    for (let axis = 0; axis < 3; axis++) {
      positions[t * 6 + axis] = START[axis]! + (VELOCITY[axis]! * t) / fps;
      positions[t * 6 + 3 + axis] = 7;
    }
  }
  return createMotion(fps, joints, positions);
}

function expectLinear(motion: Motion): void {
  for (let t = 0; t < motion.frameCount; t++) {
    for (let axis = 0; axis < 3; axis++) {
      expect(motion.positions[t * 6 + axis]).toBeCloseTo(START[axis]! + (VELOCITY[axis]! * t) / motion.fps, 5);
      expect(motion.positions[t * 6 + 3 + axis]).toBe(7);
    }
  }
}

describe('resampleMotion', () => {
  it('60 -> 30 keeps a linearly moving point linear', () => {
    const out = resampleMotion(linearMotion(60, 121), 30);
    expect(out.fps).toBe(30);
    expect(out.frameCount).toBe(61);
    expect(out.jointNames).toEqual(['Hips', 'Head']);
    expect(out.positions).toBeInstanceOf(Float32Array);
    expectLinear(out);
  });

  it('60 -> 30 with an even frame count keeps the duration (drops the half frame)', () => {
    const out = resampleMotion(linearMotion(60, 120), 30);
    expect(out.frameCount).toBe(60);
    expectLinear(out);
  });

  it('24 -> 30 interpolates between frames and stays linear', () => {
    const out = resampleMotion(linearMotion(24, 49), 30);
    expect(out.frameCount).toBe(61); // 48 frames * 30/24 = 60 intervals
    expectLinear(out);
    const odd = resampleMotion(linearMotion(24, 10), 30);
    expect(odd.frameCount).toBe(Math.floor((9 * 30) / 24) + 1);
    expectLinear(odd);
  });

  it('returns the same data when the rate is unchanged', () => {
    const motion = linearMotion(30, 10);
    const out = resampleMotion(motion, 30);
    expect(out).toBe(motion);
    expect(out.positions).toBe(motion.positions);
  });

  it('handles 0 and 1 frame clips and rejects bad rates', () => {
    expect(resampleMotion(linearMotion(60, 1), 30).frameCount).toBe(1);
    expect(resampledFrameCount(0, 60, 30)).toBe(0);
    expect(() => resampleMotion(linearMotion(60, 2), 0)).toThrow(/positive/);
    expect(() => resampleMotion(linearMotion(60, 2), Number.NaN)).toThrow(/positive/);
  });
});

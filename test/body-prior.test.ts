import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BodyPriorScan,
  DISPLACEMENT_CAP_SCALES,
  DISPLACEMENT_UNITS_PER_SCALE,
  FAST_RUN_FRAMES,
  HEADING_UNITS_PER_45_DEGREES,
  JUMP_MEMORY_FRAMES,
  SUPPORT_GRACE_FRAMES,
  SUPPORT_RAMP_FRAMES,
  bodyEvidence,
} from '../src/model/body-prior.js';
import { createMotion, type Motion } from '../src/model/motion.js';
import { skeletonScale } from '../src/model/normalise.js';
import { jointIndex } from '../src/model/skeleton.js';
import { injectAnomaly } from '../src/synth/anomalies.js';
import { listBvhFiles, loadBvhFile } from '../src/train/dataset.js';
import { walkerMotion } from './fixtures/walker.js';
import { HAS_REAL_DATA as hasData, REAL_DATA_DIR as DATA_DIR } from './fixtures/real-data.js';

const J = 21;
const W = 250;
const walk = walkerMotion({ frames: 240, cadence: 1.1 });
const scale = skeletonScale(walk);
const evidence = (m: Motion): Float32Array => bodyEvidence(m, scale, W);
const peak = (e: Float32Array, from: number, to: number): number => Math.max(...e.subarray(from, to));
/** 0 -> 1 over `frames` frames from `start`, smoothly (no jump for the displacement check to see). */
const rise = (t: number, start: number, frames: number): number => {
  const x = Math.min(1, Math.max(0, (t - start + 1) / frames));
  return x * x * (3 - 2 * x);
};

/** The walk with every joint moved by offset(t) (metres) on frames [from, to). */
function shifted(from: number, to: number, offset: (t: number) => readonly [number, number, number]): Motion {
  const positions = walk.positions.slice();
  for (let t = from; t < to; t++) {
    const d = offset(t);
    for (let j = 0; j < J; j++) for (let a = 0; a < 3; a++) positions[(t * J + j) * 3 + a]! += d[a]!;
  }
  return createMotion(walk.fps, walk.jointNames, positions);
}

/** The walk with each frame t of [from, to) turned by angle(t) radians about the vertical through its Hips. */
function turned(m: Motion, from: number, to: number, angle: (t: number) => number): Motion {
  const positions = m.positions.slice();
  const hips = jointIndex('Hips');
  for (let t = from; t < to; t++) {
    const c = Math.cos(angle(t));
    const s = Math.sin(angle(t));
    const hx = positions[(t * J + hips) * 3]!;
    const hz = positions[(t * J + hips) * 3 + 2]!;
    for (let j = 0; j < J; j++) {
      const i = (t * J + j) * 3;
      const x = positions[i]! - hx;
      const z = positions[i + 2]! - hz;
      positions[i] = hx + c * x + s * z;
      positions[i + 2] = hz - s * x + c * z;
    }
  }
  return createMotion(m.fps, m.jointNames, positions);
}

const DEGREE = Math.PI / 180;

describe('body prior', () => {
  it('finds nothing in a walk', () => {
    expect(peak(evidence(walk), 0, walk.frameCount)).toBe(0);
  });

  it('lets a jump fly, but not a body that stays off the floor', () => {
    // A 40 cm hop, up and down in as many frames as a jump's flight: nothing.
    const hop = SUPPORT_GRACE_FRAMES;
    expect(peak(evidence(shifted(100, 100 + hop, (t) => [0, 0.4 * Math.sin((Math.PI * (t - 99)) / (hop + 1)), 0])), 0, 240)).toBe(0);
    // Floating up 40 cm over 5 frames from frame 100, down at 180: nothing for the grace, then growing to full.
    const e = evidence(shifted(100, 180, (t) => [0, 0.4 * rise(t, 100, 5) * (1 - rise(t, 175, 5)), 0]));
    expect(peak(e, 0, 100 + SUPPORT_GRACE_FRAMES)).toBe(0);
    const full = e[100 + SUPPORT_GRACE_FRAMES + SUPPORT_RAMP_FRAMES + 4]!;
    expect(full).toBeGreaterThan(10);
    const half = e[100 + SUPPORT_GRACE_FRAMES + SUPPORT_RAMP_FRAMES / 2 + 4]!;
    expect(half).toBeGreaterThan(0.3 * full);
    expect(half).toBeLessThan(0.7 * full);
    expect(peak(e, 180, 240)).toBe(0);
  });

  it('offline, counts a float that lasted from its start; a hop still not at all', () => {
    const float = shifted(100, 180, (t) => [0, 0.4 * rise(t, 100, 5) * (1 - rise(t, 175, 5)), 0]);
    const live = evidence(float);
    const offline = bodyEvidence(float, scale, W, true);
    // From the frame the feet pass the tolerance, in full; the live scan waits out the grace.
    expect(peak(live, 100, 100 + SUPPORT_GRACE_FRAMES)).toBe(0);
    expect(Math.min(...offline.subarray(104, 100 + SUPPORT_GRACE_FRAMES))).toBeGreaterThan(10);
    expect(offline[140]).toBeCloseTo(live[140]!, 5); // past the ramp they agree
    expect(peak(offline, 0, 100)).toBe(0);
    expect(peak(offline, 180, 240)).toBe(0);
    const hop = SUPPORT_GRACE_FRAMES;
    const hopped = shifted(100, 100 + hop, (t) => [0, 0.4 * Math.sin((Math.PI * (t - 99)) / (hop + 1)), 0]);
    expect(peak(bodyEvidence(hopped, scale, W, true), 0, 240)).toBe(0);
    expect(() => new BodyPriorScan(W).supportTwoSided(new Float32Array(0))).toThrow(/keeps a trace/);
  });

  it('sees a body sunk into the floor', () => {
    const e = evidence(shifted(100, 180, (t) => [0, -0.3 * rise(t, 100, 5) * (1 - rise(t, 175, 5)), 0]));
    expect(peak(e, 0, 100 + SUPPORT_GRACE_FRAMES)).toBe(0);
    expect(peak(e, 150, 180)).toBeGreaterThan(10);
    expect(peak(e, 180, 240)).toBe(0);
  });

  it('holds the floor it first saw when a float lasts most of the clip', () => {
    // Off the floor from frame 40 to the end: the raised level is the most common, yet the floor stays.
    const e = evidence(shifted(40, 240, (t) => [0, 0.5 * rise(t, 40, 5), 0]));
    expect(peak(e, 0, 40 + SUPPORT_GRACE_FRAMES)).toBe(0);
    expect(Math.min(...e.subarray(40 + SUPPORT_GRACE_FRAMES + SUPPORT_RAMP_FRAMES, 240))).toBeGreaterThan(10);
  });

  it('marks a teleport until the body jumps back', () => {
    const e = evidence(shifted(100, 160, () => [1, 0, 0]));
    expect(peak(e, 0, 100)).toBe(0);
    const expected = DISPLACEMENT_UNITS_PER_SCALE * Math.min(DISPLACEMENT_CAP_SCALES, 1 / scale);
    for (const t of [100, 130, 159]) expect(e[t]).toBeCloseTo(expected, 3);
    expect(peak(e, 160, 240)).toBe(0);
  });

  it('forgets a teleport that stays after JUMP_MEMORY_FRAMES (VR teleport locomotion must not alert for ever)', () => {
    const e = evidence(shifted(50, 240, () => [0, 0, 2]));
    expect(e[50]).toBeGreaterThan(0);
    expect(e[50 + JUMP_MEMORY_FRAMES - 1]).toBeGreaterThan(0);
    expect(peak(e, 50 + JUMP_MEMORY_FRAMES, 240)).toBe(0);
  });

  it('takes a stalled stream catching up for no displacement', () => {
    const positions = walk.positions.slice();
    const stride = J * 3;
    for (let t = 100; t < 112; t++) positions.copyWithin(t * stride, 99 * stride, 100 * stride);
    const m = createMotion(30, walk.jointNames, positions);
    // The catch-up is a real jump of the Hips (the walker covers > 15 cm in 12 frames).
    const hips = jointIndex('Hips');
    const step = Math.hypot(positions[(112 * J + hips) * 3]! - positions[(111 * J + hips) * 3]!, positions[(112 * J + hips) * 3 + 2]! - positions[(111 * J + hips) * 3 + 2]!);
    expect(step).toBeGreaterThan(0.15 * scale);
    expect(peak(evidence(m), 0, 240)).toBe(0);
    const stutter = injectAnomaly(walk, { kind: 'networkStutter', seed: 3, severity: 1 });
    expect(peak(evidence(stutter.motion), 0, 240)).toBe(0);
  });

  it('marks a yaw snap until the body turns back, in proportion to the angle', () => {
    const snapped = injectAnomaly(walk, { kind: 'bodyYawSnap', startFrame: 100, frameCount: 60, seed: 1, severity: 0 }); // 45 degrees
    const e = evidence(snapped.motion);
    expect(peak(e, 0, 100)).toBe(0);
    expect(e[100]).toBeCloseTo(HEADING_UNITS_PER_45_DEGREES, 1);
    expect(e[159]).toBeCloseTo(HEADING_UNITS_PER_45_DEGREES, 1);
    expect(peak(e, 160, 240)).toBe(0);
    const mirrored = injectAnomaly(walk, { kind: 'mirroredPose', startFrame: 100, frameCount: 60, seed: 1 });
    expect(evidence(mirrored.motion)[130]).toBeGreaterThan(3 * HEADING_UNITS_PER_45_DEGREES); // the heading flips round
  });

  it('takes a one-frame spike too small to call a jump for nothing, and the way back from it too', () => {
    // Half-way between a body's own change and a jump: neither counted nor taken as the new
    // velocity (heading), else the way back, twice as large, would count as one.
    const pop = shifted(100, 101, () => [0.08 * scale, 0, 0]);
    expect(peak(evidence(pop), 0, 240)).toBe(0);
    const twist = turned(walk, 100, 101, () => 20 * DEGREE);
    expect(peak(evidence(twist), 0, 240)).toBe(0);
    // A spike past the thresholds is seen, and the way back clears it.
    const e = evidence(turned(walk, 100, 101, () => 40 * DEGREE));
    expect(e[100]).toBeGreaterThan(0);
    expect(peak(e, 101, 240)).toBe(0);
  });

  it('does not take the drop that ends a float for a teleport', () => {
    // Up 50 cm smoothly, then back down in three frames: jumps of the Hips, but onto the floor.
    const e = evidence(shifted(60, 173, (t) => [0, 0.5 * rise(t, 60, 20) * (t < 170 ? 1 : (172 - t) / 3), 0]));
    expect(peak(e, 100, 170)).toBeGreaterThan(10);
    expect(peak(e, 173, 240)).toBe(0);
  });

  it('takes jumps frame after frame for a body moving too fast, not for one relocated', () => {
    // A stream that lags 1 m behind (smoothly), then fast-forwards back in four frames.
    const lag = (t: number): number => (t < 150 ? -rise(t, 60, 60) : -(1 - (t - 149) / 4));
    const e = evidence(shifted(60, 154, (t) => [lag(t), 0, 0]));
    expect(FAST_RUN_FRAMES).toBeLessThanOrEqual(4);
    expect(peak(e, 0, 150)).toBe(0);
    expect(peak(e, 150, 154)).toBeGreaterThan(0); // too fast while it lasts
    expect(peak(e, 155, 240)).toBe(0); // in its place again after
  });

  it('takes a stalled stream catching up for no turn', () => {
    const turning = turned(walk, 0, 240, (t) => 4 * DEGREE * t);
    expect(peak(evidence(turning), 0, 240)).toBe(0);
    const positions = turning.positions.slice();
    const stride = J * 3;
    for (let t = 100; t < 112; t++) positions.copyWithin(t * stride, 99 * stride, 100 * stride);
    // The catch-up turns the body 48 degrees in one frame.
    expect(peak(evidence(createMotion(30, walk.jointNames, positions)), 0, 240)).toBe(0);
  });

  it('takes a snap more than half undone for a body turned back', () => {
    const e = evidence(turned(walk, 100, 240, (t) => (t < 160 ? 90 : 20) * DEGREE));
    expect(e[130]).toBeCloseTo(2 * HEADING_UNITS_PER_45_DEGREES, 1);
    expect(peak(e, 160, 240)).toBe(0);
  });

  it('judges the first turn against standing still', () => {
    // Mirrored from the second frame on: the first turn is the snap.
    const m = injectAnomaly(walk, { kind: 'mirroredPose', startFrame: 1, frameCount: 100, seed: 1 }).motion;
    const e = evidence(m);
    expect(Math.min(...e.subarray(1, 101))).toBeGreaterThan(3 * HEADING_UNITS_PER_45_DEGREES);
    expect(peak(e, 101, 240)).toBe(0);
  });

  it('gives a stream fed a few frames at a time what it gives the whole clip', () => {
    const m = injectAnomaly(walk, { kind: 'teleport', startFrame: 70, frameCount: 90, seed: 2 }).motion;
    const whole = evidence(m);
    const scan = new BodyPriorScan(W);
    const streamed: number[] = [];
    for (let from = 0, k = 1; from < m.frameCount; k = (k % 7) + 1) {
      const to = Math.min(m.frameCount, from + k);
      streamed.push(...scan.next(createMotion(30, m.jointNames, m.positions.subarray(0, to * J * 3)), scale, from, to));
      from = to;
    }
    expect(streamed).toEqual(Array.from(whole));
    expect(() => scan.next(m, scale, 5, 6)).toThrow(/expected stream frame 240, got 5/);
  });
});

if (!hasData) console.warn('skipping the body prior on real takes: ../shared/data not found');

describe.skipIf(!hasData)('body prior on the real takes', () => {
  it('finds nothing in any of them', async () => {
    const files = await listBvhFiles([DATA_DIR]);
    expect(files.length).toBeGreaterThan(900);
    const flagged: string[] = [];
    for (const file of files) {
      const m = await loadBvhFile(file);
      // Live and offline (a stretch off the floor counted from its start) alike.
      if (Math.max(...bodyEvidence(m, skeletonScale(m), W, true)) > 0 || Math.max(...bodyEvidence(m, skeletonScale(m), W)) > 0) flagged.push(path.basename(file));
    }
    expect(flagged).toEqual([]);
  }, 120_000);
});

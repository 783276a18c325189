import { describe, expect, it } from 'vitest';
import { AnomalousStream, AvatarStream, IDENTITY, STRIDE, applyRigid, composeRigid, findLoop, invertRigid, makeLoop, pickClips, rootAlignment } from '../bench/motion-source.js';
import { headingYaw } from '../src/model/normalise.js';
import { walkerMotion } from '../src/synth/walker.js';

/** Largest single-joint displacement between consecutive frames, per frame transition. */
function steps(positions: Float32Array, frames: number): number[] {
  const out: number[] = [];
  for (let t = 1; t < frames; t++) {
    let largest = 0;
    for (let j = 0; j < 21; j++) {
      let d = 0;
      for (let a = 0; a < 3; a++) d += (positions[t * STRIDE + j * 3 + a]! - positions[(t - 1) * STRIDE + j * 3 + a]!) ** 2;
      largest = Math.max(largest, Math.sqrt(d));
    }
    out.push(largest);
  }
  return out;
}

describe('bench motion source: rigid moves about Y', () => {
  const walk = walkerMotion({ frames: 120, heading: 10 });

  it('turns the heading by the yaw given (as headingYaw measures it) and keeps heights', () => {
    const out = new Float32Array(STRIDE);
    applyRigid({ yaw: 0.7, x: 2, z: -1 }, walk.positions, 0, out, 0);
    expect(headingYaw(out, 21, 0) - headingYaw(walk.positions, 21, 0)).toBeCloseTo(0.7, 5);
    for (let j = 0; j < 21; j++) expect(out[j * 3 + 1]).toBeCloseTo(walk.positions[j * 3 + 1]!, 5);
  });

  it('composes and inverts', () => {
    const a = { yaw: 0.3, x: 1, z: 2 };
    const b = { yaw: -1.1, x: -0.5, z: 4 };
    const p = walk.positions.subarray(0, STRIDE);
    const viaBoth = new Float32Array(STRIDE);
    const step = new Float32Array(STRIDE);
    applyRigid(b, p, 0, step, 0);
    applyRigid(a, step, 0, viaBoth, 0);
    const composed = new Float32Array(STRIDE);
    applyRigid(composeRigid(a, b), p, 0, composed, 0);
    for (let i = 0; i < STRIDE; i++) expect(composed[i]).toBeCloseTo(viaBoth[i]!, 5);
    const back = composeRigid(invertRigid(a), a);
    expect(back.yaw).toBeCloseTo(0, 10);
    expect(back.x).toBeCloseTo(0, 10);
    expect(back.z).toBeCloseTo(0, 10);
  });

  it('aligns one frame\'s hips and heading onto another\'s', () => {
    const align = rootAlignment(walk.positions, 0, 60);
    const out = new Float32Array(STRIDE);
    applyRigid(align, walk.positions, 0, out, 0);
    expect(out[0]).toBeCloseTo(walk.positions[60 * STRIDE]!, 4);
    expect(out[2]).toBeCloseTo(walk.positions[60 * STRIDE + 2]!, 4);
    expect(headingYaw(out, 21, 0)).toBeCloseTo(headingYaw(walk.positions, 21, 60), 4);
  });
});

describe('bench motion source: seamless loops', () => {
  const walk = walkerMotion({ frames: 200, heading: 30 });
  const loop = makeLoop(walk, 'walker', 6);

  it('loops a walk at a whole number of gait cycles (the walker repeats every 30 frames)', () => {
    expect(loop.frames % 30).toBe(0);
    expect(loop.seamMismatch).toBeLessThan(1e-6);
    const found = findLoop(walk.positions, walk.frameCount, 100, 6);
    expect(found.end - found.start).toBe(loop.frames);
    expect(loop.frames).toBeGreaterThanOrEqual(100);
  });

  it('streams without jumps across seams, walking on from where each repetition ended', () => {
    const stream = new AvatarStream(loop, 0, IDENTITY);
    const segment = stream.segment(0, loop.frames * 3);
    const within = steps(walk.positions, walk.frameCount);
    const streamed = steps(segment.positions, segment.frameCount);
    expect(Math.max(...streamed)).toBeLessThan(1.2 * Math.max(...within));
    // The hips keep going forward: no jump back to the clip's start.
    const hipsZ = (t: number): number => segment.positions[t * STRIDE + 2]! * Math.cos((30 * Math.PI) / 180) + segment.positions[t * STRIDE]! * Math.sin((30 * Math.PI) / 180);
    expect(hipsZ(loop.frames * 2)).toBeGreaterThan(hipsZ(loop.frames) + 1);
    expect(stream.framesSinceSeam(loop.frames + 5)).toBe(5);
    expect(new AvatarStream(loop, 7, IDENTITY).framesSinceSeam(0)).toBe(7);
  });

  it('places an avatar in the room without changing its motion', () => {
    const here = new AvatarStream(loop, 3, IDENTITY).segment(0, 40);
    const there = new AvatarStream(loop, 3, { yaw: 1, x: 10, z: -4 }).segment(0, 40);
    const a = steps(here.positions, 40);
    const b = steps(there.positions, 40);
    a.forEach((x, i) => expect(b[i]).toBeCloseTo(x, 4));
  });

  it('refuses clips too short to loop', () => {
    expect(() => makeLoop(walkerMotion({ frames: 40 }), 'short', 6)).toThrow(/too few/);
  });
});

describe('bench motion source: injected anomalies and clip choice', () => {
  const loop = makeLoop(walkerMotion({ frames: 200 }), 'walker', 6);
  const base = new AvatarStream(loop, 11, IDENTITY);
  const anomalous = new AnomalousStream(base, { kind: 'boneStretch', onsetSeq: 120, frames: 60, severity: 1, seed: 3 });

  it('corrupts the planned span only, and reports its true first and last corrupted frames', () => {
    const a = new Float32Array(STRIDE);
    const b = new Float32Array(STRIDE);
    for (const seq of [0, 50, 119, 181, 300]) {
      base.frame(seq, a);
      anomalous.frame(seq, b);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
    expect(anomalous.onsetSeq).toBeGreaterThanOrEqual(120);
    expect(anomalous.endSeq).toBeLessThanOrEqual(180);
    base.frame(150, a);
    anomalous.frame(150, b);
    expect(Array.from(b)).not.toEqual(Array.from(a));
  });

  it('picks clips round-robin over motion classes, longest first', () => {
    const clips = [
      { motionClass: 'walk', frames: 100, id: 'w1' },
      { motionClass: 'walk', frames: 200, id: 'w2' },
      { motionClass: 'run', frames: 80, id: 'r1' },
      { motionClass: 'wave', frames: 90, id: 'v1' },
    ];
    expect(pickClips(clips, 3).map((c) => c.id)).toEqual(['r1', 'w2', 'v1']);
    expect(pickClips(clips, 10).map((c) => c.id)).toEqual(['r1', 'w2', 'v1', 'w1']);
  });
});

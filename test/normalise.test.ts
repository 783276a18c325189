import { describe, expect, it } from 'vitest';
import { createMotion, type Motion } from '../src/model/motion.js';
import { FEATURE_SIZE, featureReferences, fitNormalisation, motionFeatures, normaliseMotion, skeletonScale } from '../src/model/normalise.js';
import { walkerMotion } from './fixtures/walker.js';

function transform(motion: Motion, f: (x: number, y: number, z: number) => [number, number, number]): Motion {
  const out = new Float32Array(motion.positions.length);
  for (let i = 0; i < out.length; i += 3) out.set(f(motion.positions[i]!, motion.positions[i + 1]!, motion.positions[i + 2]!), i);
  return createMotion(motion.fps, motion.jointNames, out);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('normalisation', () => {
  const walk = walkerMotion({ frames: 90, heading: 20 });
  const base = motionFeatures(walk).features;

  it('produces one feature row per frame', () => {
    expect(base.length).toBe(90 * FEATURE_SIZE);
    expect(base.every(Number.isFinite)).toBe(true);
  });

  it('is invariant to where the avatar stands', () => {
    const moved = transform(walk, (x, y, z) => [x + 12.5, y + 0.7, z - 40]);
    // Float32 positions 40 m away carry ~4 um steps; velocities (x30 fps) amplify them.
    expect(maxDiff(motionFeatures(moved).features, base)).toBeLessThan(2e-3);
  });

  it('is invariant to which way the avatar faces', () => {
    const a = (73 * Math.PI) / 180;
    const turned = transform(walk, (x, y, z) => [Math.cos(a) * x + Math.sin(a) * z, y, -Math.sin(a) * x + Math.cos(a) * z]);
    expect(maxDiff(motionFeatures(turned).features, base)).toBeLessThan(1e-4);
  });

  it('puts the floor where the feet rest, even when the body sinks through it for 40% of the window', () => {
    const long = walkerMotion({ frames: 150 });
    const rest = featureReferences(long).floor;
    // The body sinks gradually from frame 90 on, to 60 cm below the floor.
    const sinking = createMotion(long.fps, long.jointNames, long.positions.slice());
    const perFrame = long.jointNames.length * 3;
    for (let t = 90; t < 150; t++) for (let i = t * perFrame + 1; i < (t + 1) * perFrame; i += 3) sinking.positions[i]! -= (0.6 * (t - 89)) / 60;
    expect(Math.abs(featureReferences(sinking).floor - rest)).toBeLessThan(0.04);
    // So the clean frames keep their hip height, and the sunk ones show the sink.
    const HIPS_HEIGHT = 1; // the Hips token's y channel
    const before = motionFeatures(long).features;
    const after = motionFeatures(sinking).features;
    expect(Math.abs(after[10 * FEATURE_SIZE + HIPS_HEIGHT]! - before[10 * FEATURE_SIZE + HIPS_HEIGHT]!)).toBeLessThan(0.04);
    expect(after[149 * FEATURE_SIZE + HIPS_HEIGHT]!).toBeLessThan(before[149 * FEATURE_SIZE + HIPS_HEIGHT]! - 0.3);
  });

  it('is invariant to body size (a 1.9 m avatar is not anomalous)', () => {
    const tall = transform(walk, (x, y, z) => [x * 1.25, y * 1.25, z * 1.25]);
    expect(skeletonScale(tall)).toBeCloseTo(skeletonScale(walk) * 1.25, 4);
    expect(maxDiff(motionFeatures(tall).features, base)).toBeLessThan(1e-4);
  });

  it('keeps root motion: walking faster shows up in the root velocity channel', () => {
    const fast = motionFeatures(walkerMotion({ frames: 90, heading: 20, cadence: 1.5 })).features;
    const forward = (f: Float32Array, t: number) => f[t * FEATURE_SIZE + 21 * 3 + 2]!;
    expect(forward(fast, 30)).toBeGreaterThan(forward(base, 30) * 1.3);
  });

  it('standardises with fitted statistics', () => {
    const clips = [motionFeatures(walk), motionFeatures(walkerMotion({ frames: 60, cadence: 1.2 }))];
    const stats = fitNormalisation(clips);
    expect(stats.mean).toHaveLength(FEATURE_SIZE);
    const x = normaliseMotion(walk, stats);
    let mean = 0;
    for (const v of x) mean += v;
    expect(Math.abs(mean / x.length)).toBeLessThan(0.5);
  });

  it('rejects a skeleton with the wrong joint count', () => {
    const bad = createMotion(30, walk.jointNames.slice(0, 20), new Float32Array(20 * 3 * 4));
    expect(() => motionFeatures(bad)).toThrow(/expected 21 canonical joints/);
  });
});

import { describe, expect, it } from 'vitest';
import { windowPlan, packBatch } from '../src/model/batch.js';
import { calibrate, thresholdsFor } from '../src/model/calibration.js';
import { decideClip, fractionOverThreshold } from '../src/model/clip-rule.js';
import { FEATURE_SIZE } from '../src/model/normalise.js';
import { presetByName, TINY } from '../src/model/presets.js';
import { frameLevelScores, sequenceScore, topKJoints } from '../src/model/scoring.js';
import { jointIndex } from '../src/model/skeleton.js';
import { densestRun, percentile, robustScale, tailQuantile } from '../src/model/stats.js';
import type { RawClipTerms } from '../src/model/types.js';

const J = 21;
const scoring = presetByName('tiny').scoring;

function normalClip(frames: number, seed: number): RawClipTerms {
  const jointErrors = new Float32Array(frames * J);
  const nll = new Float32Array(frames);
  for (let t = 0; t < frames; t++) {
    nll[t] = Math.sin(t * 0.37 + seed) * 0.2;
    for (let j = 0; j < J; j++) jointErrors[t * J + j] = 0.1 + 0.05 * Math.abs(Math.sin(t * 1.3 + j * 0.7 + seed)) + 0.01 * j;
  }
  const boneDeviations = Float32Array.from({ length: frames * J }, (_, i) => 1e-6 * Math.abs(Math.sin(i * 0.91 + seed)));
  return { frameCount: frames, jointErrors, nll, boneDeviations, limitViolations: new Float32Array(frames * J), accelerations: new Float32Array(frames * J).fill(1), holds: new Float32Array(frames * J), body: new Float32Array(frames) };
}

describe('statistics', () => {
  it('percentile interpolates linearly', () => {
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([0, 10], 97)).toBeCloseTo(9.7);
    expect(percentile([5], 99)).toBe(5);
  });
  it('tail quantile: recovers an exponential tail, and is the plain percentile for few values', () => {
    // Evenly spaced quantiles of Exp(1): the 99th percentile is ln(100).
    const exp = Array.from({ length: 400 }, (_, i) => -Math.log(1 - (i + 0.5) / 400));
    expect(tailQuantile(exp, 99)).toBeCloseTo(Math.log(100), 1);
    expect(tailQuantile(exp, 98.5)).toBeCloseTo(Math.log(1 / 0.015), 1);
    // 120 values, one of the top three an accident of sampling: the empirical 98.5th
    // percentile (rank 117.2 of 0..119) follows the third-highest value, the fitted tail much less.
    const base = Array.from({ length: 120 }, (_, i) => -Math.log(1 - (i + 0.5) / 120));
    const lucky = base.slice();
    lucky[117] = lucky[116]!; // the third-highest value happens to be low
    const swing = (f: (v: number[]) => number): number => Math.abs(f(base) - f(lucky));
    expect(swing((v) => tailQuantile(v, 98.5))).toBeLessThan(swing((v) => percentile(v, 98.5)) / 3);
    expect(tailQuantile([1, 2, 3, 4, 5], 99)).toBe(percentile([1, 2, 3, 4, 5], 99));
    expect(tailQuantile(Array(40).fill(2), 99)).toBe(2); // a flat top
    expect(tailQuantile(exp, 50)).toBe(percentile(exp, 50)); // not in the tail
  });

  it('robust scale ignores a few wild values', () => {
    const values = Array.from({ length: 100 }, (_, i) => (i % 10) / 10);
    const clean = robustScale(values);
    const dirty = robustScale([...values, 1e6, 1e6]);
    expect(Math.abs(dirty.center - clean.center)).toBeLessThan(0.06);
    expect(dirty.spread / clean.spread).toBeLessThan(1.3);
  });
  it('densest run: the longest stretch of sorted values within a band of its lowest, the first on ties, within [from, to)', () => {
    const sorted = [1, 2, 2.5, 5, 5.1, 5.2, 5.3, 9, 9.1, 9.2, 9.3];
    expect(densestRun(sorted, (x) => x + 0.5)).toEqual({ from: 3, to: 7 }); // 5.x ties 9.x: the first wins
    expect(densestRun(sorted, (x) => x + 0.5, 7)).toEqual({ from: 7, to: 11 });
    expect(densestRun(sorted, (x) => x * 1.05, 0, 7)).toEqual({ from: 3, to: 6 }); // a relative band: 5 .. 5.25
    expect(densestRun(sorted, (x) => x + 1.6, 0, 3)).toEqual({ from: 0, to: 3 });
  });
});

describe('scores and calibration', () => {
  const clips = Array.from({ length: 20 }, (_, i) => normalClip(80 + i, i));
  const calibration = calibrate(clips, scoring);

  it('puts the frame threshold at the 97th percentile of normal frame scores', () => {
    const all = clips.flatMap((c) => Array.from(frameLevelScores(c, calibration, scoring).frameScores));
    const over = all.filter((s) => s > calibration.thresholds.frame).length / all.length;
    expect(over).toBeGreaterThan(0.02);
    expect(over).toBeLessThan(0.04);
    expect(calibration.joints).toHaveLength(J);
  });

  it('standardised terms make a corrupted joint the top joint and raise the frame score', () => {
    const clip = normalClip(100, 3);
    const bad = { ...clip, jointErrors: clip.jointErrors.slice() };
    for (let t = 40; t < 50; t++) bad.jointErrors[t * J + 8] = 2;
    // (adaptive standardisation still sees 10 of 100 frames as a deviation from the clip's own level)
    const clean = frameLevelScores(clip, calibration, scoring);
    const scored = frameLevelScores(bad, calibration, scoring);
    expect(topKJoints(scored.jointScores, J, 45, 3)[0]).toBe(8);
    expect(scored.frameScores[45]!).toBeGreaterThan(clean.frameScores[45]! + 1);
  });

  it('a stretched bone raises its joint however well the model reconstructs it', () => {
    const clip = normalClip(100, 5);
    const stretched = { ...clip, boneDeviations: clip.boneDeviations.slice() };
    for (let t = 20; t < 30; t++) stretched.boneDeviations[t * J + 14] = 0.04; // a 20% longer shin
    const scored = frameLevelScores(stretched, calibration, scoring);
    expect(topKJoints(scored.jointScores, J, 25, 1)[0]).toBe(14);
    expect(scored.frameScores[25]!).toBeGreaterThan(calibration.thresholds.spike);
  });

  it('a held foot raises its joint and its frames when the hold prior is on, and nothing when it is off', () => {
    const clip = normalClip(100, 6);
    const held = { ...clip, holds: clip.holds.slice() };
    const foot = jointIndex('LeftFoot');
    for (let t = 50; t < 70; t++) held.holds[t * J + foot] = 15; // a foot bit-still on the pelvis for 20 frames
    const on = frameLevelScores(held, calibration, { ...scoring, holdPrior: true });
    const off = frameLevelScores(held, calibration, { ...scoring, holdPrior: false });
    const clean = frameLevelScores(clip, calibration, { ...scoring, holdPrior: true });
    expect(topKJoints(on.jointScores, J, 60, 1)[0]).toBe(foot);
    expect(on.jointScores[60 * J + foot]! - clean.jointScores[60 * J + foot]!).toBeCloseTo(scoring.alpha * 15, 4);
    expect(fractionOverThreshold(on.frameScores, calibration.thresholds.frame)).toBeGreaterThanOrEqual(0.2);
    expect(Array.from(off.frameScores)).toEqual(Array.from(clean.frameScores));
  });

  it('adaptive scoring does not flag a clip that is uniformly harder to reconstruct', () => {
    const familiar = normalClip(120, 7);
    const unfamiliar = { ...familiar, jointErrors: familiar.jointErrors.map((e) => 4 * e + 0.3), nll: familiar.nll.map((v) => v + 3) };
    const adaptive = frameLevelScores(unfamiliar, calibration, scoring);
    const absolute = frameLevelScores(unfamiliar, calibration, { ...scoring, adaptive: false });
    const over = (s: Float32Array) => fractionOverThreshold(s, calibration.thresholds.frame);
    expect(over(adaptive.frameScores)).toBeLessThan(0.1);
    expect(over(absolute.frameScores)).toBeGreaterThan(0.9);
  });

  it('sequence score is the mean of the top 10% of frames', () => {
    const scores = Array.from({ length: 50 }, (_, i) => i);
    expect(sequenceScore(scores)).toBeCloseTo((49 + 48 + 47 + 46 + 45) / 5);
  });

  it('sequence score leaves out the settle frames, unless the clip has no others', () => {
    // A clip whose first frames (scored with no context) are its highest.
    const scores = Array.from({ length: 46 }, (_, i) => (i < 6 ? 100 : i));
    expect(sequenceScore(scores, 6)).toBeCloseTo((45 + 44 + 43 + 42) / 4); // the top tenth of the 40 others
    expect(sequenceScore(scores)).toBeCloseTo(100);
    expect(sequenceScore([7, 3, 5], 6)).toBeCloseTo(7);
  });
});

describe('clip rule', () => {
  const thresholds = { frame: 1, sequence: 1, fraction: 0.1, spike: 5 };
  it('flags a sustained deviation over 10% of frames', () => {
    const scores = Array.from({ length: 100 }, (_, i) => (i < 12 ? 2 : 0));
    expect(fractionOverThreshold(scores, 1)).toBeCloseTo(0.12);
    expect(decideClip(scores, thresholds)).toMatchObject({ anomalous: true, reason: 'sustained' });
  });
  it('flags a brief impossible spike that the fraction rule alone would miss', () => {
    const scores = Array.from({ length: 100 }, (_, i) => (i === 50 ? 9 : 0));
    expect(decideClip(scores, thresholds)).toMatchObject({ anomalous: true, reason: 'spike', fraction: 0.01 });
  });
  it('floors the fraction\'s denominator: a short clip needs as many unusual frames as a long one', () => {
    const burst = Array.from({ length: 60 }, (_, i) => (i >= 50 ? 2 : 0)); // 10 of 60 frames over
    expect(decideClip(burst, thresholds)).toMatchObject({ anomalous: true, reason: 'sustained' });
    expect(decideClip(burst, thresholds, 120)).toMatchObject({ anomalous: false, reason: 'none' });
    expect(decideClip(burst, thresholds, 120).fraction).toBeCloseTo(10 / 120, 9);
    const sustained = Array.from({ length: 60 }, (_, i) => (i >= 45 ? 2 : 0)); // 15 frames: 15/120 >= 10%
    expect(decideClip(sustained, thresholds, 120)).toMatchObject({ anomalous: true, reason: 'sustained' });
    // Clips longer than the floor are judged by their own length.
    const long = Array.from({ length: 300 }, (_, i) => (i < 30 ? 2 : 0));
    expect(decideClip(long, thresholds, 120).fraction).toBeCloseTo(0.1, 9);
  });
  it('lets the spike arm ignore the first settleFrames (they neither trigger nor calibrate it)', () => {
    const early = Array.from({ length: 100 }, (_, i) => (i === 2 ? 9 : 0));
    expect(decideClip(early, thresholds)).toMatchObject({ anomalous: true, reason: 'spike' });
    expect(decideClip(early, thresholds, 0, 6)).toMatchObject({ anomalous: false, reason: 'none', maxFrameScore: 9 });
    const later = Array.from({ length: 100 }, (_, i) => (i === 6 ? 9 : 0));
    expect(decideClip(later, thresholds, 0, 6)).toMatchObject({ anomalous: true, reason: 'spike' });
    const scoring = { ...TINY.scoring, spikePercentile: 100 };
    expect(thresholdsFor([Float32Array.from(early)], scoring, 6).spike).toBe(0);
    expect(thresholdsFor([Float32Array.from(early)], scoring).spike).toBe(9);
  });
  it('counts no settle frame in the fraction arm either: a short take that starts over the threshold is not sustained', () => {
    const start = Array.from({ length: 45 }, (_, i) => (i < 12 ? 2 : 0)); // its first 12 frames over, below the spike threshold
    expect(decideClip(start, thresholds, 120)).toMatchObject({ anomalous: true, reason: 'sustained' });
    const settled = decideClip(start, thresholds, 120, 6);
    expect(settled).toMatchObject({ anomalous: false, reason: 'none' });
    expect(settled.fraction).toBeCloseTo(6 / 120, 9); // frames 6-11 still count, over the floored denominator
    const later = Array.from({ length: 45 }, (_, i) => (i >= 20 && i < 32 ? 2 : 0)); // the same 12 frames later on
    expect(decideClip(later, thresholds, 120, 6)).toMatchObject({ anomalous: true, reason: 'sustained' });
  });

  it('lets isolated mild peaks pass', () => {
    const scores = Array.from({ length: 100 }, (_, i) => (i % 20 === 0 ? 2 : 0));
    expect(decideClip(scores, thresholds)).toMatchObject({ anomalous: false, reason: 'none' });
  });
});

describe('windows and batches', () => {
  it('pads short windows and marks them invalid instead of repeating frames', () => {
    const a = { frames: 3, features: new Float32Array(3 * FEATURE_SIZE).fill(1) };
    const b = { frames: 5, features: new Float32Array(5 * FEATURE_SIZE).fill(2) };
    const batch = packBatch([a, b]);
    expect(batch.frames).toBe(5);
    expect(Array.from(batch.valid)).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    expect(batch.features[3 * FEATURE_SIZE]).toBe(0);
  });
  it('covers long clips with half-overlapping windows, each frame owned by its most central window', () => {
    const { starts, owner } = windowPlan(600, 250);
    expect(starts).toEqual([0, 125, 250, 350]);
    expect(owner[10]).toBe(0);
    expect(owner[200]).toBe(1);
    expect(owner[599]).toBe(3);
    for (let t = 0; t < 600; t++) {
      const s = starts[owner[t]!]!;
      expect(t >= s && t < s + 250).toBe(true);
    }
    expect(windowPlan(117, 250).starts).toEqual([0]);
  });
});


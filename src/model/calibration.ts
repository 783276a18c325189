/**
 * Calibration on normal validation clips only (pure): robust scales of each term, then
 * thresholds at fixed percentiles of the resulting normal scores.
 */
import { CANONICAL_JOINTS } from './skeleton.js';
import { frameLevelScores, frameReconstruction, jointDeviations, sequenceScore } from './scoring.js';
import { peakScore } from './clip-rule.js';
import { correctEdges, fitEdgeProfile } from './edges.js';
import { percentile, robustScale, tailQuantile } from './stats.js';
import type { Calibration, RawClipTerms, ScoringConfig, Thresholds } from './types.js';

/** Smallest spread of a squared relative bone-length deviation: a 0.3% length change is one unit. */
const MIN_BONE_SPREAD = 1e-5;

/**
 * Thresholds at the configured percentiles of normal frame scores, sequence scores and clip
 * peaks (sequence scores and peaks of the frames after the first settleFrames, as
 * sequenceScore and the clip rule's spike arm see them). The spike percentile is far in a
 * tail of one value per clip, so it comes from a fitted tail (tailQuantile).
 */
export function thresholdsFor(frameScoresPerClip: readonly Float32Array[], scoring: ScoringConfig, settleFrames = 0): Thresholds {
  const frameScores: number[] = [];
  const sequenceScores: number[] = [];
  const peaks: number[] = [];
  for (const scores of frameScoresPerClip) {
    for (const v of scores) frameScores.push(v);
    sequenceScores.push(sequenceScore(scores, settleFrames));
    if (scores.length > settleFrames) peaks.push(peakScore(scores, settleFrames));
  }
  return {
    frame: percentile(frameScores, scoring.framePercentile),
    sequence: percentile(sequenceScores, scoring.sequencePercentile),
    fraction: scoring.fractionThreshold,
    spike: tailQuantile(peaks, scoring.spikePercentile),
  };
}

export function calibrate(rawClips: readonly RawClipTerms[], scoring: ScoringConfig): Calibration {
  if (rawClips.length === 0) throw new Error('calibration needs at least one normal validation clip');
  const J = CANONICAL_JOINTS.length;
  const edges = fitEdgeProfile(rawClips, J);
  const clips = scoring.edgeCorrection ? rawClips.map((c) => correctEdges(c, edges, J)) : rawClips;
  const nll: number[] = [];
  const perJoint: number[][] = Array.from({ length: J }, () => []);
  const perBone: number[][] = Array.from({ length: J }, () => []);
  const perAcceleration: number[][] = Array.from({ length: J }, () => []);
  for (const clip of clips) {
    nll.push(...clip.nll);
    for (let i = 0; i < clip.jointErrors.length; i++) {
      perJoint[i % J]!.push(clip.jointErrors[i]!);
      perBone[i % J]!.push(clip.boneDeviations[i]!);
      perAcceleration[i % J]!.push(clip.accelerations[i]!);
    }
  }
  const accelerations = perAcceleration.map((v) => robustScale(v));
  const joints = perJoint.map((v) => robustScale(v));
  // Float32 noise makes even a perfect skeleton's bones vary by ~1e-7: floor the spread above it.
  const bones = perBone.map((v) => {
    const scale = robustScale(v);
    return { center: scale.center, spread: Math.max(scale.spread, MIN_BONE_SPREAD) };
  });
  const recon: number[] = [];
  for (const clip of clips) {
    recon.push(...frameReconstruction(jointDeviations(clip, { joints, bones, accelerations }, scoring), clip.frameCount));
  }
  const standardisation = { reconstruction: robustScale(recon), nll: robustScale(nll), joints, bones, edges, accelerations };
  const scores = rawClips.map((clip) => frameLevelScores(clip, standardisation, scoring).frameScores);
  return {
    ...standardisation,
    thresholds: thresholdsFor(scores, scoring, scoring.spikeSettleFrames ?? 0),
    validationClips: clips.length,
    validationFrames: scores.reduce((n, s) => n + s.length, 0),
  };
}

/**
 * Evaluation metrics: threshold-free ranking quality (ROC AUC), counts at one threshold,
 * localisation (did the detector blame the right joints?) and plain summaries.
 * All pure; labels are "positive" when truthy (true or a non-zero number).
 */
import { topKJoints } from '../model/scoring.js';
import { mean, percentile } from '../model/stats.js';

function isPositive(label: number | boolean): boolean {
  return typeof label === 'boolean' ? label : label !== 0;
}

function checkLengths(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): void {
  if (scores.length !== labels.length) {
    throw new Error(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  }
}

/**
 * Area under the ROC curve = P(score of a random positive > score of a random negative),
 * ties counting one half: the Mann-Whitney U statistic with average ranks, divided by
 * (#pos x #neg). NaN when either class is empty. NaN scores are rejected: they have no rank.
 *
 * Why two sorted arrays instead of ranking all items: each class is copied into a
 * Float64Array and sorted natively (no comparator callback), then one merge walk counts,
 * for every run of equal positive scores, the negatives strictly below and equal to it.
 * That is the same U (exact for ties) in O(n log n), without a comparator-driven index sort.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  checkLengths(scores, labels);
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) if (isPositive(labels[i]!)) nPos++;
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  let ip = 0;
  let ineg = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (Number.isNaN(s)) throw new Error(`rocAuc: score ${i} is NaN`);
    if (isPositive(labels[i]!)) pos[ip++] = s;
    else neg[ineg++] = s;
  }
  pos.sort();
  neg.sort();
  // u2 = 2 x U, kept integral so the sum stays exact up to 2^53.
  let u2 = 0;
  let below = 0; // negatives strictly below the current positive score
  let i = 0;
  while (i < nPos) {
    const s = pos[i]!;
    let run = 0;
    while (i < nPos && pos[i] === s) {
      run++;
      i++;
    }
    while (below < nNeg && neg[below]! < s) below++;
    let equal = 0;
    while (below + equal < nNeg && neg[below + equal] === s) equal++;
    u2 += run * (2 * below + equal);
  }
  return u2 / (2 * nPos * nNeg);
}

export interface Rates {
  /** True-positive rate tp / (tp + fn); NaN without positives. */
  readonly tpr: number;
  /** False-positive rate fp / (fp + tn); NaN without negatives. */
  readonly fpr: number;
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/** Confusion counts when an item is flagged as positive iff score > threshold. */
export function rates(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>, threshold: number): Rates {
  checkLengths(scores, labels);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i]! > threshold;
    if (isPositive(labels[i]!)) {
      if (flagged) tp++;
      else fn++;
    } else if (flagged) fp++;
    else tn++;
  }
  return {
    tpr: tp + fn > 0 ? tp / (tp + fn) : Number.NaN,
    fpr: fp + tn > 0 ? fp / (fp + tn) : Number.NaN,
    tp,
    fp,
    tn,
    fn,
  };
}

/** True when any of the top-k joints of `frame` (jointScores is T x J) is one of targetJoints. */
export function topKHit(
  jointScores: Float32Array,
  jointCount: number,
  frame: number,
  k: number,
  targetJoints: readonly number[],
): boolean {
  const targets = new Set(targetJoints);
  return topKJoints(jointScores, jointCount, frame, k).some((j) => targets.has(j));
}

/** Fraction of frames with frameMask[t] != 0 where topKHit holds; NaN when no frame is labelled. */
export function localisationRate(
  jointScores: Float32Array,
  jointCount: number,
  frameMask: Uint8Array,
  targetJoints: readonly number[],
  k = 3,
): number {
  const frames = jointScores.length / jointCount;
  if (frameMask.length !== frames) {
    throw new Error(`frameMask has ${frameMask.length} frames, jointScores has ${frames}`);
  }
  let labelled = 0;
  let hits = 0;
  for (let t = 0; t < frames; t++) {
    if (frameMask[t] === 0) continue;
    labelled++;
    if (topKHit(jointScores, jointCount, t, k, targetJoints)) hits++;
  }
  return labelled > 0 ? hits / labelled : Number.NaN;
}

export interface Summary {
  readonly mean: number;
  readonly median: number;
  readonly p95: number;
  readonly min: number;
  readonly max: number;
}

/** Mean, median, 95th percentile (linear interpolation), min and max; all NaN for no values. */
export function summarise(values: readonly number[]): Summary {
  if (values.length === 0) {
    return { mean: Number.NaN, median: Number.NaN, p95: Number.NaN, min: Number.NaN, max: Number.NaN };
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { mean: mean(values), median: percentile(values, 50), p95: percentile(values, 95), min, max };
}

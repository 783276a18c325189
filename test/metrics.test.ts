import { describe, it, expect } from 'vitest';
import { topKJoints } from '../src/model/scoring.js';
import { localisationRate, rates, rocAuc, summarise, topKHit } from '../src/eval/metrics.js';

/** O(n^2) reference: P(pos > neg) + 0.5 P(pos = neg). */
function bruteAuc(scores: number[], labels: number[]): number {
  let u = 0;
  let pairs = 0;
  scores.forEach((s, i) => {
    if (!labels[i]) return;
    scores.forEach((o, j) => {
      if (labels[j]) return;
      pairs++;
      u += s > o ? 1 : s === o ? 0.5 : 0;
    });
  });
  return u / pairs;
}

describe('rocAuc', () => {
  it('is 1 for perfect separation and 0 when reversed', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });

  it('is 0.5 when every score ties', () => {
    expect(rocAuc([3, 3, 3, 3, 3], [1, 0, 0, 1, 0])).toBe(0.5);
  });

  it('matches a hand-computed case with ties', () => {
    // Positives 0.5, 0.7, 0.7; negatives 0.2, 0.5, 0.7.
    // Pairs won: 0.5 -> 1 + 0.5 (tie with 0.5); 0.7 -> 2 + 0.5 (twice) => U = 1.5 + 2.5 + 2.5 = 6.5 of 9.
    const scores = [0.5, 0.2, 0.7, 0.5, 0.7, 0.7];
    const labels = [true, false, true, false, true, false];
    expect(rocAuc(scores, labels)).toBeCloseTo(6.5 / 9, 12);
  });

  it('agrees with the pairwise definition on random data with many ties', () => {
    let state = 12345;
    const next = (): number => (state = (state * 16807) % 2147483647) / 2147483647;
    const scores = Array.from({ length: 300 }, () => Math.floor(next() * 20));
    const labels = scores.map((s) => (next() < 0.3 + s / 40 ? 1 : 0));
    expect(rocAuc(scores, labels)).toBeCloseTo(bruteAuc(scores, labels), 12);
    expect(rocAuc(Float32Array.from(scores), Uint8Array.from(labels))).toBeCloseTo(bruteAuc(scores, labels), 12);
  });

  it('is NaN when a class is empty', () => {
    expect(rocAuc([1, 2, 3], [1, 1, 1])).toBeNaN();
    expect(rocAuc([1, 2, 3], [false, false, false])).toBeNaN();
    expect(rocAuc([], [])).toBeNaN();
  });

  it('rejects mismatched lengths and NaN scores', () => {
    expect(() => rocAuc([1, 2], [1])).toThrow(/length/);
    expect(() => rocAuc([1, Number.NaN], [1, 0])).toThrow(/NaN/);
  });
});

describe('rates', () => {
  it('counts score > threshold as positive', () => {
    const scores = [0.1, 0.5, 0.6, 0.9, 0.5, 0.2];
    const labels = [0, 1, 1, 1, 0, 0];
    const r = rates(scores, labels, 0.5);
    // Flagged (> 0.5): 0.6 (pos), 0.9 (pos). The 0.5s are not flagged.
    expect(r).toEqual({ tp: 2, fn: 1, fp: 0, tn: 3, tpr: 2 / 3, fpr: 0 });
    expect(rates(scores, labels, 0.4)).toMatchObject({ tp: 3, fn: 0, fp: 1, tn: 2 });
  });

  it('gives NaN rates for an empty class', () => {
    const r = rates([1, 2], [0, 0], 1.5);
    expect(r.tpr).toBeNaN();
    expect(r.fpr).toBe(0.5);
  });
});

describe('topKHit / localisationRate', () => {
  // 3 frames x 4 joints.
  const scores = Float32Array.from([
    0.1, 0.9, 0.5, 0.2, // frame 0: order 1, 2, 3, 0
    0.8, 0.1, 0.1, 0.7, // frame 1: order 0, 3, 1, 2 (tie goes to the lower index)
    0.3, 0.3, 0.3, 0.3, // frame 2: all tied -> 0, 1, 2, 3
  ]);

  it('ranks joints of one frame', () => {
    expect(topKJoints(scores, 4, 0, 4)).toEqual([1, 2, 3, 0]);
    expect(topKJoints(scores, 4, 1, 4)).toEqual([0, 3, 1, 2]);
    expect(topKJoints(scores, 4, 2, 2)).toEqual([0, 1]);
    expect(topKJoints(scores, 4, 0, 10)).toEqual([1, 2, 3, 0]);
  });

  it('hits when a top-k joint is a target', () => {
    expect(topKHit(scores, 4, 0, 1, [1])).toBe(true);
    expect(topKHit(scores, 4, 0, 1, [2])).toBe(false);
    expect(topKHit(scores, 4, 0, 2, [2])).toBe(true);
    expect(topKHit(scores, 4, 1, 2, [3, 2])).toBe(true);
    expect(topKHit(scores, 4, 1, 3, [2])).toBe(false);
    expect(topKHit(scores, 4, 0, 0, [1])).toBe(false);
    expect(() => topKHit(scores, 4, 3, 1, [1])).toThrow(/range/);
  });

  it('is the fraction of labelled frames with a hit', () => {
    // Target joint 3, k = 2: frame 0 -> [1, 2] miss, frame 1 -> [0, 3] hit, frame 2 -> [0, 1] miss.
    expect(localisationRate(scores, 4, Uint8Array.from([1, 1, 1]), [3], 2)).toBeCloseTo(1 / 3, 12);
    expect(localisationRate(scores, 4, Uint8Array.from([0, 1, 0]), [3], 2)).toBe(1);
    // Default k = 3: frame 0 -> [1, 2, 3] hit, frame 2 -> [0, 1, 2] miss.
    expect(localisationRate(scores, 4, Uint8Array.from([1, 0, 1]), [3])).toBe(0.5);
    expect(localisationRate(scores, 4, Uint8Array.from([0, 0, 0]), [3])).toBeNaN();
    expect(() => localisationRate(scores, 4, Uint8Array.from([1, 1]), [3])).toThrow(/frames/);
  });
});

describe('summarise', () => {
  it('summarises values', () => {
    const s = summarise([4, 1, 3, 2, 5]);
    expect(s.mean).toBe(3);
    expect(s.median).toBe(3);
    expect(s.min).toBe(1);
    expect(s.max).toBe(5);
    // Linear interpolation: rank 0.95 * 4 = 3.8 -> 4 + 0.8 * (5 - 4).
    expect(s.p95).toBeCloseTo(4.8, 12);
  });

  it('is all NaN for no values', () => {
    const s = summarise([]);
    for (const v of Object.values(s)) expect(v).toBeNaN();
  });
});

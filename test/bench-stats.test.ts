import { describe, expect, it } from 'vitest';
import { finiteOrNull, jsonSummary, median, percentile, percentileSorted, summarize } from '../bench/stats.js';

describe('bench percentiles (nearest rank)', () => {
  it('returns observed values: p50 of 1..10 is 5, p99 is 10, p0 the minimum', () => {
    const values = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 100)).toBe(10);
  });

  it('never interpolates a tail away: one slow sample in 100 is the p99', () => {
    const values = [...new Array<number>(99).fill(10), 1000];
    expect(percentile(values, 99)).toBe(10);
    expect(percentile([...values, 1000], 99)).toBe(1000);
  });

  it('lets +Infinity (a frame never scored) reach the percentiles it belongs to', () => {
    const values = [...new Array<number>(98).fill(1), Infinity, Infinity];
    expect(percentile(values, 98)).toBe(1);
    expect(percentile(values, 99)).toBe(Infinity);
    expect(summarize(values).max).toBe(Infinity);
  });

  it('is NaN without samples and rejects percentiles outside [0, 100]', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentileSorted([1], 101)).toThrow(/\[0, 100\]/);
    expect(() => percentileSorted([1], -1)).toThrow();
  });

  it('summarizes without touching its input', () => {
    const values = [3, 1, 2];
    const s = summarize(values);
    expect(s).toEqual({ count: 3, min: 1, mean: 2, p50: 2, p95: 3, p99: 3, max: 3 });
    expect(values).toEqual([3, 1, 2]);
    expect(median([4, 1, 3, 2])).toBe(2);
  });

  it('writes non-finite figures as null for JSON', () => {
    expect(finiteOrNull(Infinity)).toBeNull();
    expect(finiteOrNull(Number.NaN)).toBeNull();
    expect(finiteOrNull(2.5)).toBe(2.5);
    expect(jsonSummary(summarize([]))).toEqual({ count: 0, min: null, mean: null, p50: null, p95: null, p99: null, max: null });
  });
});

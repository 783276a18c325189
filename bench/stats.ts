/**
 * Summary statistics of measured samples (pure). Percentiles use the nearest-rank method:
 * the reported p99 is a value that was actually observed and at least 99% of the samples
 * are at or below it, so a tail is never interpolated away. +Infinity is a valid sample
 * (a frame that never got a score) and propagates into the percentiles it reaches.
 */

export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentile of ascending-sorted samples; NaN when there are none. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile must be in [0, 100], got ${p}`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[rank - 1]!;
}

/** Nearest-rank percentile of unsorted samples (sorts a copy). */
export function percentile(values: ArrayLike<number>, p: number): number {
  return percentileSorted(sortedCopy(values), p);
}

export function median(values: ArrayLike<number>): number {
  return percentile(values, 50);
}

function sortedCopy(values: ArrayLike<number>): Float64Array {
  const copy = Float64Array.from(values as ArrayLike<number>);
  copy.sort();
  return copy;
}

/** count, min, mean, p50, p95, p99, max; NaN fields when there are no samples. */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = sortedCopy(values);
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    count: n,
    min: n > 0 ? sorted[0]! : Number.NaN,
    mean: n > 0 ? sum / n : Number.NaN,
    p50: percentileSorted(sorted, 50),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    max: n > 0 ? sorted[n - 1]! : Number.NaN,
  };
}

/** JSON has no Infinity or NaN: both become null (the report says what null means where it appears). */
export function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** A Summary with non-finite fields as null, for the JSON results. */
export type JsonSummary = { readonly count: number } & Readonly<Record<Exclude<keyof Summary, 'count'>, number | null>>;

export function jsonSummary(summary: Summary): JsonSummary {
  return {
    count: summary.count,
    min: finiteOrNull(summary.min),
    mean: finiteOrNull(summary.mean),
    p50: finiteOrNull(summary.p50),
    p95: finiteOrNull(summary.p95),
    p99: finiteOrNull(summary.p99),
    max: finiteOrNull(summary.max),
  };
}

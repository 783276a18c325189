/** Small pure statistics helpers shared by calibration, scoring and evaluation. */

/** Linear-interpolated percentile (0..100) of the values; NaN for none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function median(values: ArrayLike<number>): number {
  return percentile(values, 50);
}

/** Median and scaled median absolute deviation: a location/spread that a few outliers cannot move. */
export function robustScale(values: ArrayLike<number>): { center: number; spread: number } {
  const center = median(values);
  const deviations = Float64Array.from(values, (v) => Math.abs(v - center));
  const spread = 1.4826 * median(deviations);
  return { center, spread: spread > 1e-12 ? spread : 1e-12 };
}

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return values.length ? s / values.length : Number.NaN;
}

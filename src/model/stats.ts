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

/** Fewest values for which tailQuantile fits a tail; below it, it is the plain percentile. */
export const TAIL_FIT_MIN_VALUES = 25;

/**
 * A high percentile p (0..100) from an exponential tail fitted to the top `tailFraction` of
 * the values (peaks over a threshold, the mean excess as the scale): u + beta * ln(tail /
 * (1 - p/100)), u the (1 - tail) quantile. The empirical 98.5th percentile of 120 values is
 * their second or third highest and swings with one value; this uses the top fifth. For
 * fewer than TAIL_FIT_MIN_VALUES values, or p not above the tail's start, the percentile.
 */
export function tailQuantile(values: ArrayLike<number>, p: number, tailFraction = 0.2): number {
  const start = 100 * (1 - tailFraction);
  if (values.length < TAIL_FIT_MIN_VALUES || !(p > start)) return percentile(values, p);
  const u = percentile(values, start);
  let excess = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i]! > u) {
      excess += values[i]! - u;
      n++;
    }
  }
  if (n === 0) return u; // the top of the values is flat
  return u + (excess / n) * Math.log(tailFraction / Math.max(1e-9, 1 - p / 100));
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

/** k-th smallest of the first n values (0-based), reordering them: quickselect, O(n). */
function selectInPlace(values: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const tmp = values[i]!;
        values[i] = values[j]!;
        values[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

/** Median of the first n values (reorders them), equal to median(); O(n) for the streaming path. */
export function medianInPlace(values: Float64Array, n: number): number {
  if (n === 0) return Number.NaN;
  const upper = selectInPlace(values, n, n >> 1);
  if (n % 2) return upper;
  // The lower middle is the largest value left of the upper middle after selection.
  let lower = -Infinity;
  for (let i = 0; i < n >> 1; i++) lower = Math.max(lower, values[i]!);
  return (lower + upper) / 2;
}

/** robustScale of the first n values, using `scratch` (length >= n) and no sorting. */
export function robustScaleFast(values: ArrayLike<number>, n: number, scratch: Float64Array): { center: number; spread: number } {
  for (let i = 0; i < n; i++) scratch[i] = values[i]!;
  const center = medianInPlace(scratch, n);
  for (let i = 0; i < n; i++) scratch[i] = Math.abs(values[i]! - center);
  const spread = 1.4826 * medianInPlace(scratch, n);
  return { center, spread: spread > 1e-12 ? spread : 1e-12 };
}

/**
 * The longest run sorted[from..to) (ascending values) whose members all lie within
 * [sorted[from], upper(sorted[from])]: where values pile up in one narrow band. Linear; the
 * first such run wins ties. Bone lengths use a relative band, the floor an absolute one.
 */
export function densestRun(sorted: ArrayLike<number>, upper: (lowest: number) => number, from = 0, to = sorted.length): { from: number; to: number } {
  let best = { from, to: from };
  for (let a = from, b = from; a < to; a++) {
    const limit = upper(sorted[a]!);
    while (b < to && sorted[b]! <= limit) b++;
    if (b - a > best.to - best.from) best = { from: a, to: b };
  }
  return best;
}

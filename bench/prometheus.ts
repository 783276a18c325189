/**
 * The Prometheus text exposition as the server writes it on /metrics (pure): samples by
 * name and labels, counter differences between two scrapes, and histogram quantiles
 * estimated from cumulative buckets.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export type Scrape = readonly Sample[];

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[3] ?? '').matchAll(LABEL)) labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: parseValue(match[4]!) });
  }
  return samples;
}

function matches(sample: Sample, name: string, labels: Readonly<Record<string, string>>): boolean {
  if (sample.name !== name) return false;
  for (const [key, value] of Object.entries(labels)) if (sample.labels[key] !== value) return false;
  return true;
}

/** Sum of the samples with this name whose labels include `labels` (0 when there are none). */
export function metricSum(scrape: Scrape, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const sample of scrape) if (matches(sample, name, labels)) sum += sample.value;
  return sum;
}

/** Value of each `label` of a counter, e.g. frames dropped by reason. */
export function metricByLabel(scrape: Scrape, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sample of scrape) {
    if (sample.name !== name) continue;
    const key = sample.labels[label];
    if (key !== undefined) out[key] = (out[key] ?? 0) + sample.value;
  }
  return out;
}

/** b - a per label value (counters between two scrapes). */
export function counterDelta(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) out[key] = (after[key] ?? 0) - (before[key] ?? 0);
  return out;
}

export interface Histogram {
  /** Cumulative counts by upper bound, ascending, ending with +Inf. */
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  readonly sum: number;
  readonly count: number;
}

export function histogram(scrape: Scrape, name: string): Histogram {
  const buckets = scrape
    .filter((s) => s.name === `${name}_bucket` && s.labels.le !== undefined)
    .map((s) => ({ le: parseValue(s.labels.le!), count: s.value }))
    .sort((a, b) => a.le - b.le);
  return { buckets, sum: metricSum(scrape, `${name}_sum`), count: metricSum(scrape, `${name}_count`) };
}

/** The observations made between two scrapes of the same histogram. */
export function histogramDelta(before: Histogram, after: Histogram): Histogram {
  const earlier = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/**
 * Quantile q in [0, 1] as Prometheus's histogram_quantile estimates it (linear within the
 * bucket that holds it), and the bucket's upper bound (what the data guarantees: the true
 * quantile is at most `upperBound`). NaN when empty; the highest finite bound when the
 * quantile lies in the +Inf bucket.
 */
export function histogramQuantile(h: Histogram, q: number): { estimate: number; upperBound: number } {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile must be in [0, 1], got ${q}`);
  const total = h.buckets.length > 0 ? h.buckets[h.buckets.length - 1]!.count : 0;
  if (!(total > 0)) return { estimate: Number.NaN, upperBound: Number.NaN };
  const rank = q * total;
  let previousLe = 0;
  let previousCount = 0;
  for (const bucket of h.buckets) {
    if (bucket.count >= rank && bucket.count > 0) {
      if (!Number.isFinite(bucket.le)) {
        const highest = previousLe;
        return { estimate: highest, upperBound: Number.POSITIVE_INFINITY };
      }
      const inBucket = bucket.count - previousCount;
      const estimate = inBucket > 0 ? previousLe + ((bucket.le - previousLe) * (rank - previousCount)) / inBucket : bucket.le;
      return { estimate, upperBound: bucket.le };
    }
    previousLe = bucket.le;
    previousCount = bucket.count;
  }
  return { estimate: previousLe, upperBound: Number.POSITIVE_INFINITY };
}

/**
 * Capacity search (pure decisions, the trials are the caller's): grow the avatar count
 * geometrically until a trial fails, then bisect between the largest count that held and
 * the smallest that broke, to a relative resolution or a trial budget. A first trial that
 * fails makes the search step down instead. The answer is what was measured: the largest
 * count that held below the smallest that failed, never an extrapolation.
 */

export interface RampOptions {
  /** First avatar count tried. */
  readonly start: number;
  /** Growth (and shrink) factor of the geometric phase, > 1. */
  readonly factor: number;
  /** Never try more than this many avatars. */
  readonly max: number;
  /** Never try fewer than this. Default 1. */
  readonly min?: number;
  /** Stop bisecting once failure - capacity <= max(minStep, resolution * capacity). Default 0.1. */
  readonly resolution?: number;
  /** Default 1. */
  readonly minStep?: number;
  /** Most trials in all. */
  readonly maxTrials: number;
}

export interface RampStep {
  readonly avatars: number;
  readonly pass: boolean;
}

export interface Capacity {
  /** Largest count that held below the smallest failure (0: even `min` failed). */
  readonly capacity: number;
  /** Smallest count that failed, or null if none did. */
  readonly firstFailure: number | null;
  /** The search reached `max` without a failure: the capacity is at least `max`. */
  readonly capped: boolean;
  /** A count above a failure held (noise, or a machine whose load changed): read the capacity with care. */
  readonly nonMonotonic: boolean;
  readonly trials: number;
}

export function capacityOf(history: readonly RampStep[], options: Pick<RampOptions, 'max'>): Capacity {
  const failures = history.filter((s) => !s.pass).map((s) => s.avatars);
  const firstFailure = failures.length > 0 ? Math.min(...failures) : null;
  const held = history.filter((s) => s.pass && (firstFailure === null || s.avatars < firstFailure)).map((s) => s.avatars);
  const capacity = held.length > 0 ? Math.max(...held) : 0;
  return {
    capacity,
    firstFailure,
    capped: firstFailure === null && capacity >= options.max,
    nonMonotonic: firstFailure !== null && history.some((s) => s.pass && s.avatars > firstFailure),
    trials: history.length,
  };
}

/** The next avatar count to try, or null when the search is done. */
export function nextAvatarCount(history: readonly RampStep[], options: RampOptions): number | null {
  const min = Math.max(1, options.min ?? 1);
  const max = Math.max(min, options.max);
  if (!(options.factor > 1)) throw new Error(`factor must be > 1, got ${options.factor}`);
  if (history.length === 0) return clamp(Math.round(options.start), min, max);
  if (history.length >= options.maxTrials) return null;
  const tried = new Set(history.map((s) => s.avatars));
  const { capacity, firstFailure } = capacityOf(history, { max });
  let next: number;
  if (firstFailure === null) {
    if (capacity >= max) return null;
    next = Math.min(max, Math.max(capacity + 1, Math.ceil(capacity * options.factor)));
  } else if (capacity === 0) {
    if (firstFailure <= min) return null;
    next = Math.max(min, Math.min(firstFailure - 1, Math.floor(firstFailure / options.factor)));
  } else {
    const step = Math.max(options.minStep ?? 1, Math.ceil((options.resolution ?? 0.1) * capacity));
    if (firstFailure - capacity <= step) return null;
    next = Math.round((capacity + firstFailure) / 2);
  }
  return tried.has(next) ? null : next;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Runs the search with `probe` deciding each trial. */
export async function findCapacity(probe: (avatars: number) => Promise<boolean>, options: RampOptions): Promise<Capacity & { readonly steps: RampStep[] }> {
  const steps: RampStep[] = [];
  for (let avatars = nextAvatarCount(steps, options); avatars !== null; avatars = nextAvatarCount(steps, options)) {
    steps.push({ avatars, pass: await probe(avatars) });
  }
  return { ...capacityOf(steps, options), steps };
}

/** What a trial measured, as far as the verdict needs it. */
export interface TrialEvidence {
  /** p99 frame-to-score latency in ms over the measured frames (+Infinity if some never got a score); NaN if none were measured. */
  readonly latencyP99Ms: number;
  readonly latencySamples: number;
  /** Frames the server dropped during the measured window and the drain after it, by reason. */
  readonly framesDropped: Readonly<Record<string, number>>;
  /** Frames the load generators sent / frames they were scheduled to send (30 Hz per avatar). */
  readonly deliveredFraction: number;
  readonly ticksFailed: number;
  readonly serverExited: boolean;
}

export interface Verdict {
  readonly pass: boolean;
  readonly reasons: string[];
}

/** Pass = p99 within budget, not one frame dropped, the whole load delivered, no failed tick. */
export function judgeTrial(evidence: TrialEvidence, budget: { readonly p99Ms: number; readonly minDelivered: number }): Verdict {
  const reasons: string[] = [];
  if (evidence.serverExited) reasons.push('the server exited');
  if (evidence.latencySamples === 0 || Number.isNaN(evidence.latencyP99Ms)) reasons.push('no latency measured');
  else if (!(evidence.latencyP99Ms <= budget.p99Ms)) {
    reasons.push(Number.isFinite(evidence.latencyP99Ms) ? `p99 ${Math.round(evidence.latencyP99Ms)} ms > ${budget.p99Ms} ms` : `p99 unscored (frames without a score) > ${budget.p99Ms} ms`);
  }
  const dropped = Object.entries(evidence.framesDropped).filter(([, n]) => n > 0);
  if (dropped.length > 0) reasons.push(`frames dropped (${dropped.map(([reason, n]) => `${reason} ${n}`).join(', ')})`);
  if (evidence.deliveredFraction < budget.minDelivered) reasons.push(`load generator delivered ${(100 * evidence.deliveredFraction).toFixed(1)}% of the frames (machine saturated)`);
  if (evidence.ticksFailed > 0) reasons.push(`${evidence.ticksFailed} ticks failed`);
  return { pass: reasons.length === 0, reasons };
}

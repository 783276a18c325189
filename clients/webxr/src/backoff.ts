/**
 * Reconnect schedule: exponential backoff with a ceiling and downward jitter, so many clients
 * that lost the same server do not all come back in the same millisecond.
 */

export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  readonly initialDelayMs: number;
  /** Ceiling of the delay, ms. */
  readonly maxDelayMs: number;
  /** Growth per failed attempt (>= 1). */
  readonly factor: number;
  /** 0..1: each delay is drawn uniformly in [(1 - jitter) x, x] of the scheduled delay x. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 15_000, factor: 2, jitter: 0.25 };

/** Defaults merged with `options`, validated once (throws RangeError naming the bad field). */
export function resolveBackoff(options: Partial<BackoffOptions> = {}): BackoffOptions {
  const merged = { ...DEFAULT_BACKOFF, ...options };
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new RangeError(`backoff: ${what}`);
  };
  check(Number.isFinite(merged.initialDelayMs) && merged.initialDelayMs >= 0, `initialDelayMs must be a number >= 0, got ${merged.initialDelayMs}`);
  check(Number.isFinite(merged.maxDelayMs) && merged.maxDelayMs >= merged.initialDelayMs, `maxDelayMs must be >= initialDelayMs, got ${merged.maxDelayMs}`);
  check(Number.isFinite(merged.factor) && merged.factor >= 1, `factor must be >= 1, got ${merged.factor}`);
  check(merged.jitter >= 0 && merged.jitter <= 1, `jitter must be in [0, 1], got ${merged.jitter}`);
  return merged;
}

/** The delay before retry number `attempt` (0 = the first retry), without jitter. */
export function scheduledDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, Math.floor(attempt));
  return Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** exponent);
}

/** The delay before retry number `attempt`, jittered with `random` (uniform in [0, 1)). */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  return Math.round(scheduledDelay(attempt, options) * (1 - options.jitter * random()));
}

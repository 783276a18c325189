/**
 * Fixed scoring ticks with coalescing: an RxJS interval drives the tick work; a tick that
 * comes while the previous one still runs is skipped (counted), and if any was skipped ONE
 * catch-up tick runs as soon as the running one ends. Pending frames wait at most one tick's
 * work instead of until the next period boundary, and nothing queues: under overload ticks
 * simply run back to back, each taking every frame that arrived meanwhile.
 */
import { EMPTY, catchError, defer, finalize, interval, type ObservableInput, type SchedulerLike, type Subscription } from 'rxjs';

export interface TickerOptions {
  readonly tickMs: number;
  /** The work of one tick. */
  readonly tick: () => ObservableInput<unknown>;
  /** Called for each tick skipped because the previous one was still running. */
  readonly onCoalesced?: () => void;
  /** Called when a tick fails; the ticker keeps going. */
  readonly onError?: (error: unknown) => void;
  /** For tests (virtual time). */
  readonly scheduler?: SchedulerLike;
}

export interface Ticker {
  /** Stops ticking; a running tick finishes on its own (and no catch-up tick follows). */
  stop(): void;
  /** Whether a tick is running now. */
  readonly busy: boolean;
}

export function startTicker(options: TickerOptions): Ticker {
  if (!(options.tickMs > 0)) throw new Error(`tickMs must be positive, got ${options.tickMs}`);
  let busy = false;
  let missed = false;
  let stopped = false;
  const run = (): void => {
    busy = true;
    missed = false;
    defer(options.tick)
      .pipe(
        catchError((error: unknown) => {
          options.onError?.(error);
          return EMPTY;
        }),
        finalize(() => {
          busy = false;
          if (missed && !stopped) run();
        }),
      )
      .subscribe();
  };
  const subscription: Subscription = interval(options.tickMs, options.scheduler).subscribe(() => {
    if (!busy) return run();
    missed = true;
    options.onCoalesced?.();
  });
  return {
    stop: () => {
      stopped = true;
      subscription.unsubscribe();
    },
    get busy() {
      return busy;
    },
  };
}

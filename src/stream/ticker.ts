/**
 * Fixed scoring ticks: an RxJS interval whose ticks are exhaust-mapped onto the tick work, so
 * a tick that arrives while inference still runs is skipped (coalesced into the next one:
 * the pending frames simply wait) instead of queueing without bound.
 */
import { EMPTY, catchError, defer, exhaustMap, finalize, interval, tap, type ObservableInput, type SchedulerLike, type Subscription } from 'rxjs';

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
  /** Stops ticking; a running tick finishes on its own. */
  stop(): void;
  /** Whether a tick is running now. */
  readonly busy: boolean;
}

export function startTicker(options: TickerOptions): Ticker {
  if (!(options.tickMs > 0)) throw new Error(`tickMs must be positive, got ${options.tickMs}`);
  let busy = false;
  const subscription: Subscription = interval(options.tickMs, options.scheduler)
    .pipe(
      tap(() => {
        if (busy) options.onCoalesced?.();
      }),
      exhaustMap(() => {
        busy = true;
        return defer(options.tick).pipe(
          catchError((error: unknown) => {
            options.onError?.(error);
            return EMPTY;
          }),
          finalize(() => {
            busy = false;
          }),
        );
      }),
    )
    .subscribe();
  return {
    stop: () => subscription.unsubscribe(),
    get busy() {
      return busy;
    },
  };
}

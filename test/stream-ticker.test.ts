import { finalize, throwError, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { startTicker } from '../src/stream/ticker.js';

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('ticker (virtual time)', () => {
  it('ticks every tickMs while the work is shorter than the period', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ flush }) => {
      const started: number[] = [];
      let coalesced = 0;
      const ticker = startTicker({
        tickMs: 10,
        tick: () => {
          started.push(testScheduler.now());
          return timer(3);
        },
        onCoalesced: () => coalesced++,
      });
      testScheduler.schedule(() => ticker.stop(), 55);
      flush();
      expect(started).toEqual([10, 20, 30, 40, 50]);
      expect(coalesced).toBe(0);
    });
  });

  it('coalesces ticks while a tick outlasts the period: no overlap, no queue, the skipped ones counted', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ flush }) => {
      const starts: number[] = [];
      let running = 0;
      let maxRunning = 0;
      let coalesced = 0;
      const ticker = startTicker({
        tickMs: 10,
        tick: () => {
          starts.push(testScheduler.now());
          running++;
          maxRunning = Math.max(maxRunning, running);
          return timer(25).pipe(finalize(() => running--));
        },
        onCoalesced: () => coalesced++,
      });
      testScheduler.schedule(() => ticker.stop(), 101);
      flush();
      // ticks at 10 (runs to 35), 20 and 30 skipped, 40 (to 65), 50 and 60 skipped, 70 (to 95), 80 and 90 skipped, 100
      expect(starts).toEqual([10, 40, 70, 100]);
      expect(coalesced).toBe(6);
      expect(maxRunning).toBe(1);
    });
  });

  it('keeps ticking after a failed tick and reports the error', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ flush }) => {
      const errors: unknown[] = [];
      let calls = 0;
      const ticker = startTicker({
        tickMs: 10,
        tick: () => (++calls === 1 ? throwError(() => new Error('boom')) : timer(1)),
        onError: (error) => errors.push(error),
      });
      testScheduler.schedule(() => ticker.stop(), 35);
      flush();
      expect(calls).toBe(3);
      expect(errors).toHaveLength(1);
    });
  });

  it('rejects a non-positive period', () => {
    expect(() => startTicker({ tickMs: 0, tick: () => timer(1) })).toThrow(/tickMs/);
  });
});

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

  it('coalesces ticks while a tick outlasts the period: no overlap, no queue, one catch-up tick right after, the skipped ones counted', () => {
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
      // tick at 10 (runs to 35); 20 and 30 skipped, so one catch-up tick at 35 (to 60); 40 and 50
      // skipped: catch-up at 60 (to 85; the 60 tick finds it running); 70, 80 skipped: 85 (to 110); 90, 100 skipped.
      expect(starts).toEqual([10, 35, 60, 85]);
      expect(coalesced).toBe(9);
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

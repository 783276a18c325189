import { describe, expect, it } from 'vitest';
import { capacityOf, findCapacity, judgeTrial, nextAvatarCount, type RampOptions, type TrialEvidence } from '../bench/ramp.js';

const threshold = (limit: number) => async (avatars: number) => avatars <= limit;

describe('bench capacity search', () => {
  it('grows geometrically, then bisects to the resolution', async () => {
    const options: RampOptions = { start: 100, factor: 2, max: 10_000, resolution: 0.05, maxTrials: 20 };
    const found = await findCapacity(threshold(730), options);
    expect(found.steps.slice(0, 5).map((s) => s.avatars)).toEqual([100, 200, 400, 800, 600]);
    expect(found.capacity).toBeLessThanOrEqual(730);
    expect(found.firstFailure! - found.capacity).toBeLessThanOrEqual(Math.ceil(0.05 * found.capacity));
    expect(found.capped).toBe(false);
    expect(found.nonMonotonic).toBe(false);
  });

  it('steps down when the first count already fails', async () => {
    const found = await findCapacity(threshold(3), { start: 40, factor: 2, max: 1000, resolution: 0.1, maxTrials: 20 });
    expect(found.steps[0]).toEqual({ avatars: 40, pass: false });
    expect(found.steps[1]!.avatars).toBe(20);
    expect(found.capacity).toBe(3);
    expect(found.firstFailure).toBe(4);
  });

  it('reports 0 when even one avatar fails, and stops there', async () => {
    const found = await findCapacity(threshold(0), { start: 8, factor: 2, max: 1000, maxTrials: 20 });
    expect(found.capacity).toBe(0);
    expect(found.firstFailure).toBe(1);
    expect(found.steps.at(-1)!.avatars).toBe(1);
  });

  it('stops at the search cap without a failure and says so', async () => {
    const found = await findCapacity(threshold(1e9), { start: 100, factor: 3, max: 500, maxTrials: 20 });
    expect(found.steps.map((s) => s.avatars)).toEqual([100, 300, 500]);
    expect(found.capacity).toBe(500);
    expect(found.capped).toBe(true);
    expect(found.firstFailure).toBeNull();
  });

  it('never runs more trials than allowed: two trials bracket the capacity', async () => {
    const found = await findCapacity(threshold(130), { start: 100, factor: 1.5, max: 10_000, maxTrials: 2 });
    expect(found.steps).toEqual([
      { avatars: 100, pass: true },
      { avatars: 150, pass: false },
    ]);
    expect(found.capacity).toBe(100);
    expect(found.firstFailure).toBe(150);
  });

  it('keeps the largest count that held below the smallest failure when trials disagree', () => {
    const history = [
      { avatars: 100, pass: true },
      { avatars: 200, pass: false },
      { avatars: 150, pass: true },
      { avatars: 300, pass: true },
    ];
    const capacity = capacityOf(history, { max: 1000 });
    expect(capacity.capacity).toBe(150);
    expect(capacity.firstFailure).toBe(200);
    expect(capacity.nonMonotonic).toBe(true);
  });

  it('never proposes a count twice and always lands strictly between capacity and failure', () => {
    const options: RampOptions = { start: 10, factor: 2, max: 1000, resolution: 0, minStep: 1, maxTrials: 50 };
    const history = [
      { avatars: 10, pass: true },
      { avatars: 12, pass: false },
    ];
    expect(nextAvatarCount(history, options)).toBe(11);
    expect(nextAvatarCount([...history, { avatars: 11, pass: true }], options)).toBeNull();
    expect(() => nextAvatarCount([], { ...options, factor: 1 })).toThrow(/factor/);
  });
});

const healthy: TrialEvidence = { latencyP99Ms: 180, latencySamples: 1000, framesDropped: { backlog: 0, window_restart: 0 }, deliveredFraction: 1, ticksFailed: 0, serverExited: false };
const budget = { p99Ms: 250, minDelivered: 0.97 };

describe('bench trial verdict', () => {
  it('passes a trial within budget with nothing dropped', () => {
    expect(judgeTrial(healthy, budget)).toEqual({ pass: true, reasons: [] });
  });

  it('fails on p99, dropped frames, undelivered load, failed ticks or a dead server, naming each reason', () => {
    const verdict = judgeTrial({ ...healthy, latencyP99Ms: 251, framesDropped: { backlog: 12, window_restart: 0 }, deliveredFraction: 0.9, ticksFailed: 2, serverExited: true }, budget);
    expect(verdict.pass).toBe(false);
    expect(verdict.reasons).toEqual([
      'the server exited',
      'p99 251 ms > 250 ms',
      'frames dropped (backlog 12)',
      'load generator delivered 90.0% of the frames (machine saturated)',
      '2 ticks failed',
    ]);
  });

  it('treats frames that never got a score as over budget, and no measurement as a failure', () => {
    expect(judgeTrial({ ...healthy, latencyP99Ms: Infinity }, budget).reasons).toEqual(['p99 unscored (frames without a score) > 250 ms']);
    expect(judgeTrial({ ...healthy, latencySamples: 0, latencyP99Ms: Number.NaN }, budget).reasons).toEqual(['no latency measured']);
  });
});

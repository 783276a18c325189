import { describe, expect, it } from 'vitest';
import { sequenceScore } from '../src/model/scoring.js';
import { OnlineRule, SETTLE_FRAMES, WARMUP_SPIKE_FACTOR, type EpisodeEvent } from '../src/stream/online-rule.js';

const NAMES = ['A', 'B', 'C', 'D', 'E'];
const THRESHOLDS = { frame: 1, sequence: 1, fraction: 0.1, spike: 5 };

function rule(overrides: Partial<ConstructorParameters<typeof OnlineRule>[0]> = {}): OnlineRule {
  // No run requirement unless a test asks for one: most tests look at other parts of the rule.
  return new OnlineRule({ windowFrames: 50, thresholds: THRESHOLDS, jointNames: NAMES, minFrames: 10, fractionFloorFrames: 1, spikeHoldFrames: 5, endAfterFrames: 8, sustainedRunFrames: 0, ...overrides });
}

/** Joint scores with joint `top` highest (score), then the others descending. */
function joints(score: number, top = 0): number[] {
  return NAMES.map((_, j) => (j === top ? score : score / (j + 2)));
}

/** Pushes scores as frames seq = start, start+1, ...; returns the events with the seq they came at. */
function feed(r: OnlineRule, scores: readonly number[], start = 0, top = 0): EpisodeEvent[] {
  const events: EpisodeEvent[] = [];
  scores.forEach((s, i) => {
    const e = r.push(s, joints(s, top), 0, start + i, (start + i) * 33);
    if (e) events.push(e);
  });
  return events;
}

const repeat = (value: number, n: number): number[] => Array.from({ length: n }, () => value);

describe('online rule', () => {
  it('floors the fraction\'s denominator, so a young window needs more than a handful of frames over', () => {
    const r = rule({ fractionFloorFrames: 40 });
    // 3 of the first 12 frames over: 25% of the window, but only 3/40 of the floor.
    expect(feed(r, [...repeat(0, 9), 2, 2, 2])).toEqual([]);
    expect(r.fraction).toBeCloseTo(3 / 40, 9);
    const [start] = feed(r, [2], 12);
    expect(start).toMatchObject({ state: 'start', reason: 'sustained', seq: 12 });
    expect(start!.fraction).toBeCloseTo(4 / 40, 9);
  });

  it('acts at its first decision on a spike of the warm-up frames still within the hold, past the settling frames', () => {
    // minFrames 20 (first decision at seq 19), hold 5; a high floor so only a spike can start.
    // Warm-up spikes count only beyond WARMUP_SPIKE_FACTOR x the spike threshold (5).
    const clear = THRESHOLDS.spike * WARMUP_SPIKE_FACTOR + 1;
    const early = rule({ minFrames: 20, fractionFloorFrames: 50 });
    expect(feed(early, [...repeat(0, 16), clear, 0, 0])).toEqual([]); // spike at seq 16, nothing decided yet
    const [start] = feed(early, [0], 19);
    expect(start).toMatchObject({ state: 'start', reason: 'spike', seq: 19 });
    // One over the spike threshold but not clear of it: its scales came from a dozen frames.
    const faint = rule({ minFrames: 20, fractionFloorFrames: 50 });
    expect(feed(faint, [...repeat(0, 16), THRESHOLDS.spike * WARMUP_SPIKE_FACTOR - 1, 0, 0, 0])).toEqual([]);
    // ...while the same score once decided is a spike.
    expect(feed(faint, [THRESHOLDS.spike * WARMUP_SPIKE_FACTOR - 1], 20)).toMatchObject([{ state: 'start', reason: 'spike' }]);
    // A spike 7 frames before the first decision is past its 5-frame hold: nothing.
    const older = rule({ minFrames: 20, fractionFloorFrames: 50 });
    expect(feed(older, [...repeat(0, 12), clear, ...repeat(0, 7)])).toEqual([]);
    // Nor does a spike among the first SETTLE_FRAMES count, however long the hold.
    const settling = rule({ minFrames: 20, fractionFloorFrames: 50, spikeHoldFrames: 30 });
    expect(feed(settling, [...repeat(0, SETTLE_FRAMES - 1), clear, ...repeat(0, 20 - SETTLE_FRAMES)])).toEqual([]);
  });

  it('decides nothing before minFrames, then starts on the fraction', () => {
    const r = rule();
    expect(feed(r, repeat(2, 9))).toEqual([]);
    expect(r.decided).toBe(false);
    expect(r.fraction).toBe(1);
    const [start] = feed(r, [2], 9);
    expect(start).toMatchObject({ state: 'start', reason: 'sustained', seq: 9, episode: 1, onsetSeq: 0, onsetReceivedAt: 0 });
    expect(r.alerting).toBe(true);
  });

  it('computes the fraction over the sliding window only', () => {
    const r = rule();
    feed(r, [...repeat(2, 5), ...repeat(0, 45)]);
    expect(r.windowFill).toBe(50);
    expect(r.fraction).toBeCloseTo(5 / 50);
    feed(r, repeat(0, 3), 50);
    expect(r.fraction).toBeCloseTo(2 / 50);
    expect(r.peakFraction).toBeCloseTo(5 / 10);
  });

  it('a spike alerts at once and ends after the hold plus endAfterFrames; one start, one end', () => {
    const r = rule();
    feed(r, repeat(0, 20));
    const events = feed(r, [9, ...repeat(0, 30)], 20, 3);
    expect(events.map((e) => e.state)).toEqual(['start', 'end']);
    const [start, end] = events;
    expect(start).toMatchObject({ seq: 20, reason: 'spike', frameScore: 9, onsetSeq: 20 });
    expect(start!.topJoints.map((t) => t.joint)).toEqual(['D', 'A', 'B']);
    // active on the spike frame and 4 more (hold 5), then inactive for 8 frames
    expect(end).toMatchObject({ seq: 20 + 4 + 8, cause: 'recovered', reason: 'spike', episode: 1, frames: 12 });
  });

  it('flicker shorter than endAfterFrames stays one episode', () => {
    const r = rule({ minFrames: 1, endAfterFrames: 8 });
    const pattern: number[] = [];
    for (let k = 0; k < 5; k++) pattern.push(9, ...repeat(0, 10)); // spike hold 5 + 6 inactive < 8
    const events = feed(r, [...pattern, ...repeat(0, 40)]);
    expect(events.map((e) => e.state)).toEqual(['start', 'end']);
  });

  it('reports the top joints of the highest-scoring frame of the episode, and its sequence score', () => {
    const r = rule({ endFractionRatio: 1 });
    feed(r, repeat(0.5, 20));
    const [start] = feed(r, [6, 7], 20, 1);
    expect(start!.frameScore).toBe(6);
    expect(start!.topJoints[0]).toEqual({ joint: 'B', score: 6 });
    const later = feed(r, [8, ...repeat(0.5, 30)], 22, 4);
    const end = later.find((e) => e.state === 'end')!;
    expect(end.frameScore).toBe(8);
    expect(end.topJoints[0]).toEqual({ joint: 'E', score: 8 });
    expect(end.reason).toBe('both');
    // 3 over-threshold frames keep the fraction >= 10% until the window holds 31 frames (seq 30), then 8 inactive frames
    expect(end.seq).toBe(37);
    const window = [...repeat(0.5, 20), 6, 7, 8, ...repeat(0.5, 15)];
    expect(end.sequenceScore).toBeCloseTo(sequenceScore(window), 5);
  });

  it('keeps a fraction hovering at the threshold in one episode (the end band), not one every few frames', () => {
    // One over-threshold frame in 11: 4 or 5 of the 50-frame window, a fraction of 8% or 10%.
    const hovering = Array.from({ length: 400 }, (_, i) => (i % 11 === 0 ? 2 : 0));
    const starts = (r: OnlineRule): number => feed(r, hovering).filter((e) => e.state === 'start').length;
    expect(starts(rule({ endAfterFrames: 3, endFractionRatio: 1 }))).toBeGreaterThan(10);
    expect(starts(rule({ endAfterFrames: 3 }))).toBe(1);
    expect(() => rule({ endFractionRatio: 0 })).toThrow(/endFractionRatio/);
  });

  it('starts on the fraction only once a run of over-threshold frames has lasted sustainedRunFrames', () => {
    // A recurring 4-frame burst every 20 frames: 20% of the window, but never a long run.
    const recurring = Array.from({ length: 300 }, (_, i) => (i % 20 < 4 ? 2 : 0));
    expect(feed(rule({ sustainedRunFrames: 0 }), recurring).filter((e) => e.state === 'start')).toHaveLength(1);
    expect(feed(rule({ sustainedRunFrames: 12 }), recurring)).toEqual([]);
    // A held fault: over from seq 20 on (gaps up to onsetGapFrames merge into its run).
    const held = [...repeat(0, 20), ...Array.from({ length: 40 }, (_, i) => (i % 5 === 4 ? 0 : 2))];
    const [start] = feed(rule({ sustainedRunFrames: 12 }), held);
    expect(start).toMatchObject({ state: 'start', reason: 'sustained', seq: 20 + 11, onsetSeq: 20 });
    // The default asks for a second of it; a spike needs no run.
    expect(feed(new OnlineRule({ windowFrames: 50, thresholds: THRESHOLDS, jointNames: NAMES, minFrames: 10, fractionFloorFrames: 1 }), recurring)).toEqual([]);
    expect(feed(rule({ sustainedRunFrames: 12 }), [...repeat(0, 20), 9])).toMatchObject([{ state: 'start', reason: 'spike' }]);
    expect(() => rule({ sustainedRunFrames: -1 })).toThrow(/sustainedRunFrames/);
  });

  it('takes the onset from the run of over-threshold frames that led to the start', () => {
    const r = rule({ minFrames: 30 });
    // An isolated over frame long before, then a run starting at seq 40.
    const events = feed(r, [...repeat(0, 10), 2, ...repeat(0, 29), ...repeat(2, 10)]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ state: 'start', onsetSeq: 40, onsetReceivedAt: 40 * 33 });
  });

  it('a window reset keeps the open episode, which then ends after endAfterFrames', () => {
    const r = rule();
    feed(r, repeat(0, 20));
    expect(feed(r, [9], 20)).toHaveLength(1);
    r.reset();
    expect(r.windowFill).toBe(0);
    expect(r.alerting).toBe(true);
    const events = feed(r, repeat(0, 20), 100);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ state: 'end', seq: 107, cause: 'recovered' });
  });

  it('finish() ends an open episode with a cause, and nothing when none is open', () => {
    const r = rule();
    expect(r.finish('evicted')).toBeNull();
    feed(r, repeat(3, 12));
    const end = r.finish('evicted');
    expect(end).toMatchObject({ state: 'end', cause: 'evicted', reason: 'sustained', episode: 1 });
    expect(r.alerting).toBe(false);
    expect(r.finish('evicted')).toBeNull();
  });

  it('ignores spikes before minFrames', () => {
    const r = rule({ minFrames: 20 }); // 1 over-threshold frame in 20 stays under the 10% fraction
    expect(feed(r, [9, ...repeat(0, 40)])).toEqual([]);
  });

  it('numbers episodes', () => {
    const r = rule();
    const events = feed(r, [...repeat(0, 20), 9, ...repeat(0, 20), 9, ...repeat(0, 20)]);
    expect(events.map((e) => `${e.state}${e.episode}`)).toEqual(['start1', 'end1', 'start2', 'end2']);
  });

  it('rejects impossible options', () => {
    expect(() => rule({ minFrames: 51 })).toThrow(/minFrames/);
    expect(() => rule({ endAfterFrames: 0 })).toThrow(/endAfterFrames/);
  });
});

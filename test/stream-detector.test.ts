import { describe, expect, it } from 'vitest';
import { Detector, type DetectorOptions } from '../src/stream/detector.js';
import { Metrics } from '../src/stream/metrics.js';
import type { AlertMessage, ScoresMessage } from '../src/stream/protocol.js';
import { FakeScorer, J } from './helpers/fake-scorer.js';
import { clipPositions, pose } from './helpers/poses.js';

/** A detector on a virtual clock (ms) with a fake scorer. */
function setup(options: Partial<DetectorOptions> = {}, scorer = new FakeScorer()) {
  const clock = { now: 0 };
  const metrics = new Metrics({ defaultMetrics: false });
  const detector = new Detector({ scorer, clock: () => clock.now, metrics, ...options });
  const alerts: AlertMessage[] = [];
  detector.alerts$.subscribe((a) => alerts.push(a));
  return { detector, scorer, clock, alerts, metrics };
}

/** Streams clips (one per avatar) at 30 fps, ticking every 100 virtual ms until all is scored. */
async function stream(s: ReturnType<typeof setup>, clips: Record<string, Float32Array>, fps = 30): Promise<void> {
  const frames = Math.max(...Object.values(clips).map((c) => c.length / (J * 3)));
  let f = 0;
  while (f < frames || s.detector.pendingFrames > 0) {
    while (f < frames && (f * 1000) / fps <= s.clock.now) {
      for (const [avatar, positions] of Object.entries(clips)) {
        if (f < positions.length / (J * 3)) s.detector.ingest(avatar, f, positions, fps, s.clock.now, f * J * 3);
      }
      f++;
    }
    await s.detector.tick();
    s.clock.now += 100;
  }
}

async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  const match = metric.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val) && !('le' in v.labels));
  return match?.value ?? Number.NaN;
}

describe('detector', () => {
  it('scores all avatars with new frames in ONE scorer call per tick', async () => {
    const s = setup();
    for (let f = 0; f < 3; f++) {
      s.detector.ingest('a', f, pose(f));
      s.detector.ingest('b', f, pose(f));
    }
    s.detector.ingest('c', 0, pose(0));
    expect(await s.detector.tick()).toEqual({ result: 'scored', avatars: 3, frames: 7 });
    expect(s.scorer.calls).toEqual([
      [
        { avatar: 'a', frames: 3 },
        { avatar: 'b', frames: 3 },
        { avatar: 'c', frames: 1 },
      ],
    ]);
    expect(await s.detector.tick()).toEqual({ result: 'idle', avatars: 0, frames: 0 });
    expect(s.scorer.calls).toHaveLength(1);
  });

  it('alerts once (start, end) for an anomalous avatar and never for a clean one', async () => {
    const s = setup();
    // 30 over-threshold frames [40, 70): once alerting, the fraction stays in the band (>= 5%) while 13 of them are in the
    // 250-frame window (to frame 306); the 60th inactive frame after that (2 s at 30 fps) is frame 366
    await stream(s, { clean: clipPositions(420), faulty: clipPositions(420, { from: 40, to: 70, distance: 2 }) });
    expect(s.alerts.map((a) => `${a.avatar}:${a.state}`)).toEqual(['faulty:start', 'faulty:end']);
    const [start, end] = s.alerts;
    expect(start).toMatchObject({ type: 'alert', episode: 1, reason: 'sustained', frameScore: 2 });
    expect(start!.topJoints[0]).toEqual({ joint: 'LeftHand', score: 2 });
    expect(start!.topJoints).toHaveLength(3);
    expect(start!.seq).toBeGreaterThanOrEqual(40);
    expect(start!.seq).toBeLessThan(70);
    expect(end).toMatchObject({ episode: 1, cause: 'recovered', reason: 'sustained' });
    expect(end!.seq).toBe(366);
    expect(s.detector.snapshot().find((a) => a.avatar === 'faulty')).toMatchObject({ alerting: false, state: 'normal', windowFill: 250 });
    expect(await metricValue(s.metrics, 'motionguard_alerts_total', { state: 'start' })).toBe(1);
    expect(await metricValue(s.metrics, 'motionguard_frames_scored_total')).toBe(840);
  });

  it('takes the fraction floor the scorer asks for, unless its own settings name one', async () => {
    // 20 over-threshold frames: 11% of a 180-frame floor (the default) but 8% of 250.
    // No run requirement here (a 20-frame run is shorter than the default second, below).
    const clips = () => ({ faulty: clipPositions(400, { from: 40, to: 60, distance: 2 }) });
    const noRun = { sustainedRunSeconds: 0 };
    const byDefault = setup(noRun);
    await stream(byDefault, clips());
    expect(byDefault.alerts.map((a) => a.state)).toEqual(['start', 'end']);
    const modelFloor = setup(noRun, Object.assign(new FakeScorer(), { fractionFloorFrames: 250 }));
    await stream(modelFloor, clips());
    expect(modelFloor.alerts).toEqual([]);
    const shortRun = setup();
    await stream(shortRun, clips());
    expect(shortRun.alerts).toEqual([]);
    const overridden = setup({ ...noRun, fractionFloorFrames: 180 }, Object.assign(new FakeScorer(), { fractionFloorFrames: 250 }));
    await stream(overridden, clips());
    expect(overridden.alerts.map((a) => a.state)).toEqual(['start', 'end']);
  });

  it('emits one scores message per scored tick with the peak frame of each avatar', async () => {
    const s = setup();
    const messages: ScoresMessage[] = [];
    s.detector.scores$.subscribe((m) => messages.push(m));
    s.clock.now = 5000;
    s.detector.ingest('a', 0, pose(0, 0.5));
    s.detector.ingest('a', 1, pose(1, 3));
    s.detector.ingest('a', 2, pose(2, 0.7));
    await s.detector.tick();
    await s.detector.tick();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ type: 'scores', time: 5000 });
    const [entry] = messages[0]!.avatars;
    expect(entry).toMatchObject({ avatar: 'a', seq: 2, frames: 3, alerting: false });
    expect(entry!.frameScore).toBeCloseTo(3);
    expect(entry!.jointScores).toHaveLength(J);
  });

  it('resamples a 60 fps publisher to the scorer fps', async () => {
    const s = setup();
    await stream(s, { a: clipPositions(121) }, 60);
    expect(s.scorer.received.get('a')).toBe(61);
  });

  it('evicts silent avatars, forgets them in the scorer and ends their open episode', async () => {
    const s = setup({ evictAfterSeconds: 2 });
    await stream(s, { a: clipPositions(60, { from: 40, to: 60, distance: 9 }), b: clipPositions(60) });
    expect(s.alerts.map((a) => a.state)).toEqual(['start']);
    s.clock.now += 2500;
    await s.detector.tick();
    expect(s.detector.avatarCount).toBe(0);
    expect(s.scorer.forgotten.flat().sort()).toEqual(['a', 'b']);
    expect(s.alerts.map((a) => `${a.state}:${a.cause ?? ''}`)).toEqual(['start:', 'end:evicted']);
  });

  it('forgets an avatar before scoring the frames after a long gap', async () => {
    const s = setup();
    for (let f = 0; f < 5; f++) s.detector.ingest('a', f, pose(f));
    await s.detector.tick();
    for (let f = 100; f < 103; f++) s.detector.ingest('a', f, pose(f));
    await s.detector.tick();
    expect(s.scorer.forgotten).toEqual([['a']]);
    expect(await metricValue(s.metrics, 'motionguard_window_restarts_total', { reason: 'gap' })).toBe(1);
  });

  it('counts duplicates and out-of-order frames and drops them', async () => {
    const s = setup();
    expect(s.detector.ingest('a', 5, pose(5))).toBe('accepted');
    expect(s.detector.ingest('a', 5, pose(5))).toBe('duplicate');
    expect(s.detector.ingest('a', 4, pose(4))).toBe('out_of_order');
    expect(await metricValue(s.metrics, 'motionguard_frames_dropped_total', { reason: 'duplicate' })).toBe(1);
    expect(await metricValue(s.metrics, 'motionguard_frames_dropped_total', { reason: 'out_of_order' })).toBe(1);
  });

  it('refuses new avatars beyond maxAvatars', () => {
    const s = setup({ maxAvatars: 2 });
    expect(s.detector.ingest('a', 0, pose(0))).toBe('accepted');
    expect(s.detector.ingest('b', 0, pose(0))).toBe('accepted');
    expect(s.detector.ingest('c', 0, pose(0))).toBe('too_many_avatars');
    expect(s.detector.ingest('a', 1, pose(1))).toBe('accepted');
  });

  it('survives a failing scorer call: the tick fails, its frames are counted lost, the next tick works', async () => {
    const s = setup();
    s.scorer.failNext = true;
    s.detector.ingest('a', 0, pose(0));
    expect((await s.detector.tick()).result).toBe('failed');
    expect(await metricValue(s.metrics, 'motionguard_frames_dropped_total', { reason: 'scorer_error' })).toBe(1);
    s.detector.ingest('a', 1, pose(1));
    expect((await s.detector.tick()).result).toBe('scored');
  });

  it('never runs two ticks at once', async () => {
    const s = setup({}, new FakeScorer({ delayMs: 30 }));
    s.detector.ingest('a', 0, pose(0));
    const first = s.detector.tick();
    const second = s.detector.tick();
    await new Promise((resolve) => setTimeout(resolve, 5)); // the first tick is inside the scorer now
    s.detector.ingest('a', 1, pose(1));
    expect((await first).frames).toBe(1);
    expect((await second).frames).toBe(1);
    expect(s.scorer.maxConcurrency).toBe(1);
  });

  it('finishAll ends open episodes for shutdown', async () => {
    const s = setup();
    await stream(s, { a: clipPositions(40, { from: 35, to: 40, distance: 9 }) });
    await s.detector.finishAll();
    expect(s.alerts.map((a) => `${a.state}:${a.cause ?? ''}`)).toEqual(['start:', 'end:shutdown']);
    expect(s.alerts[0]!.episode).toBe(s.alerts[1]!.episode);
  });

  it('rejects settings the online rule cannot take when it is built, not at the first frame', () => {
    expect(() => new Detector({ scorer: new FakeScorer({ windowFrames: 100 }), minFrames: 101 })).toThrow(/minFrames/);
    expect(() => new Detector({ scorer: new FakeScorer(), maxPendingFrames: 0 })).toThrow(/maxPendingFrames/);
  });

  it('measures frame-to-score latency on its clock', async () => {
    const s = setup();
    s.clock.now = 1000;
    s.detector.ingest('a', 0, pose(0));
    s.clock.now = 1250;
    await s.detector.tick();
    expect(await s.metrics.text()).toMatch(/^motionguard_frame_to_score_latency_seconds_sum 0\.25$/m);
  });
});

import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { AlertHub, MAX_BUFFERED_FOR_ALERTS, MAX_BUFFERED_FOR_SCORES } from '../src/stream/alerts.js';
import { Detector } from '../src/stream/detector.js';
import { Metrics } from '../src/stream/metrics.js';
import { DEFAULT_LIMITS } from '../src/stream/protocol.js';
import { FakeConnection } from './helpers/fake-connection.js';
import { FakeScorer } from './helpers/fake-scorer.js';
import { pose } from './helpers/poses.js';

function setup(maxSubscribers = 10) {
  const clock = { now: 0 };
  const metrics = new Metrics({ defaultMetrics: false });
  const detector = new Detector({ scorer: new FakeScorer(), clock: () => clock.now, metrics, minFrames: 5, spikeHoldFrames: 3, endAfterSeconds: 0.2 });
  const hub = new AlertHub({ detector, limits: DEFAULT_LIMITS, maxConsecutiveErrors: 3, maxSubscribers, metrics });
  const subscribe = (message: Record<string, unknown>, format: 'json' | 'msgpack' | null = null, text = false) => {
    const connection = new FakeConnection();
    const session = hub.attach(connection, format)!;
    const body = { type: 'subscribe', ...message };
    session.receive(text ? JSON.stringify(body) : encode(body), !text);
    return { connection, session };
  };
  /** Streams `frames` frames for each avatar; avatars in `faulty` spike at frame 10. */
  const stream = async (avatars: string[], faulty: string[], frames = 30): Promise<void> => {
    for (let f = 0; f < frames; f += 3) {
      for (let k = f; k < f + 3; k++) for (const a of avatars) detector.ingest(a, k, pose(k, faulty.includes(a) && k === 10 ? 9 : 0.5));
      clock.now += 100;
      await detector.tick();
    }
  };
  return { detector, hub, subscribe, stream, metrics };
}

describe('alert hub', () => {
  it('confirms a subscription and delivers alerts of the avatars asked for (by id or prefix)', async () => {
    const s = setup();
    const all = s.subscribe({});
    const byId = s.subscribe({ avatars: ['room1/a'] });
    const byPrefix = s.subscribe({ prefix: 'room2/' });
    const none = s.subscribe({ avatars: ['nobody'] });
    expect(all.connection.messages[0]).toMatchObject({ type: 'subscribed', v: 1, avatars: null, prefix: null, scores: false, format: 'msgpack', fps: 30 });
    await s.stream(['room1/a', 'room2/b', 'room3/c'], ['room1/a', 'room2/b', 'room3/c']);
    const alerts = (c: { connection: FakeConnection }) => c.connection.ofType('alert').map((a) => `${a.avatar}:${a.state}`);
    expect(alerts(all).sort()).toEqual(['room1/a:end', 'room1/a:start', 'room2/b:end', 'room2/b:start', 'room3/c:end', 'room3/c:start']);
    expect(alerts(byId)).toEqual(['room1/a:start', 'room1/a:end']);
    expect(alerts(byPrefix)).toEqual(['room2/b:start', 'room2/b:end']);
    expect(alerts(none)).toEqual([]);
  });

  it('speaks JSON to subscribers that ask for it by URL or by a text subscribe', async () => {
    const s = setup();
    const byUrl = s.subscribe({}, 'json');
    const byText = s.subscribe({}, null, true);
    await s.stream(['a'], ['a']);
    for (const { connection } of [byUrl, byText]) {
      expect(connection.sent.every((d) => typeof d === 'string')).toBe(true);
      expect(connection.messages[0]).toMatchObject({ type: 'subscribed', format: 'json' });
      expect(connection.ofType('alert').map((a) => a.state)).toEqual(['start', 'end']);
    }
  });

  it('sends scores once per tick only to subscribers that asked, filtered to their avatars', async () => {
    const s = setup();
    const withScores = s.subscribe({ scores: true, avatars: ['a'] });
    const without = s.subscribe({});
    await s.stream(['a', 'b'], []);
    const scores = withScores.connection.ofType('scores');
    expect(scores).toHaveLength(10);
    expect(scores.every((m) => (m.avatars as { avatar: string }[]).map((a) => a.avatar).join() === 'a')).toBe(true);
    expect(without.connection.ofType('scores')).toHaveLength(0);
  });

  it('drops scores (never alerts) for a subscriber whose send buffer is full, and closes one that cannot take alerts', async () => {
    const s = setup();
    const slow = s.subscribe({ scores: true });
    slow.connection.bufferedAmount = MAX_BUFFERED_FOR_SCORES + 1;
    await s.stream(['a'], ['a']);
    expect(slow.connection.ofType('scores')).toHaveLength(0);
    expect(slow.connection.ofType('alert')).toHaveLength(2);
    expect(await s.metrics.text()).toMatch(/motionguard_subscriber_messages_dropped_total 10/);
    slow.connection.bufferedAmount = MAX_BUFFERED_FOR_ALERTS + 1;
    await s.stream(['b'], ['b']);
    expect(slow.connection.closed?.code).toBe(1008);
  });

  it('answers bad subscriber messages with errors and closes after too many', () => {
    const s = setup();
    const { connection, session } = s.subscribe({ scores: 'yes' });
    expect(connection.messages[0]).toMatchObject({ type: 'error', code: 'bad_message' });
    session.receive(encode({ type: 'frame' }), true);
    session.receive('not json', false);
    expect(connection.ofType('error').map((e) => e.code)).toEqual(['bad_message', 'unknown_type', 'malformed_message']);
    expect(connection.closed).toBeNull();
    session.receive('not json', false);
    expect(connection.closed?.code).toBe(1008);
  });

  it('refuses subscribers beyond maxSubscribers with 1013 and keeps the gauge right', async () => {
    const s = setup(1);
    const first = new FakeConnection();
    const session = s.hub.attach(first, null)!;
    const second = new FakeConnection();
    expect(s.hub.attach(second, null)).toBeNull();
    expect(second.closed?.code).toBe(1013);
    expect(second.messages[0]).toMatchObject({ type: 'error', code: 'too_many_subscribers' });
    expect(await s.metrics.text()).toMatch(/motionguard_subscribers 1/);
    s.hub.detach(session);
    expect(await s.metrics.text()).toMatch(/motionguard_subscribers 0/);
  });
});

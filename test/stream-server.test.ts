import { encode } from '@msgpack/msgpack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StreamingScorer } from '../src/model/streaming-scorer.js';
import { hardPayloadLimit } from '../src/stream/server.js';
import { DEFAULT_LIMITS } from '../src/stream/protocol.js';
import { FakeScorer } from './helpers/fake-scorer.js';
import { float32Bin, pose } from './helpers/poses.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { TestClient } from './helpers/ws-client.js';

const HELLO = { type: 'hello', v: 1, skeleton: 'canonical', units: 'm', fps: 30 };
const frame = (avatar: string, seq: number, marker = 0.5) => ({ avatar, seq, t: Date.now(), joints: float32Bin(pose(seq, marker)) });

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('stream server while the model loads', () => {
  it('answers /healthz at once, /readyz and WebSocket paths with 503 until the scorer is open', async () => {
    let open!: (s: StreamingScorer) => void;
    const scorer = new FakeScorer();
    const t = await startTestServer(new Promise<StreamingScorer>((resolve) => (open = resolve)));
    try {
      expect((await getJson(`${t.http}/healthz`)).status).toBe(200);
      expect(await getJson(`${t.http}/readyz`)).toEqual({ status: 503, body: { status: 'loading' } });
      expect((await getJson(`${t.http}/v1/avatars`)).status).toBe(503);
      await expect(TestClient.connect(`${t.ws}/v1/ingest`)).rejects.toThrow(/503/);
      open(scorer);
      await t.server.ready;
      expect(await getJson(`${t.http}/readyz`)).toEqual({ status: 200, body: { status: 'ready' } });
    } finally {
      await t.server.close();
    }
    expect(scorer.closed).toBe(true);
    expect((await fetch(`${t.http}/healthz`).catch(() => null)) ?? null).toBeNull();
  });

  it('reports a scorer that cannot open', async () => {
    const t = await startTestServer(Promise.reject(new Error('no model here')));
    await expect(t.server.ready).rejects.toThrow(/no model here/);
    expect(await getJson(`${t.http}/readyz`)).toEqual({ status: 503, body: { status: 'failed' } });
    await t.server.close();
    expect(t.logs.some((l) => l.msg === 'the scorer could not be opened')).toBe(true);
  });

  it('fails readiness (and closes the scorer) when the detector cannot start with the scorer', async () => {
    const scorer = new FakeScorer({ windowFrames: 20 });
    const t = await startTestServer(scorer, { minFrames: 30 });
    await expect(t.server.ready).rejects.toThrow(/minFrames/);
    expect(await getJson(`${t.http}/readyz`)).toEqual({ status: 503, body: { status: 'failed' } });
    await t.server.close();
    expect(scorer.closed).toBe(true);
  });
});

describe('stream server over loopback (fake scorer)', () => {
  let t: TestServer;
  let scorer: FakeScorer;
  const clients: TestClient[] = [];
  const connect = async (path: string): Promise<TestClient> => {
    const client = await TestClient.connect(`${t.ws}${path}`);
    clients.push(client);
    return client;
  };
  const publisher = async (): Promise<TestClient> => {
    const client = await connect('/v1/ingest');
    client.send(HELLO);
    await client.waitFor('ready');
    return client;
  };

  beforeAll(async () => {
    scorer = new FakeScorer();
    t = await startTestServer(scorer, { maxMessageBytes: 64 * 1024, maxConsecutiveErrors: 5, minFrames: 10, spikeHoldFrames: 5, endAfterSeconds: 0.5 });
    await t.server.ready;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await t.server.close();
  });

  it('answers bad messages with errors and keeps streaming the good avatar on the same connection', async () => {
    const pub = await publisher();
    const sub = await connect('/v1/alerts');
    sub.send({ type: 'subscribe', avatars: ['steady'], scores: true });
    await sub.waitFor('subscribed');
    const nan = Float32Array.from(pose(0));
    nan[7] = Number.NaN;
    pub.send({ type: 'frame', ...frame('steady', 0) });
    pub.sendRaw(new Uint8Array([0xc1, 0xc1])); // malformed msgpack
    pub.send({ type: 'frame', avatar: 'broken', seq: 0, t: 0, joints: float32Bin(pose(0).subarray(3)) }); // 20 joints
    pub.send({ type: 'frame', ...frame('steady', 1) });
    pub.send({ type: 'frame', avatar: 'broken', seq: 1, t: 0, joints: float32Bin(nan) });
    pub.sendRaw(new Uint8Array(encode({ type: 'frames', frames: [], padding: new Uint8Array(100 * 1024) }))); // > soft limit, < hard limit
    pub.send({ type: 'telemetry' });
    pub.send({ type: 'frames', frames: [frame('steady', 2), { ...frame('broken', 2), avatar: '' }, frame('steady', 3)] });
    const errors = await pub.waitFor('error', 5);
    expect(errors.map((e) => e.code)).toEqual(['malformed_message', 'bad_joint_count', 'non_finite', 'payload_too_large', 'unknown_type', 'bad_avatar_id']);
    expect(errors[1]).toMatchObject({ avatar: 'broken', seq: 0 });
    expect(errors[5]).toMatchObject({ index: 1 });
    await sub.until(() => sub.ofType('scores').some((m) => (m.avatars as { seq: number }[]).some((a) => a.seq === 3)), 'scores of seq 3');
    expect(pub.closed).toBeNull();
    const steady = sub.ofType('scores').flatMap((m) => m.avatars as { avatar: string; frames: number }[]);
    expect(steady.every((a) => a.avatar === 'steady')).toBe(true);
    expect(steady.reduce((n, a) => n + a.frames, 0)).toBe(4);
  });

  it('keeps the hard payload limit far above the soft one, and closes with 1009 beyond it', async () => {
    expect(hardPayloadLimit(DEFAULT_LIMITS)).toBeGreaterThanOrEqual(4 * DEFAULT_LIMITS.maxMessageBytes);
    const huge = await connect('/v1/ingest');
    huge.sendRaw(new Uint8Array(hardPayloadLimit(t.server.config) + 1));
    expect((await huge.waitClosed()).code).toBe(1009);
  });

  it('closes a connection that only sends garbage, with 1008 and a reason', async () => {
    const garbage = await connect('/v1/ingest');
    for (let i = 0; i < 10; i++) garbage.sendRaw(new Uint8Array([0xc1]));
    const closed = await garbage.waitClosed();
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/too many consecutive bad messages/);
  });

  it('delivers alerts to msgpack and JSON subscribers: one start and one end per episode, none for a clean avatar', async () => {
    const packed = await connect('/v1/alerts');
    packed.send({ type: 'subscribe', prefix: 'game1/' });
    const byUrl = await connect('/v1/alerts?format=json');
    byUrl.send({ type: 'subscribe', prefix: 'game1/' });
    const byText = await connect('/v1/alerts');
    byText.sendJson({ type: 'subscribe', avatars: ['game1/faulty', 'game1/clean'] });
    for (const s of [packed, byUrl, byText]) await s.waitFor('subscribed');
    const pub = await publisher();
    for (let f = 0; f < 90; f += 5) {
      const frames = [];
      for (let k = f; k < f + 5; k++) frames.push(frame('game1/clean', k), frame('game1/faulty', k, k >= 30 && k < 33 ? 9 : 0.5));
      pub.send({ type: 'frames', frames });
    }
    for (const s of [packed, byUrl, byText]) await s.waitFor('alert', 2);
    for (const s of [packed, byUrl, byText]) {
      const alerts = s.ofType('alert');
      expect(alerts.map((a) => `${a.avatar}:${a.state}`)).toEqual(['game1/faulty:start', 'game1/faulty:end']);
      expect(alerts[0]).toMatchObject({ seq: 30, reason: 'spike', topJoints: [expect.objectContaining({ joint: 'LeftHand' }), expect.anything(), expect.anything()] });
      expect(alerts[1]!.episode).toBe(alerts[0]!.episode);
      expect(typeof alerts[0]!.time).toBe('number');
    }
    expect(packed.messages.every((m) => m.__text === false)).toBe(true);
    expect(byUrl.messages.every((m) => m.__text === true)).toBe(true);
    expect(byText.messages.every((m) => m.__text === true)).toBe(true);
    expect(t.logs.filter((l) => l.msg === 'episode start' && l.avatar === 'game1/faulty')).toHaveLength(1);
    expect(t.logs.filter((l) => l.msg === 'episode end' && l.avatar === 'game1/faulty')).toHaveLength(1);
  });

  it('lists avatars on /v1/avatars', async () => {
    const pub = await publisher();
    pub.send({ type: 'frames', frames: Array.from({ length: 12 }, (_, k) => frame('listed', k)) });
    const deadline = Date.now() + 30_000;
    let listed: Record<string, unknown> | undefined;
    while (Date.now() < deadline) {
      const { body } = await getJson(`${t.http}/v1/avatars`);
      listed = (body.avatars as Record<string, unknown>[]).find((a) => a.avatar === 'listed' && a.windowFill === 12);
      if (listed) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(listed).toMatchObject({ state: 'normal', windowFrames: 250, decided: true, alerting: false, lastSeq: 11, sourceFps: 30, fraction: 0 });
  });

  it('exposes metrics with sane values after traffic', async () => {
    const res = await fetch(`${t.http}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    const value = (pattern: RegExp): number => Number(text.match(pattern)?.[1] ?? Number.NaN);
    expect(value(/^motionguard_frames_received_total\{result="accepted"\} (\d+)/m)).toBeGreaterThanOrEqual(4 + 180 + 12);
    expect(value(/^motionguard_protocol_errors_total\{code="non_finite"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^motionguard_protocol_errors_total\{code="payload_too_large"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^motionguard_alerts_total\{state="start"\} (\d+)/m)).toBe(1);
    expect(value(/^motionguard_alerts_total\{state="end"\} (\d+)/m)).toBe(1);
    expect(value(/^motionguard_ticks_total\{result="scored"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^motionguard_active_avatars (\d+)/m)).toBeGreaterThanOrEqual(3);
    expect(value(/^motionguard_frame_to_score_latency_seconds_count (\d+)/m)).toBeGreaterThanOrEqual(196);
    expect(value(/^motionguard_alert_latency_seconds_count (\d+)/m)).toBe(1);
    expect(value(/^motionguard_inference_duration_seconds_count (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^motionguard_batch_avatars_sum (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^motionguard_connections_closed_for_errors_total (\d+)/m)).toBe(1);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).not.toMatch(/game1/); // never an avatar id in a label
  });

  it('answers probes, 404 and 405', async () => {
    expect(await getJson(`${t.http}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await getJson(`${t.http}/nope`)).status).toBe(404);
    expect((await fetch(`${t.http}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${t.http}/v1/ingest`)).status).toBe(426);
    await expect(TestClient.connect(`${t.ws}/v1/other`)).rejects.toThrow(/404/);
  });
});

describe('stream server shutdown', () => {
  it('scores pending frames, ends open episodes for subscribers, closes connections with 1001', async () => {
    const scorer = new FakeScorer();
    const t = await startTestServer(scorer, { minFrames: 5, tickMs: 60_000 }); // no tick before shutdown
    await t.server.ready;
    const sub = await TestClient.connect(`${t.ws}/v1/alerts`);
    sub.send({ type: 'subscribe' });
    await sub.waitFor('subscribed');
    const pub = await TestClient.connect(`${t.ws}/v1/ingest`);
    pub.send(HELLO);
    await pub.waitFor('ready');
    pub.send({ type: 'frames', frames: Array.from({ length: 10 }, (_, k) => frame('late', k, k === 8 ? 9 : 0.5)) });
    // Wait until the server holds all 10 frames, unscored (ticks are a minute apart).
    while (t.server.detector!.snapshot().find((a) => a.avatar === 'late')?.pendingFrames !== 10) await new Promise((resolve) => setTimeout(resolve, 20));
    await t.server.close();
    await sub.waitClosed();
    expect(sub.ofType('alert').map((a) => `${a.state}:${a.cause ?? ''}`)).toEqual(['start:', 'end:shutdown']);
    expect(sub.closed?.code).toBe(1001);
    expect((await pub.waitClosed()).code).toBe(1001);
    expect(scorer.received.get('late')).toBe(10);
    expect(scorer.closed).toBe(true);
  });
});

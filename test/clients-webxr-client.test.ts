/**
 * MotionguardClient over real sockets (the `ws` package stands in for the browser's WebSocket)
 * against the real server with the deterministic fake scorer: hello/ready, batched frames,
 * alerts and scores (msgpack and JSON), server errors as events, frames queued until ready,
 * and reconnection after the server restarts; plus the reconnect schedule on a fake socket.
 */
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { MotionguardClient, type ConnectionEvent, type WebSocketConstructor } from '../clients/webxr/src/client.js';
import type { AlertMessage, ScoresMessage } from '../src/stream/protocol.js';
import { FakeScorer } from './helpers/fake-scorer.js';
import { pose } from './helpers/poses.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

/** ws's WebSocket, counting what clients send. */
const sent: (Uint8Array | string)[] = [];
class CountingWebSocket extends WebSocket {
  override send(data: Uint8Array | string): void {
    sent.push(data);
    super.send(data);
  }
}
const WS = CountingWebSocket as unknown as WebSocketConstructor;

/**
 * A TCP relay that owns one port for the whole test, so a "server restart" never frees a port
 * another test running in parallel could take: while no server is set it refuses connections.
 */
class Relay {
  target: number | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((client) => {
    if (this.target === null) return void client.destroy();
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function until(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('MotionguardClient against the server', () => {
  const servers: TestServer[] = [];
  const clients: MotionguardClient[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(servers.splice(0).map((s) => s.server.close()));
    sent.length = 0;
  });
  const start = async (): Promise<TestServer> => {
    const t = await startTestServer(new FakeScorer(), { logLevel: 'warn' });
    await t.server.ready;
    servers.push(t);
    return t;
  };
  const connect = (t: TestServer, options: ConstructorParameters<typeof MotionguardClient>[0] = {}): MotionguardClient => {
    const client = new MotionguardClient({ url: t.http, WebSocket: WS, ...options });
    clients.push(client);
    return client.connect();
  };

  it('publishes frames batched per task, and receives scores and the alert of a faulty avatar', async () => {
    const t = await start();
    const client = connect(t, { subscribe: { prefix: 'c/', scores: true } });
    const alerts: AlertMessage[] = [];
    const scores: ScoresMessage[] = [];
    client.on('alert', (a) => alerts.push(a));
    client.on('scores', (s) => scores.push(s));
    const [ready, subscribed] = await Promise.all([client.whenReady(), client.whenSubscribed()]);
    expect(ready).toMatchObject({ type: 'ready', v: 1, fps: 30, joints: 21 });
    expect(subscribed).toMatchObject({ type: 'subscribed', prefix: 'c/', scores: true, format: 'msgpack' });
    expect(client.state).toEqual({ ingest: 'ready', alerts: 'ready' });

    const framesBefore = sent.length;
    for (let k = 0; k < 60; k++) {
      client.publish('c/clean', pose(k));
      client.publish('c/faulty', pose(k, 8)); // the fake scorer: 8 m from the hips is a spike
      if (k % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await until(() => alerts.length > 0, 'an alert');
    // One `frames` message per task: 6 tasks of 10 frames for each of the 2 avatars.
    expect(sent.length - framesBefore).toBe(6);
    expect(client.stats).toMatchObject({ framesSent: 120, framesDropped: 0 });
    expect(alerts[0]).toMatchObject({ avatar: 'c/faulty', state: 'start' });
    await until(() => scores.some((s) => s.avatars.some((a) => a.avatar === 'c/clean' && a.seq === 59)), 'the last clean frame scored');
    expect(alerts.every((a) => a.avatar === 'c/faulty')).toBe(true);
    const entry = scores.flatMap((s) => s.avatars).find((a) => a.avatar === 'c/faulty')!;
    expect(entry.jointScores).toHaveLength(21);
  });

  it('speaks JSON to the alerts path when asked, and sends single frame messages', async () => {
    const t = await start();
    const client = connect(t, { subscribe: { avatars: ['j/1'], format: 'json' } });
    const alerts: AlertMessage[] = [];
    client.on('alert', (a) => alerts.push(a));
    expect(await client.whenSubscribed()).toMatchObject({ format: 'json', avatars: ['j/1'] });
    await client.whenReady();
    const before = sent.length;
    for (let k = 0; k < 40; k++) expect(client.sendFrame('j/1', pose(k, 8))).toBe(k);
    expect(sent.length - before).toBe(40);
    await until(() => alerts.length > 0, 'an alert over JSON');
    expect(alerts[0]).toMatchObject({ avatar: 'j/1', state: 'start' });
  });

  it('reports refused frames as serverError events, and refuses wrong-sized poses itself', async () => {
    const t = await start();
    const client = connect(t);
    const errors: unknown[] = [];
    client.on('serverError', (e) => errors.push(e));
    await client.whenReady();
    const bad = pose(0);
    bad[5] = Number.NaN;
    client.publish('e/1', bad, { seq: 3 });
    await until(() => errors.length > 0, 'an error');
    expect(errors[0]).toMatchObject({ channel: 'ingest', type: 'error', code: 'non_finite', avatar: 'e/1', seq: 3 });
    expect(() => client.publish('e/1', new Float32Array(60))).toThrow(/needs 63/);
  });

  it('queues frames until the publisher is ready, then sends them in order', async () => {
    const t = await start();
    const client = new MotionguardClient({ url: t.http, WebSocket: WS, subscribe: { scores: true } });
    clients.push(client);
    const scores: ScoresMessage[] = [];
    client.on('scores', (s) => scores.push(s));
    for (let k = 0; k < 45; k++) client.publish('q/1', pose(k));
    await Promise.resolve();
    expect(client.stats.framesSent).toBe(0);
    client.connect();
    await client.whenReady();
    await until(() => scores.some((s) => s.avatars.some((a) => a.avatar === 'q/1' && a.seq === 44)), 'queued frames scored');
    expect(client.stats).toMatchObject({ framesSent: 45, framesDropped: 0 });
  });

  it('comes back by itself after the server restarts, saying hello and subscribing again', async () => {
    const relay = new Relay();
    const url = await relay.listen();
    const first = await start();
    relay.target = first.server.port;
    const client = new MotionguardClient({ url, WebSocket: WS, subscribe: { scores: true }, backoff: { initialDelayMs: 50, maxDelayMs: 200 } });
    clients.push(client);
    client.connect();
    const events: ConnectionEvent[] = [];
    client.on('connection', (e) => events.push(e));
    let readies = 0;
    let subscribeds = 0;
    client.on('ready', () => readies++);
    client.on('subscribed', () => subscribeds++);
    await until(() => readies === 1 && subscribeds === 1, 'first connection');

    try {
      relay.target = null;
      await first.server.close();
      servers.splice(servers.indexOf(first), 1);
      await until(() => events.some((e) => e.channel === 'ingest' && e.state === 'waiting'), 'a scheduled retry');
      expect(client.ready).toBeNull();
      // A few refused attempts while nothing answers.
      await until(() => events.filter((e) => e.channel === 'ingest' && e.state === 'waiting').length >= 3, 'retries while the server is down');
      const second = await start();
      relay.target = second.server.port;
      await until(() => readies === 2 && subscribeds === 2, 'reconnection', 30_000);
      expect(client.stats.reconnects).toBeGreaterThanOrEqual(2);
      const scores: ScoresMessage[] = [];
      client.on('scores', (s) => scores.push(s));
      for (let k = 0; k < 5; k++) client.publish('r/1', pose(k));
      await until(() => scores.some((s) => s.avatars.some((a) => a.avatar === 'r/1')), 'frames after the restart');
      expect(second.server.detector!.snapshot().map((a) => a.avatar)).toEqual(['r/1']);
    } finally {
      client.close();
      await relay.close();
    }
  });
});

/** A scripted WebSocket: the test opens, answers and closes it. */
class FakeSocket {
  static instances: FakeSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  readonly sent: (Uint8Array | string)[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  send(data: Uint8Array | string): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

describe('MotionguardClient reconnect schedule', () => {
  afterEach(() => {
    vi.useRealTimers();
    FakeSocket.instances = [];
  });

  it('retries with exponential backoff, starts over once the server says ready, and stops on close()', () => {
    vi.useFakeTimers();
    const client = new MotionguardClient({
      url: 'http://mg.test:9000/base',
      WebSocket: FakeSocket as unknown as WebSocketConstructor,
      publish: {},
      random: () => 0,
      backoff: { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5 },
    });
    const waits: number[] = [];
    client.on('connection', (e) => {
      if (e.state === 'waiting') waits.push(e.retryInMs!);
    });
    client.connect();
    expect(FakeSocket.instances.map((s) => s.url)).toEqual(['ws://mg.test:9000/base/v1/ingest']);
    for (let k = 0; k < 5; k++) {
      FakeSocket.instances.at(-1)!.drop();
      vi.advanceTimersByTime(waits.at(-1)!);
    }
    expect(waits).toEqual([100, 200, 400, 800, 1000]);
    expect(FakeSocket.instances).toHaveLength(6);

    const socket = FakeSocket.instances.at(-1)!;
    socket.open();
    expect(socket.binaryType).toBe('arraybuffer');
    expect(socket.sent).toHaveLength(1); // the hello
    socket.onmessage?.({ data: JSON.stringify({ type: 'ready', v: 1, fps: 30, jointNames: [], joints: 21, limits: {}, thresholds: {} }) });
    expect(client.state.ingest).toBe('ready');
    socket.drop(1001);
    expect(waits.at(-1)).toBe(100);
    expect(client.ready).toBeNull();

    client.close();
    vi.advanceTimersByTime(10_000);
    expect(FakeSocket.instances).toHaveLength(6);
    expect(client.state.ingest).toBe('closed');
  });
});

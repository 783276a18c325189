/**
 * A load generator: a child process of the benchmark (its own event loop, never the
 * server's) that plays VR servers. It opens publisher connections on loopback, each
 * streaming several avatars as one `frames` message per 30 Hz frame, and two subscribers:
 * one for the alerts of all its avatars, one for the per-tick scores of a sample of them.
 *
 * Frame-to-score latency is measured here, on one clock: for every measured frame of a
 * sampled avatar, the time its `scores` entry arrived minus the time the frame was handed
 * to the socket. A `scores` entry names the newest scored seq and how many frames were
 * scored, so every frame gets its own latency, including the wait for the next tick.
 *
 * Driven over IPC: `config` (connect, reply `ready`), `go` (stream, reply `result`).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Decoder, Encoder } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { createRng } from '../src/synth/random.js';
import { alertOutcomes, type InjectedAnomalyPlan, type ReceivedAlert } from './alert-outcomes.js';
import { MATURE_SECONDS, SEAM_SECONDS, type LoadGenConfig, type LoadGenGo, type LoadGenMessage, type LoadGenResult } from './messages.js';
import { AnomalousStream, AvatarStream, STRIDE, loadMotionLibrary } from './motion-source.js';
import { summarize } from './stats.js';

/** A frame sent more than this late (against its 30 Hz slot) counts as not delivered on time. */
const ON_TIME_MS = 100;
/** Cross-fade at loop seams (6 frames measured best among 1-20 on the held-out clips, see the README). */
const SEAM_BLEND_FRAMES = 6;

interface Frames {
  frame(seq: number, out: Float32Array, offset: number): void;
}

interface Publisher {
  readonly ws: WebSocket;
  readonly avatars: number[];
  readonly positions: Float32Array;
  /** When each seq was handed to the socket (performance.now() ms); NaN until sent. */
  sentAt: Float64Array;
  next: number;
  /** When this connection's seq 0 is due, ms after the start. */
  offsetMs: number;
  /** Frames each of its avatars sends (all connections stop together). */
  frames: number;
}

function send(process: NodeJS.Process, message: LoadGenMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

function openSocket(url: string, onMessage: (message: Record<string, unknown>) => void, onClose: (code: number) => void): Promise<WebSocket> {
  const decoder = new Decoder();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('message', (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      onMessage((isBinary ? decoder.decode(bytes) : JSON.parse(bytes.toString('utf8'))) as Record<string, unknown>);
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`${url}: HTTP ${res.statusCode}`)));
    ws.on('close', (code) => onClose(code));
  });
}

function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

class LoadGenerator {
  private readonly ids: string[] = [];
  private readonly streams: Frames[] = [];
  private readonly bases: AvatarStream[] = [];
  private readonly connectionOf: number[] = [];
  private readonly publishers: Publisher[] = [];
  private readonly sockets: WebSocket[] = [];
  private readonly encoder = new Encoder();
  private readonly errorsByCode: Record<string, number> = {};
  private readonly alerts: ReceivedAlert[] = [];
  private readonly anomalyPlans: InjectedAnomalyPlan[] = [];
  private readonly anomalous = new Set<number>();
  private readonly indexOf = new Map<string, number>();
  private readonly lastScored = new Map<number, number>();
  private readonly latencies: number[] = [];
  private readonly scoredMeasured = new Map<number, number>();
  private scoresMessages = 0;
  private unexpectedCloses = 0;
  private closing = false;
  private readyReplies = 0;
  private subscribedReplies = 0;
  private measureFrom = 0;
  private measureTo = 0;
  private startPerf = 0;
  private totalFrames = 0;
  private motionSource = '';

  constructor(private readonly config: LoadGenConfig) {}

  async connect(): Promise<string> {
    const { config } = this;
    const library = await loadMotionLibrary({ dataDir: config.dataDir, modelDir: config.modelDir, maxClips: config.maxClips, blend: SEAM_BLEND_FRAMES });
    this.motionSource = library.source;
    const rng = createRng(config.seed * 1000 + config.generator);
    const anomalies = new Map(config.anomalies.map((a) => [a.avatarIndex, a]));
    for (let i = 0; i < config.avatars; i++) {
      const connection = Math.floor(i / config.avatarsPerConnection);
      const id = `g${config.generator}/c${connection}/a${i}`;
      const clip = library.clips[(i + config.generator * 7) % library.clips.length]!;
      const base = new AvatarStream(clip, rng.int(0, clip.frames - 1), { yaw: rng.uniform(0, 2 * Math.PI), x: (i % 32) * 4, z: Math.floor(i / 32) * 4 });
      const anomaly = anomalies.get(i);
      let stream: Frames = base;
      if (anomaly) {
        const injected = new AnomalousStream(base, { kind: anomaly.kind, onsetSeq: anomaly.onsetSeq, frames: anomaly.frames, severity: anomaly.severity, seed: anomaly.seed });
        this.anomalyPlans.push({ avatar: id, kind: anomaly.kind, onsetSeq: injected.onsetSeq, endSeq: injected.endSeq });
        stream = injected;
        this.anomalous.add(i);
      }
      this.ids.push(id);
      this.streams.push(stream);
      this.bases.push(base);
      this.connectionOf.push(connection);
      this.indexOf.set(id, i);
    }
    const ws = config.url.replace(/^http/, 'ws');
    const onClose = (code: number): void => {
      if (!this.closing) {
        this.unexpectedCloses++;
        this.errorsByCode[`close_${code}`] = (this.errorsByCode[`close_${code}`] ?? 0) + 1;
      }
    };
    const connections = Math.ceil(config.avatars / config.avatarsPerConnection);
    for (let c = 0; c < connections; c++) {
      const avatars = Array.from({ length: Math.min(config.avatarsPerConnection, config.avatars - c * config.avatarsPerConnection) }, (_, k) => c * config.avatarsPerConnection + k);
      const socket = await openSocket(`${ws}/v1/ingest`, (m) => this.onPublisherMessage(m), onClose);
      this.sockets.push(socket);
      socket.send(this.encoder.encode({ type: 'hello', v: 1, skeleton: 'canonical', units: 'm', fps: config.fps }));
      this.publishers.push({ ws: socket, avatars, positions: new Float32Array(avatars.length * STRIDE), sentAt: new Float64Array(0), next: 0, offsetMs: 0, frames: 0 });
    }
    await waitFor(() => this.readyReplies >= connections, `${connections} 'ready' replies`);
    const alertSocket = await openSocket(`${ws}/v1/alerts`, (m) => this.onAlertMessage(m), onClose);
    this.sockets.push(alertSocket);
    alertSocket.send(this.encoder.encode({ type: 'subscribe', prefix: `g${config.generator}/` }));
    let expected = 1;
    if (config.latencyAvatars.length > 0) {
      const scoresSocket = await openSocket(`${ws}/v1/alerts`, (m) => this.onScoresMessage(m), onClose);
      this.sockets.push(scoresSocket);
      scoresSocket.send(this.encoder.encode({ type: 'subscribe', avatars: config.latencyAvatars.map((i) => this.ids[i]!), scores: true }));
      expected = 2;
    }
    await waitFor(() => this.subscribedReplies >= expected, 'subscriptions');
    return this.motionSource;
  }

  private onPublisherMessage(message: Record<string, unknown>): void {
    if (message.type === 'ready') this.readyReplies++;
    else if (message.type === 'error') {
      const code = String(message.code);
      this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
    }
  }

  private onAlertMessage(message: Record<string, unknown>): void {
    const receivedAtMs = performance.now();
    if (message.type === 'subscribed') this.subscribedReplies++;
    else if (message.type === 'alert') {
      this.alerts.push({ avatar: String(message.avatar), state: message.state === 'end' ? 'end' : 'start', seq: Number(message.seq), receivedAtMs });
    }
  }

  private onScoresMessage(message: Record<string, unknown>): void {
    const receivedAtMs = performance.now();
    if (message.type === 'subscribed') {
      this.subscribedReplies++;
      return;
    }
    if (message.type !== 'scores') return;
    this.scoresMessages++;
    for (const entry of message.avatars as { avatar: string; seq: number; frames: number }[]) {
      const index = this.indexOf.get(entry.avatar);
      if (index === undefined) continue;
      const publisher = this.publishers[this.connectionOf[index]!]!;
      const last = this.lastScored.get(index) ?? -1;
      for (let seq = Math.max(last + 1, entry.seq - entry.frames + 1); seq <= entry.seq; seq++) {
        if (!this.isMeasured(publisher, seq)) continue;
        const sent = publisher.sentAt[seq];
        if (sent === undefined || Number.isNaN(sent)) continue;
        this.latencies.push(receivedAtMs - sent);
        this.scoredMeasured.set(index, (this.scoredMeasured.get(index) ?? 0) + 1);
      }
      this.lastScored.set(index, Math.max(last, entry.seq));
    }
  }

  /** Whether frame `seq` of a connection is one of the measured ones (its 30 Hz slot lies in the measured window). */
  private isMeasured(p: Publisher, seq: number): boolean {
    const slot = p.offsetMs + (seq * 1000) / this.config.fps;
    return slot >= this.measureFrom && slot < this.measureTo;
  }

  async run(go: LoadGenGo): Promise<LoadGenResult> {
    const { config } = this;
    const periodMs = 1000 / config.fps;
    const streamMs = (go.warmupSeconds + go.measureSeconds) * 1000;
    this.measureFrom = go.warmupSeconds * 1000;
    this.measureTo = streamMs;
    const lateness: number[] = [];
    let onTimeMeasured = 0;
    let measuredScheduled = 0;
    // Connections join one after another and are spread over the frame period, as independent VR servers would be.
    this.publishers.forEach((p, c) => {
      const share = c / this.publishers.length;
      p.offsetMs = share * go.joinSeconds * 1000 + share * periodMs;
      p.frames = Math.max(0, Math.ceil((streamMs - p.offsetMs) / periodMs));
      p.sentAt = new Float64Array(p.frames).fill(Number.NaN);
    });
    this.totalFrames = this.publishers.reduce((sum, p) => sum + p.frames * p.avatars.length, 0);
    const delay = monitorEventLoopDelay({ resolution: 5 });
    const cpuBefore = process.cpuUsage();
    this.startPerf = performance.now() + (go.startAt - Date.now());
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, this.startPerf - performance.now())));
    delay.enable();
    let framesSent = 0;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        let nextDue = Number.POSITIVE_INFINITY;
        for (const p of this.publishers) {
          while (p.next < p.frames && this.startPerf + p.offsetMs + p.next * periodMs <= performance.now()) {
            const seq = p.next++;
            const due = this.startPerf + p.offsetMs + seq * periodMs;
            const sent = this.sendFrame(p, seq);
            framesSent += p.avatars.length;
            const late = sent - due;
            lateness.push(late);
            if (this.isMeasured(p, seq)) {
              measuredScheduled += p.avatars.length;
              if (late <= ON_TIME_MS) onTimeMeasured += p.avatars.length;
            }
          }
          if (p.next < p.frames) nextDue = Math.min(nextDue, this.startPerf + p.offsetMs + p.next * periodMs);
        }
        if (!Number.isFinite(nextDue)) return resolve();
        setTimeout(pump, Math.max(0, nextDue - performance.now()));
      };
      pump();
    });
    await new Promise((resolve) => setTimeout(resolve, go.drainSeconds * 1000));
    delay.disable();
    const cpu = process.cpuUsage(cpuBefore);
    let unscored = 0;
    for (const index of config.latencyAvatars) {
      const p = this.publishers[this.connectionOf[index]!]!;
      let measured = 0;
      for (let seq = 0; seq < p.frames; seq++) if (this.isMeasured(p, seq)) measured++;
      unscored += measured - (this.scoredMeasured.get(index) ?? 0);
    }
    const alerts = alertOutcomes(this.anomalyPlans, this.alerts, (avatar, seq) => {
      const index = this.indexOf.get(avatar);
      if (index === undefined) return undefined;
      const sent = this.publishers[this.connectionOf[index]!]!.sentAt[seq];
      return sent === undefined || Number.isNaN(sent) ? undefined : sent;
    });
    const ms = (ns: number): number => ns / 1e6;
    const causes = { joining: 0, nearSeam: 0, other: 0, atSeconds: [] as number[], clips: [] as string[] };
    for (const { avatar, seq } of alerts.falseStarts) {
      const base = this.bases[this.indexOf.get(avatar)!]!;
      causes.atSeconds.push(seq / config.fps);
      causes.clips.push(base.clip.name);
      if (seq < MATURE_SECONDS * config.fps) causes.joining++;
      else if (base.framesSinceSeam(seq) < SEAM_SECONDS * config.fps) causes.nearSeam++;
      else causes.other++;
    }
    // Exposure of the 'other' class: normal avatars' frames past their first seconds and away from seams.
    let cleanFrames = 0;
    this.publishers.forEach((p) => {
      for (const index of p.avatars) {
        if (this.anomalous.has(index)) continue;
        for (let seq = MATURE_SECONDS * config.fps; seq < p.frames; seq++) if (this.bases[index]!.framesSinceSeam(seq) >= SEAM_SECONDS * config.fps) cleanFrames++;
      }
    });
    return {
      type: 'result',
      generator: config.generator,
      framesScheduled: this.totalFrames,
      framesSent,
      deliveredFraction: measuredScheduled > 0 ? onTimeMeasured / measuredScheduled : 0,
      sendLateness: summarize(lateness),
      latenciesMs: this.latencies,
      unscoredFrames: unscored,
      scoresMessages: this.scoresMessages,
      alerts,
      falseStartCauses: causes,
      cleanNormalAvatarSeconds: cleanFrames / config.fps,
      normalAvatars: config.avatars - this.anomalyPlans.length,
      avatarSeconds: this.publishers.reduce((sum, p) => sum + (p.frames * p.avatars.length) / config.fps, 0),
      normalAvatarSeconds: this.publishers.reduce((sum, p) => sum + (p.frames * p.avatars.filter((i) => !this.anomalous.has(i)).length) / config.fps, 0),
      errorsByCode: this.errorsByCode,
      unexpectedCloses: this.unexpectedCloses,
      eventLoopDelay: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }

  /** One `frames` message with this seq of every avatar of the connection; returns when it was handed to the socket. */
  private sendFrame(p: Publisher, seq: number): number {
    const t = Date.now();
    const frames = p.avatars.map((index, k) => {
      this.streams[index]!.frame(seq, p.positions, k * STRIDE);
      const joints = new Uint8Array(p.positions.buffer, p.positions.byteOffset + k * STRIDE * 4, STRIDE * 4);
      return { avatar: this.ids[index]!, seq, t, joints };
    });
    const bytes = this.encoder.encode({ type: 'frames', frames });
    const sentAt = performance.now();
    p.ws.send(bytes);
    p.sentAt[seq] = sentAt;
    return sentAt;
  }

  close(): void {
    this.closing = true;
    for (const socket of this.sockets) socket.terminate();
  }
}

let generator: LoadGenerator | null = null;
process.on('message', (message: LoadGenConfig | LoadGenGo) => {
  void (async () => {
    try {
      if (message.type === 'config') {
        generator = new LoadGenerator(message);
        const motionSource = await generator.connect();
        await send(process, { type: 'ready', motionSource });
      } else if (message.type === 'go' && generator) {
        const result = await generator.run(message);
        generator.close();
        await send(process, result);
        process.disconnect();
      }
    } catch (error) {
      generator?.close();
      await send(process, { type: 'error', message: (error as Error).stack ?? String(error) });
      process.disconnect();
    }
  })();
});

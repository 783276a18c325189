/**
 * MotionguardClient: one object per app that publishes avatar poses to `/v1/ingest` and/or
 * receives alerts and per-tick scores from `/v1/alerts`, each on its own WebSocket that comes
 * back by itself (exponential backoff with jitter) after the server restarts or the network
 * drops. Frames published in one JavaScript task go out as one `frames` message.
 */
import {
  ALERTS_PATH,
  DEFAULT_LIMITS,
  INGEST_PATH,
  type AlertMessage,
  type ErrorMessage,
  type FrameData,
  type Limits,
  type MessageFormat,
  type ReadyMessage,
  type ScoresMessage,
  type ServerMessage,
  type SubscribeMessage,
  type SubscribedMessage,
} from '../../../src/stream/protocol.js';
import { backoffDelay, resolveBackoff, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import {
  MessageDecodeError,
  chunkFrames,
  declaredJointCount,
  decodeServerMessage,
  encodeMessage,
  frameData,
  frameMessage,
  framesMessage,
  helloMessage,
  type PublishOptions,
} from './messages.js';

export type ChannelName = 'ingest' | 'alerts';
/** idle: not started; connecting; open: socket up, waiting for `ready`/`subscribed`; ready; waiting: a retry is scheduled; closed: stopped for good. */
export type ChannelState = 'idle' | 'connecting' | 'open' | 'ready' | 'waiting' | 'closed';

export interface ConnectionEvent {
  readonly channel: ChannelName;
  readonly state: ChannelState;
  /** Failed attempts since the channel was last ready. */
  readonly attempt: number;
  /** With `waiting`: milliseconds until the next attempt. */
  readonly retryInMs?: number;
  /** With `waiting`/`closed`: the WebSocket close code and reason. */
  readonly code?: number;
  readonly reason?: string;
}

export interface MotionguardEvents {
  connection: ConnectionEvent;
  /** The publisher channel is ready (after every (re)connect). */
  ready: ReadyMessage;
  /** The subscription is in place (after every (re)connect and every `subscribe`). */
  subscribed: SubscribedMessage;
  alert: AlertMessage;
  scores: ScoresMessage;
  /** An `error` from the server (a refused frame or message); never fatal. */
  serverError: ErrorMessage & { readonly channel: ChannelName };
}

/** What to subscribe to (see SubscribeMessage): all avatars when neither `avatars` nor `prefix`. */
export interface SubscribeOptions {
  readonly avatars?: readonly string[];
  readonly prefix?: string;
  /** Also receive a `scores` message every server tick. */
  readonly scores?: boolean;
  /** Wire format of server messages; default 'msgpack'. */
  readonly format?: MessageFormat;
}

export type WebSocketConstructor = new (url: string) => WebSocket;

export interface MotionguardClientOptions {
  /**
   * The server: http(s):// or ws(s):// base URL; a path prefix is kept (`https://host/mg` ->
   * `wss://host/mg/v1/ingest`). Relative URLs resolve against the page. Default: the page's origin.
   */
  readonly url?: string | URL;
  /** The `hello` to send on every (re)connect, or false for a subscriber-only client. Default: canonical skeleton, metres, 30 fps. */
  readonly publish?: PublishOptions | false;
  /** The subscription to (re)establish on every (re)connect, or false for a publisher-only client. Default false. */
  readonly subscribe?: SubscribeOptions | false;
  readonly backoff?: Partial<BackoffOptions>;
  /** Frames kept while the publisher is not ready, sent once it is (oldest dropped first). Default 300 (10 s at 30 fps). */
  readonly maxQueuedFrames?: number;
  /** Frames are dropped (and counted) while the socket has more than this many bytes unsent. Default 4 MiB. */
  readonly maxBufferedBytes?: number;
  /** WebSocket implementation: default globalThis.WebSocket (browsers, Node >= 22); in Node 20 pass the `ws` package's. */
  readonly WebSocket?: WebSocketConstructor;
  /** Uniform [0, 1) source for the backoff jitter (tests). */
  readonly random?: () => number;
}

export interface FrameOptions {
  /** Frame counter; default: one more than this avatar's previous frame (0 for the first). */
  readonly seq?: number;
  /** Client timestamp, ms; default Date.now(). */
  readonly t?: number;
}

export interface ClientStats {
  framesSent: number;
  /** Dropped: the queue while disconnected overflowed, or the socket was backed up. */
  framesDropped: number;
  messagesReceived: number;
  /** Server messages that could not be decoded or have an unknown type (ignored). */
  messagesIgnored: number;
  reconnects: number;
}

const OPEN = 1;

/** ws(s):// URL of `path` on the server at `base` (keeps a path prefix; http -> ws, https -> wss). */
export function endpointUrl(base: string | URL | undefined, path: string, query: Record<string, string> = {}): string {
  const page = typeof location === 'undefined' ? undefined : location.href;
  if (base === undefined && page === undefined) throw new TypeError('MotionguardClient: `url` is required outside a browser page');
  const root = new URL(base === undefined ? '/' : String(base), page);
  const dir = root.href.endsWith('/') ? root.href : `${root.href}/`;
  const url = new URL(path.replace(/^\/+/, ''), dir);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.href;
}

/** One WebSocket with its reconnect loop. */
class Channel {
  socket: WebSocket | null = null;
  state: ChannelState = 'idle';
  attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    readonly name: ChannelName,
    private readonly url: string,
    private readonly client: {
      readonly WebSocket: WebSocketConstructor;
      readonly backoff: BackoffOptions;
      readonly random: () => number;
      changed(channel: Channel, extra?: Partial<ConnectionEvent>): void;
      opened(channel: Channel): void;
      received(channel: Channel, data: unknown): void;
      reconnecting(): void;
    },
  ) {}

  start(): void {
    if (this.stopped || this.socket || this.timer) return;
    this.connect();
  }

  private connect(): void {
    this.timer = null;
    this.setState('connecting');
    let socket: WebSocket;
    try {
      socket = new this.client.WebSocket(this.url);
    } catch (error) {
      // An invalid URL or a refused scheme: retrying will not help, but the schedule keeps the app informed.
      this.scheduleRetry(0, (error as Error).message);
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.setState('open');
      this.client.opened(this);
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket === socket) this.client.received(this, event.data);
    };
    socket.onerror = () => {
      // A close event always follows; the retry is scheduled there.
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) this.setState('closed', { code: event.code, reason: event.reason });
      else this.scheduleRetry(event.code, event.reason);
    };
  }

  private scheduleRetry(code: number, reason: string): void {
    const delay = backoffDelay(this.attempt, this.client.backoff, this.client.random);
    this.attempt++;
    this.setState('waiting', { retryInMs: delay, code, reason });
    this.timer = setTimeout(() => {
      this.client.reconnecting();
      this.connect();
    }, delay);
  }

  /** The server acknowledged us (`ready` / `subscribed`): the next failure starts the schedule over. */
  markReady(): void {
    this.attempt = 0;
    this.setState('ready');
  }

  send(data: Uint8Array | string): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(data);
    return true;
  }

  get bufferedAmount(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    if (socket) {
      socket.close(1000, 'client closed');
      // Some implementations never deliver the close event for a socket still connecting.
      this.socket = null;
    }
    this.setState('closed');
  }

  private setState(state: ChannelState, extra: Partial<ConnectionEvent> = {}): void {
    this.state = state;
    this.client.changed(this, extra);
  }
}

export class MotionguardClient extends Emitter<MotionguardEvents> {
  readonly stats: ClientStats = { framesSent: 0, framesDropped: 0, messagesReceived: 0, messagesIgnored: 0, reconnects: 0 };
  private readonly ingest: Channel | null;
  private readonly alerts: Channel | null;
  private readonly publishOptions: PublishOptions | false;
  private subscribeOptions: SubscribeOptions | false;
  private readonly jointsPerFrame: number;
  private readonly maxQueuedFrames: number;
  private readonly maxBufferedBytes: number;
  private readyMessage: ReadyMessage | null = null;
  private subscribedMessage: SubscribedMessage | null = null;
  private readonly nextSeq = new Map<string, number>();
  private batch: FrameData[] = [];
  private pending: FrameData[] = [];
  private flushScheduled = false;
  private closed = false;

  constructor(options: MotionguardClientOptions = {}) {
    super();
    const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketImpl) throw new TypeError('MotionguardClient: no WebSocket implementation (pass options.WebSocket, e.g. the `ws` package in Node 20)');
    this.publishOptions = options.publish ?? {};
    this.subscribeOptions = options.subscribe ?? false;
    this.jointsPerFrame = this.publishOptions === false ? 0 : declaredJointCount(this.publishOptions.skeleton);
    this.maxQueuedFrames = options.maxQueuedFrames ?? 300;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 4 << 20;
    const shared = {
      WebSocket: WebSocketImpl,
      backoff: resolveBackoff(options.backoff),
      random: options.random ?? Math.random,
      changed: (channel: Channel, extra: Partial<ConnectionEvent> = {}) => {
        // Whatever the server acknowledged belongs to the connection that just went away.
        if (channel.state !== 'ready' && channel.state !== 'open') {
          if (channel.name === 'ingest') this.readyMessage = null;
          else this.subscribedMessage = null;
        }
        this.emit('connection', { channel: channel.name, state: channel.state, attempt: channel.attempt, ...extra });
      },
      opened: (channel: Channel) => this.opened(channel),
      received: (channel: Channel, data: unknown) => this.received(channel, data),
      reconnecting: () => this.stats.reconnects++,
    };
    this.ingest = this.publishOptions === false ? null : new Channel('ingest', endpointUrl(options.url, INGEST_PATH), shared);
    const format = this.subscribeOptions === false ? undefined : this.subscribeOptions.format;
    this.alerts =
      this.subscribeOptions === false ? null : new Channel('alerts', endpointUrl(options.url, ALERTS_PATH, format === 'json' ? { format: 'json' } : {}), shared);
  }

  /** Opens the channels (idempotent). */
  connect(): this {
    if (this.closed) throw new Error('MotionguardClient: closed; create a new client');
    this.ingest?.start();
    this.alerts?.start();
    return this;
  }

  /** Sends what is queued, closes both channels and stops reconnecting. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.ingest?.stop();
    this.alerts?.stop();
  }

  /** The server's `ready` on the current publisher connection, or null. */
  get ready(): ReadyMessage | null {
    return this.readyMessage;
  }

  /** The server's `subscribed` on the current subscriber connection, or null. */
  get subscribed(): SubscribedMessage | null {
    return this.subscribedMessage;
  }

  /** State of each channel (null where the client does not use it). */
  get state(): { readonly ingest: ChannelState | null; readonly alerts: ChannelState | null } {
    return { ingest: this.ingest?.state ?? null, alerts: this.alerts?.state ?? null };
  }

  /** Resolves with the publisher's `ready` (at once if it is ready now). */
  whenReady(): Promise<ReadyMessage> {
    if (this.readyMessage) return Promise.resolve(this.readyMessage);
    return new Promise((resolve) => this.once('ready', resolve));
  }

  /** Resolves with the subscription's `subscribed` (at once if subscribed now). */
  whenSubscribed(): Promise<SubscribedMessage> {
    if (this.subscribedMessage) return Promise.resolve(this.subscribedMessage);
    return new Promise((resolve) => this.once('subscribed', resolve));
  }

  /** Replaces the subscription (kept for reconnects). */
  subscribe(options: SubscribeOptions): void {
    if (!this.alerts) throw new Error('MotionguardClient: created without `subscribe`; cannot subscribe');
    const format = this.subscribeOptions === false ? undefined : this.subscribeOptions.format;
    this.subscribeOptions = { ...options, format };
    this.subscribedMessage = null;
    this.sendSubscribe(this.alerts);
  }

  /**
   * Queues one pose of `avatar`; every frame queued in the same JavaScript task goes out in one
   * `frames` message (call flush() to send at once). `positions`: x, y, z per declared joint
   * (canonical order for a preset), in the declared units. Returns the seq used.
   */
  publish(avatar: string, positions: ArrayLike<number>, options: FrameOptions = {}): number {
    const frame = this.makeFrame(avatar, positions, options);
    this.batch.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    return frame.seq;
  }

  /** Sends one pose now as a single `frame` message (queued like publish() while not ready). Returns the seq used. */
  sendFrame(avatar: string, positions: ArrayLike<number>, options: FrameOptions = {}): number {
    // Frames already waiting go first: then this one joins them, in order.
    if (!this.readyMessage || this.pending.length > 0 || this.batch.length > 0) return this.publish(avatar, positions, options);
    const frame = this.makeFrame(avatar, positions, options);
    this.sendFrames([frame], true);
    return frame.seq;
  }

  /** Sends every queued frame now (those that wait for `ready` stay queued). Returns the frames sent. */
  flush(): number {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = [];
    if (!this.readyMessage) {
      this.queueWhileNotReady(batch);
      return 0;
    }
    const all = this.pending.length > 0 ? [...this.pending, ...batch] : batch;
    this.pending = [];
    return this.sendFrames(all, false);
  }

  private makeFrame(avatar: string, positions: ArrayLike<number>, options: FrameOptions): FrameData {
    if (this.publishOptions === false) throw new Error('MotionguardClient: created with `publish: false`; cannot publish');
    if (this.closed) throw new Error('MotionguardClient: closed');
    if (positions.length !== this.jointsPerFrame * 3) {
      throw new RangeError(`positions holds ${positions.length} numbers; the declared skeleton needs ${this.jointsPerFrame * 3} (x, y, z of ${this.jointsPerFrame} joints)`);
    }
    const seq = options.seq ?? this.nextSeq.get(avatar) ?? 0;
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq must be an unsigned integer, got ${seq}`);
    this.nextSeq.set(avatar, seq + 1);
    return frameData(avatar, seq, options.t ?? Date.now(), positions);
  }

  private queueWhileNotReady(frames: readonly FrameData[]): void {
    this.pending.push(...frames);
    const excess = this.pending.length - this.maxQueuedFrames;
    if (excess > 0) {
      this.pending.splice(0, excess);
      this.stats.framesDropped += excess;
    }
  }

  private sendFrames(frames: readonly FrameData[], single: boolean): number {
    if (frames.length === 0 || !this.ingest) return 0;
    if (this.ingest.bufferedAmount > this.maxBufferedBytes) {
      // Live motion: a late frame is worth less than a fresh one; the server interpolates short gaps.
      this.stats.framesDropped += frames.length;
      return 0;
    }
    const limits: Limits = this.readyMessage?.limits ?? DEFAULT_LIMITS;
    let sent = 0;
    if (single && frames.length === 1) {
      if (this.ingest.send(encodeMessage(frameMessage(frames[0]!)))) sent = 1;
    } else {
      for (const chunk of chunkFrames(frames, limits)) {
        if (!this.ingest.send(encodeMessage(framesMessage(chunk)))) break;
        sent += chunk.length;
      }
    }
    this.stats.framesSent += sent;
    if (sent < frames.length) this.queueWhileNotReady(frames.slice(sent));
    return sent;
  }

  private opened(channel: Channel): void {
    if (channel.name === 'ingest' && this.publishOptions !== false) {
      this.readyMessage = null;
      channel.send(encodeMessage(helloMessage(this.publishOptions)));
    } else if (channel.name === 'alerts') {
      this.subscribedMessage = null;
      this.sendSubscribe(channel);
    }
  }

  private sendSubscribe(channel: Channel): void {
    if (this.subscribeOptions === false) return;
    const { format, ...rest } = this.subscribeOptions;
    const message: SubscribeMessage = { type: 'subscribe', ...rest };
    channel.send(format === 'json' ? JSON.stringify(message) : encodeMessage(message));
  }

  private received(channel: Channel, data: unknown): void {
    let message: ServerMessage;
    try {
      if (typeof data !== 'string' && !(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) throw new MessageDecodeError('unexpected payload type');
      message = decodeServerMessage(data);
    } catch (error) {
      if (!(error instanceof MessageDecodeError)) throw error;
      // Unknown future message types (and garbage) are ignored, as the protocol asks of clients.
      this.stats.messagesIgnored++;
      return;
    }
    this.stats.messagesReceived++;
    switch (message.type) {
      case 'ready':
        this.readyMessage = message;
        channel.markReady();
        this.emit('ready', message);
        this.flush();
        return;
      case 'subscribed':
        this.subscribedMessage = message;
        channel.markReady();
        this.emit('subscribed', message);
        return;
      case 'alert':
        this.emit('alert', message);
        return;
      case 'scores':
        this.emit('scores', message);
        return;
      case 'error':
        this.emit('serverError', { ...message, channel: channel.name });
        return;
    }
  }
}

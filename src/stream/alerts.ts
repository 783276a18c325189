/**
 * Subscribers (GET /v1/alerts): each sends `subscribe` (msgpack, or JSON text; `?format=json`
 * on the URL forces JSON) and then receives the `alert`s of the avatars it asked for and,
 * when asked, a `scores` message per tick. Each message is encoded once per format. A slow
 * subscriber loses `scores` messages (never alerts) while its send buffer is full, and is
 * closed when even alerts no longer fit.
 */
import type { Decoder } from '@msgpack/msgpack';
import type { Subscription as RxSubscription } from 'rxjs';
import { Rejection, createDecoder, decodeJsonMessage, decodeMessage, encodeMessage, parseSubscribe, type Subscription } from './codec.js';
import { MAX_BUFFERED_FOR_REPLIES, closeReason, type Connection } from './connection.js';
import type { Detector } from './detector.js';
import { silentLogger, type Logger } from './log.js';
import type { Metrics } from './metrics.js';
import {
  CLOSE_POLICY_VIOLATION,
  CLOSE_TRY_AGAIN_LATER,
  PROTOCOL_VERSION,
  type AlertMessage,
  type Limits,
  type MessageFormat,
  type ScoresMessage,
  type ServerMessage,
  type SubscribedMessage,
} from './protocol.js';

/** While a subscriber has this much queued, its `scores` messages are dropped. */
export const MAX_BUFFERED_FOR_SCORES = 1 << 20;
/** A subscriber with this much queued is closed: it cannot keep up even with alerts. */
export const MAX_BUFFERED_FOR_ALERTS = 16 << 20;

export interface AlertHubOptions {
  readonly detector: Detector;
  readonly limits: Limits;
  readonly maxConsecutiveErrors: number;
  readonly maxSubscribers: number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
}

/** A message encoded lazily, at most once per format. */
class Encoded {
  private msgpack: Uint8Array | undefined;
  private json: string | undefined;

  constructor(private readonly message: ServerMessage) {}

  as(format: MessageFormat): Uint8Array | string {
    if (format === 'json') return (this.json ??= encodeMessage(this.message, 'json') as string);
    return (this.msgpack ??= encodeMessage(this.message, 'msgpack') as Uint8Array);
  }
}

export class SubscriberSession {
  private subscription: Subscription | null = null;
  private avatarSet: ReadonlySet<string> | null = null;
  private consecutiveBad = 0;
  private closed = false;

  constructor(
    private readonly hub: AlertHub,
    private readonly connection: Connection,
    /** Set by the URL (`?format=json`), else by the first message's framing. */
    private format: MessageFormat | null,
  ) {}

  get wantsScores(): boolean {
    return this.subscription?.scores ?? false;
  }

  get subscribed(): boolean {
    return this.subscription !== null;
  }

  /** Whether every avatar is of interest (the shared scores message fits as is). */
  get all(): boolean {
    return this.subscription !== null && this.subscription.avatars === null && this.subscription.prefix === null;
  }

  matches(avatar: string): boolean {
    const s = this.subscription;
    if (!s) return false;
    if (s.avatars === null && s.prefix === null) return true;
    return (this.avatarSet?.has(avatar) ?? false) || (s.prefix !== null && avatar.startsWith(s.prefix));
  }

  receive(data: Uint8Array | string, isBinary: boolean): void {
    if (this.closed) return;
    const { limits, metrics } = this.hub.options;
    metrics?.messagesReceived.labels('alerts').inc();
    const text = !isBinary || typeof data === 'string';
    this.format ??= text ? 'json' : 'msgpack';
    const envelope = text ? decodeJsonMessage(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'), limits) : decodeMessage(data, limits, this.hub.decoder);
    if (envelope instanceof Rejection) return this.reject(envelope);
    if (envelope.type !== 'subscribe') return this.reject(new Rejection('unknown_type', `unknown message type '${envelope.type.slice(0, 64)}' on the alerts path (expected subscribe)`));
    const subscription = parseSubscribe(envelope.body, limits);
    if (subscription instanceof Rejection) return this.reject(subscription);
    this.consecutiveBad = 0;
    this.subscription = subscription;
    this.avatarSet = subscription.avatars ? new Set(subscription.avatars) : null;
    const { detector } = this.hub.options;
    const reply: SubscribedMessage = {
      type: 'subscribed',
      v: PROTOCOL_VERSION,
      avatars: subscription.avatars,
      prefix: subscription.prefix,
      scores: subscription.scores,
      format: this.format,
      fps: detector.fps,
      jointNames: detector.jointNames,
      thresholds: { ...detector.thresholds },
    };
    this.send(encodeMessage(reply, this.format));
    this.hub.subscriptionsChanged();
  }

  /** Sends an alert (or scores) if this subscriber wants it; false when it was dropped for backpressure. */
  deliver(encoded: Encoded, droppable: boolean): boolean {
    const buffered = this.connection.bufferedAmount;
    if (buffered > MAX_BUFFERED_FOR_ALERTS) {
      this.close(CLOSE_POLICY_VIOLATION, `subscriber too slow: more than ${MAX_BUFFERED_FOR_ALERTS} bytes queued`);
      return false;
    }
    if (droppable && buffered > MAX_BUFFERED_FOR_SCORES) return false;
    this.send(encoded.as(this.format ?? 'msgpack'));
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.close(code, closeReason(reason));
  }

  private send(data: Uint8Array | string): void {
    this.connection.send(data);
  }

  private reject(rejection: Rejection): void {
    const { metrics, maxConsecutiveErrors } = this.hub.options;
    metrics?.protocolErrors.labels(rejection.code).inc();
    if (this.connection.bufferedAmount <= MAX_BUFFERED_FOR_REPLIES) this.send(encodeMessage(rejection.toMessage(), this.format ?? 'msgpack'));
    if (++this.consecutiveBad > maxConsecutiveErrors) {
      metrics?.connectionsClosedForErrors.inc();
      this.close(CLOSE_POLICY_VIOLATION, `too many consecutive bad messages (${this.consecutiveBad})`);
    }
  }
}

export class AlertHub {
  readonly decoder: Decoder;
  private readonly sessions = new Set<SubscriberSession>();
  private readonly alertSubscription: RxSubscription;
  private scoresSubscription: RxSubscription | null = null;
  private readonly logger: Logger;

  constructor(readonly options: AlertHubOptions) {
    this.decoder = createDecoder(options.limits);
    this.logger = options.logger ?? silentLogger;
    this.alertSubscription = options.detector.alerts$.subscribe((alert) => this.publishAlert(alert));
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new subscriber connection; null (and the connection closed with 1013) when the hub is full. */
  attach(connection: Connection, format: MessageFormat | null): SubscriberSession | null {
    if (this.sessions.size >= this.options.maxSubscribers) {
      this.options.metrics?.protocolErrors.labels('too_many_subscribers').inc();
      connection.send(encodeMessage(new Rejection('too_many_subscribers', `the server holds ${this.options.maxSubscribers} subscribers`).toMessage(), format ?? 'msgpack'));
      connection.close(CLOSE_TRY_AGAIN_LATER, 'too many subscribers');
      return null;
    }
    const session = new SubscriberSession(this, connection, format);
    this.sessions.add(session);
    this.options.metrics?.subscribers.set(this.sessions.size);
    return session;
  }

  detach(session: SubscriberSession): void {
    if (!this.sessions.delete(session)) return;
    this.options.metrics?.subscribers.set(this.sessions.size);
    this.subscriptionsChanged();
  }

  /** Listens to per-tick scores only while some subscriber wants them (the detector skips building them otherwise). */
  subscriptionsChanged(): void {
    const wanted = [...this.sessions].some((s) => s.wantsScores);
    if (wanted && !this.scoresSubscription) {
      this.scoresSubscription = this.options.detector.scores$.subscribe((scores) => this.publishScores(scores));
    } else if (!wanted && this.scoresSubscription) {
      this.scoresSubscription.unsubscribe();
      this.scoresSubscription = null;
    }
  }

  /** Closes every subscriber connection (server shutdown) and stops listening. */
  close(code: number, reason: string): void {
    this.alertSubscription.unsubscribe();
    this.scoresSubscription?.unsubscribe();
    this.scoresSubscription = null;
    for (const session of this.sessions) session.close(code, reason);
    this.sessions.clear();
    this.options.metrics?.subscribers.set(0);
  }

  private publishAlert(alert: AlertMessage): void {
    const encoded = new Encoded(alert);
    for (const session of this.sessions) if (session.matches(alert.avatar)) session.deliver(encoded, false);
  }

  private publishScores(scores: ScoresMessage): void {
    let shared: Encoded | null = null;
    for (const session of this.sessions) {
      if (!session.wantsScores) continue;
      let encoded: Encoded;
      if (session.all) {
        encoded = shared ??= new Encoded(scores);
      } else {
        const avatars = scores.avatars.filter((a) => session.matches(a.avatar));
        if (avatars.length === 0) continue;
        encoded = new Encoded({ ...scores, avatars });
      }
      if (!session.deliver(encoded, true)) {
        this.options.metrics?.subscriberMessagesDropped.inc();
        this.logger.debug('scores message dropped for a slow subscriber');
      }
    }
  }
}

/**
 * Prometheus metrics of the streaming server, in their own registry: `motionguard_` names,
 * base units (seconds), `_total` counters, labels with a few fixed values (never an avatar
 * id). The process and Node.js defaults (process_*, nodejs_*) keep their standard names so
 * stock dashboards work.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_CODES } from './protocol.js';

export const FRAME_RESULTS = ['accepted', 'rejected', 'duplicate', 'out_of_order'] as const;
export type FrameResult = (typeof FRAME_RESULTS)[number];

/** Why frames never reached the scorer, or were lost after it. */
export const DROP_REASONS = ['duplicate', 'out_of_order', 'backlog', 'window_restart', 'scorer_error', 'shutdown'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export const TICK_RESULTS = ['scored', 'coalesced', 'idle', 'failed'] as const;
export type TickResult = (typeof TICK_RESULTS)[number];

export const RESTART_REASONS = ['gap', 'seq_reset', 'fps_change', 'backlog'] as const;

// 0.25 s is a bucket edge: the latency budget the benchmark holds servers to.
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1, 1.5, 2.5, 5, 10];
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ALERT_LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 12, 20, 30];

export interface MetricsOptions {
  /** Also collect process and Node.js metrics (off in tests that build many registries). Default true. */
  readonly defaultMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();

  readonly framesReceived = new Counter({
    name: 'motionguard_frames_received_total',
    help: 'Frames received from publishers, by what became of them at intake.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly framesDropped = new Counter({
    name: 'motionguard_frames_dropped_total',
    help: 'Frames that were never scored, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly framesInterpolated = new Counter({
    name: 'motionguard_frames_interpolated_total',
    help: 'Missing publisher frames filled by linear interpolation (small seq gaps).',
    registers: [this.registry],
  });
  readonly framesScored = new Counter({
    name: 'motionguard_frames_scored_total',
    help: 'Frames scored by the model (at the model fps).',
    registers: [this.registry],
  });
  readonly windowRestarts = new Counter({
    name: 'motionguard_window_restarts_total',
    help: "Avatar windows started over (scorer state forgotten), by reason.",
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly protocolErrors = new Counter({
    name: 'motionguard_protocol_errors_total',
    help: 'Error replies (and refusals) by protocol error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly messagesReceived = new Counter({
    name: 'motionguard_messages_received_total',
    help: 'WebSocket messages received, by endpoint.',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  readonly connectionsClosedForErrors = new Counter({
    name: 'motionguard_connections_closed_for_errors_total',
    help: 'Connections closed (1008) after too many consecutive bad messages.',
    registers: [this.registry],
  });
  readonly activeAvatars = new Gauge({
    name: 'motionguard_active_avatars',
    help: 'Avatars with state on the server (not yet evicted).',
    registers: [this.registry],
  });
  readonly alertingAvatars = new Gauge({
    name: 'motionguard_alerting_avatars',
    help: 'Avatars in an open anomaly episode.',
    registers: [this.registry],
  });
  readonly publishers = new Gauge({
    name: 'motionguard_publishers',
    help: 'Open publisher (ingest) connections.',
    registers: [this.registry],
  });
  readonly subscribers = new Gauge({
    name: 'motionguard_subscribers',
    help: 'Open subscriber (alerts) connections.',
    registers: [this.registry],
  });
  readonly subscriberMessagesDropped = new Counter({
    name: 'motionguard_subscriber_messages_dropped_total',
    help: 'Scores messages not sent to a subscriber whose send buffer was full.',
    registers: [this.registry],
  });
  readonly ticks = new Counter({
    name: 'motionguard_ticks_total',
    help: 'Scoring ticks by result: scored, idle (nothing new), coalesced (skipped while inference ran), failed.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly tickDuration = new Histogram({
    name: 'motionguard_tick_duration_seconds',
    help: 'Wall time of one scoring tick (batching, inference, online rule, fan-out).',
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly inferenceDuration = new Histogram({
    name: 'motionguard_inference_duration_seconds',
    help: 'Wall time of the one batched model call of a tick.',
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly batchAvatars = new Histogram({
    name: 'motionguard_batch_avatars',
    help: 'Avatars in one batched model call.',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
    registers: [this.registry],
  });
  readonly batchFrames = new Histogram({
    name: 'motionguard_batch_frames',
    help: 'New frames in one batched model call.',
    buckets: [1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000],
    registers: [this.registry],
  });
  readonly frameToScoreLatency = new Histogram({
    name: 'motionguard_frame_to_score_latency_seconds',
    help: "From a frame's receipt to its score being available.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly alertLatency = new Histogram({
    name: 'motionguard_alert_latency_seconds',
    help: 'From the receipt of the first over-threshold frame of an episode to its start alert.',
    buckets: ALERT_LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly alerts = new Counter({
    name: 'motionguard_alerts_total',
    help: 'Alerts sent, by state (start, end).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor(options: MetricsOptions = {}) {
    // Every fixed label value starts at zero, so rates and dashboards see it before it happens.
    for (const result of FRAME_RESULTS) this.framesReceived.labels(result).inc(0);
    for (const reason of DROP_REASONS) this.framesDropped.labels(reason).inc(0);
    for (const reason of RESTART_REASONS) this.windowRestarts.labels(reason).inc(0);
    for (const code of ERROR_CODES) this.protocolErrors.labels(code).inc(0);
    for (const endpoint of ['ingest', 'alerts']) this.messagesReceived.labels(endpoint).inc(0);
    for (const result of TICK_RESULTS) this.ticks.labels(result).inc(0);
    for (const state of ['start', 'end']) this.alerts.labels(state).inc(0);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The exposition text for GET /metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

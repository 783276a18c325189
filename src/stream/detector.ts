/**
 * The streaming pipeline without sockets, shared by the server and `score --replay`:
 * frames in (ingest), and at each tick ONE batched scorer call over every avatar with new
 * frames, the online rule per avatar, and alert and score events out. Time comes from a
 * clock the caller chooses (wall time in the server, virtual time in replay).
 */
import { Subject, type Observable } from 'rxjs';
import type { AvatarFrames, AvatarScores, StreamingScorer } from '../model/streaming-scorer.js';
import type { Thresholds } from '../model/types.js';
import type { ServerConfig } from './config.js';
import { AvatarBuffer, type AvatarBufferListener, type PushResult } from './avatar-buffer.js';
import { silentLogger, type Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { OnlineRule, type EpisodeEvent } from './online-rule.js';
import type { AlertMessage, AvatarScore, EndCause, ScoresMessage } from './protocol.js';

/** The online rule's and buffers' settings of a server configuration: the server and replay decide alike. */
export function detectorSettingsFrom(config: ServerConfig): Omit<DetectorOptions, 'scorer' | 'clock' | 'metrics' | 'logger' | 'maxAvatars'> {
  return {
    minFrames: config.minFrames,
    fractionFloorFrames: config.fractionFloorFrames ?? undefined,
    spikeHoldFrames: config.spikeHoldFrames,
    endAfterSeconds: config.endAfterSeconds,
    endFractionRatio: config.endFractionRatio,
    sustainedRunSeconds: config.sustainedRunSeconds,
    evictAfterSeconds: config.evictAfterSeconds,
    maxGapSeconds: config.maxGapSeconds,
    maxPendingFrames: config.maxPendingFrames ?? undefined,
  };
}

export interface DetectorOptions {
  readonly scorer: StreamingScorer;
  /** Frames in the window before the rule decides. Default 30. */
  readonly minFrames?: number;
  /** The online fraction's denominator is at least this many frames. Default: the scorer's (then the rule's default). */
  readonly fractionFloorFrames?: number;
  /** Frames a spike keeps an avatar active. Default 30. */
  readonly spikeHoldFrames?: number;
  /** Inactive time before an episode ends, counted in frames at the scorer fps. Default 2. */
  readonly endAfterSeconds?: number;
  /** While alerting, the fraction arm holds down to this share of the fraction threshold. Default 0.5. */
  readonly endFractionRatio?: number;
  /** The fraction arm starts an episode only after a run of over-threshold frames this long, counted in frames at the scorer fps. Default 1. */
  readonly sustainedRunSeconds?: number;
  /** Avatars without an accepted frame for this long are forgotten. Default 10. */
  readonly evictAfterSeconds?: number;
  /** Frames further apart than this restart the avatar's window. Default 1. */
  readonly maxGapSeconds?: number;
  /** New frames held per avatar between ticks. Default: the scorer's window. */
  readonly maxPendingFrames?: number;
  /** Avatars held at once. Default 10,000. */
  readonly maxAvatars?: number;
  /** Milliseconds; Date.now by default. */
  readonly clock?: () => number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
}

export type IngestResult = PushResult | 'too_many_avatars';

export interface TickSummary {
  readonly result: 'scored' | 'idle' | 'failed';
  readonly avatars: number;
  readonly frames: number;
}

/** Every frame scored in one tick for one avatar (for replay); emitted only while observed. */
export interface ScoredFrames {
  readonly avatar: string;
  readonly frames: number;
  readonly seqs: Float64Array;
  readonly frameScores: Float32Array;
  /** frames x J */
  readonly jointScores: Float32Array;
  /** Highest decided online fraction of this avatar so far. */
  readonly peakFraction: number;
}

export interface AvatarSnapshot {
  readonly avatar: string;
  readonly state: 'warming_up' | 'normal' | 'alerting';
  readonly windowFill: number;
  readonly windowFrames: number;
  readonly fraction: number;
  readonly decided: boolean;
  readonly alerting: boolean;
  readonly episode: number | null;
  readonly lastSeq: number;
  readonly lastReceivedAt: number;
  readonly pendingFrames: number;
  readonly sourceFps: number;
  /** Score of the newest scored frame (null before the first). */
  readonly frameScore: number | null;
}

class AvatarState {
  episodeId = 0;
  latestFrameScore: number | null = null;

  constructor(
    readonly avatar: string,
    readonly buffer: AvatarBuffer,
    readonly rule: OnlineRule,
  ) {}
}

export class Detector {
  readonly fps: number;
  readonly windowFrames: number;
  readonly jointNames: readonly string[];
  readonly thresholds: Thresholds;

  private readonly scorer: StreamingScorer;
  private readonly clock: () => number;
  private readonly metrics: Metrics | undefined;
  private readonly logger: Logger;
  private readonly valuesPerFrame: number;
  private readonly endAfterFrames: number;
  private readonly evictAfterMs: number;
  private readonly maxAvatars: number;
  private readonly bufferOptions: { targetFps: number; maxGapSeconds: number; maxPendingFrames: number; valuesPerFrame: number };
  private readonly bufferListener: AvatarBufferListener;

  private readonly avatars = new Map<string, AvatarState>();
  private readonly alertSubject = new Subject<AlertMessage>();
  private readonly scoresSubject = new Subject<ScoresMessage>();
  private readonly scoredSubject = new Subject<ScoredFrames>();
  private episodeCounter = 0;
  private alertingCount = 0;
  private queue: Promise<unknown> = Promise.resolve();

  /** Start and end alerts, in the order they happen. */
  readonly alerts$: Observable<AlertMessage> = this.alertSubject.asObservable();
  /** One message per scored tick (built only while someone listens). */
  readonly scores$: Observable<ScoresMessage> = this.scoresSubject.asObservable();
  /** Every scored frame (built only while someone listens). */
  readonly scoredFrames$: Observable<ScoredFrames> = this.scoredSubject.asObservable();

  constructor(private readonly options: DetectorOptions) {
    const { scorer } = options;
    this.scorer = scorer;
    this.fps = scorer.fps;
    this.windowFrames = scorer.windowFrames;
    this.jointNames = scorer.jointNames;
    this.thresholds = scorer.thresholds;
    this.clock = options.clock ?? Date.now;
    this.metrics = options.metrics;
    this.logger = options.logger ?? silentLogger;
    this.valuesPerFrame = scorer.jointNames.length * 3;
    this.endAfterFrames = Math.max(1, Math.round((options.endAfterSeconds ?? 2) * scorer.fps));
    this.evictAfterMs = (options.evictAfterSeconds ?? 10) * 1000;
    this.maxAvatars = options.maxAvatars ?? 10_000;
    this.bufferOptions = {
      targetFps: scorer.fps,
      maxGapSeconds: options.maxGapSeconds ?? 1,
      maxPendingFrames: options.maxPendingFrames ?? scorer.windowFrames,
      valuesPerFrame: this.valuesPerFrame,
    };
    // Fail now, not at the first frame, on settings the rule or the buffers cannot take.
    void this.newRule();
    if (!(this.bufferOptions.maxPendingFrames >= 1)) throw new Error(`maxPendingFrames must be at least 1, got ${this.bufferOptions.maxPendingFrames}`);
    if (!(this.bufferOptions.maxGapSeconds > 0)) throw new Error(`maxGapSeconds must be positive, got ${this.bufferOptions.maxGapSeconds}`);
    const metrics = this.metrics;
    this.bufferListener = metrics
      ? {
          framesInterpolated: (n) => metrics.framesInterpolated.inc(n),
          windowRestarted: (reason) => metrics.windowRestarts.labels(reason).inc(),
          framesDropped: (reason, n) => metrics.framesDropped.labels(reason).inc(n),
        }
      : {};
  }

  get avatarCount(): number {
    return this.avatars.size;
  }

  /**
   * One frame of one avatar: canonical joints in metres (J x 3 numbers from positions[offset]),
   * `seq` counted at `sourceFps`. Validation of the numbers is the caller's job (see codec.ts).
   */
  ingest(avatar: string, seq: number, positions: ArrayLike<number>, sourceFps: number = this.fps, receivedAt: number = this.clock(), offset = 0): IngestResult {
    let state = this.avatars.get(avatar);
    if (!state) {
      if (this.avatars.size >= this.maxAvatars) return 'too_many_avatars';
      state = new AvatarState(avatar, new AvatarBuffer(this.bufferOptions, sourceFps, this.bufferListener), this.newRule());
      this.avatars.set(avatar, state);
      this.metrics?.activeAvatars.set(this.avatars.size);
    }
    const result = state.buffer.push(seq, positions, receivedAt, sourceFps, offset);
    if (result === 'duplicate' || result === 'out_of_order') this.metrics?.framesDropped.labels(result).inc();
    return result;
  }

  /**
   * Evicts silent avatars, then scores every avatar's new frames in one batched call and runs
   * the online rule on them. Ticks never overlap: a call made while one runs waits for it.
   */
  tick(now?: number): Promise<TickSummary> {
    const run = this.queue.then(() => this.runTick(now ?? this.clock()));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Ends every open episode (server shutdown); waits for a running tick first. */
  async finishAll(cause: EndCause = 'shutdown'): Promise<void> {
    await this.queue;
    const time = Math.round(this.clock());
    for (const state of this.avatars.values()) {
      const event = state.rule.finish(cause);
      if (event) this.emitAlert(state, event, time);
    }
  }

  /** Frames waiting for a tick, over all avatars. */
  get pendingFrames(): number {
    let n = 0;
    for (const state of this.avatars.values()) n += state.buffer.pendingFrames;
    return n;
  }

  snapshot(): AvatarSnapshot[] {
    return [...this.avatars.values()].map((state) => {
      const { rule, buffer } = state;
      return {
        avatar: state.avatar,
        state: rule.alerting ? 'alerting' : rule.decided ? 'normal' : 'warming_up',
        windowFill: rule.windowFill,
        windowFrames: this.windowFrames,
        fraction: rule.fraction,
        decided: rule.decided,
        alerting: rule.alerting,
        episode: rule.alerting ? state.episodeId : null,
        lastSeq: buffer.lastSeq,
        lastReceivedAt: buffer.lastReceivedAt,
        pendingFrames: buffer.pendingFrames,
        sourceFps: buffer.sourceFps,
        frameScore: state.latestFrameScore,
      };
    });
  }

  private newRule(): OnlineRule {
    return new OnlineRule({
      windowFrames: this.windowFrames,
      thresholds: this.thresholds,
      jointNames: this.jointNames,
      minFrames: this.options.minFrames,
      fractionFloorFrames: this.options.fractionFloorFrames ?? this.options.scorer.fractionFloorFrames,
      spikeHoldFrames: this.options.spikeHoldFrames,
      endAfterFrames: this.endAfterFrames,
      endFractionRatio: this.options.endFractionRatio,
      sustainedRunFrames: this.options.sustainedRunSeconds === undefined ? undefined : Math.round(this.options.sustainedRunSeconds * this.fps),
    });
  }

  /** Completes the observables; the scorer is the caller's to close. */
  close(): void {
    this.alertSubject.complete();
    this.scoresSubject.complete();
    this.scoredSubject.complete();
  }

  private async runTick(now: number): Promise<TickSummary> {
    const started = performance.now();
    const forget: string[] = this.evict(now);
    const batch: AvatarFrames[] = [];
    const states: AvatarState[] = [];
    const seqs: Float64Array[] = [];
    const receivedAt: Float64Array[] = [];
    let frames = 0;
    for (const state of this.avatars.values()) {
      const taken = state.buffer.take();
      if (!taken) continue;
      if (taken.restart) {
        forget.push(state.avatar);
        state.rule.reset();
      }
      batch.push({ avatar: state.avatar, frames: taken.frames, positions: taken.positions });
      states.push(state);
      seqs.push(taken.seqs);
      receivedAt.push(taken.receivedAt);
      frames += taken.frames;
    }
    if (forget.length > 0) this.scorer.forget(forget);
    const metrics = this.metrics;
    if (batch.length === 0) {
      metrics?.ticks.labels('idle').inc();
      return { result: 'idle', avatars: 0, frames: 0 };
    }

    let results: AvatarScores[];
    const inferenceStarted = performance.now();
    try {
      results = await this.scorer.scoreNewFrames(batch);
      if (results.length !== batch.length) throw new Error(`scorer returned ${results.length} results for ${batch.length} avatars`);
    } catch (error) {
      this.logger.error('scoring failed; the frames of this tick are lost', { error, avatars: batch.length, frames });
      metrics?.framesDropped.labels('scorer_error').inc(frames);
      metrics?.ticks.labels('failed').inc();
      return { result: 'failed', avatars: batch.length, frames };
    }
    const scoredAt = this.clock();
    if (metrics) {
      metrics.inferenceDuration.observe((performance.now() - inferenceStarted) / 1000);
      metrics.batchAvatars.observe(batch.length);
      metrics.batchFrames.observe(frames);
      metrics.framesScored.inc(frames);
    }

    const J = this.jointNames.length;
    const wantScores = this.scoresSubject.observed;
    const wantFrames = this.scoredSubject.observed;
    const tickScores: AvatarScore[] = [];
    const time = Math.round(scoredAt);
    for (let i = 0; i < batch.length; i++) {
      const state = states[i]!;
      const { frameScores, jointScores } = results[i]!;
      const n = batch[i]!.frames;
      const frameSeqs = seqs[i]!;
      const frameReceivedAt = receivedAt[i]!;
      let peak = 0;
      for (let f = 0; f < n; f++) {
        const score = frameScores[f]!;
        if (score > frameScores[peak]!) peak = f;
        metrics?.frameToScoreLatency.observe(Math.max(0, scoredAt - frameReceivedAt[f]!) / 1000);
        const event = state.rule.push(score, jointScores, f * J, frameSeqs[f]!, frameReceivedAt[f]!);
        if (event) this.emitAlert(state, event, time);
      }
      state.latestFrameScore = frameScores[n - 1]!;
      if (wantScores) {
        tickScores.push({
          avatar: state.avatar,
          seq: frameSeqs[n - 1]!,
          frames: n,
          frameScore: frameScores[peak]!,
          jointScores: Array.from(jointScores.subarray(peak * J, (peak + 1) * J)),
          fraction: state.rule.fraction,
          alerting: state.rule.alerting,
        });
      }
      if (wantFrames) {
        this.scoredSubject.next({ avatar: state.avatar, frames: n, seqs: frameSeqs, frameScores, jointScores, peakFraction: state.rule.peakFraction });
      }
    }
    if (wantScores) this.scoresSubject.next({ type: 'scores', time, avatars: tickScores });
    metrics?.ticks.labels('scored').inc();
    metrics?.tickDuration.observe((performance.now() - started) / 1000);
    return { result: 'scored', avatars: batch.length, frames };
  }

  /** Forgets avatars silent for evictAfterSeconds (ending their open episodes); returns their ids. */
  private evict(now: number): string[] {
    const evicted: string[] = [];
    for (const state of this.avatars.values()) {
      if (state.buffer.pendingFrames > 0 || now - state.buffer.lastReceivedAt <= this.evictAfterMs) continue;
      const event = state.rule.finish('evicted');
      if (event) this.emitAlert(state, event, Math.round(now));
      this.avatars.delete(state.avatar);
      evicted.push(state.avatar);
    }
    if (evicted.length > 0) {
      this.metrics?.activeAvatars.set(this.avatars.size);
      this.logger.debug('avatars evicted', { count: evicted.length });
    }
    return evicted;
  }

  private emitAlert(state: AvatarState, event: EpisodeEvent, time: number): void {
    if (event.state === 'start') {
      state.episodeId = ++this.episodeCounter;
      this.alertingCount++;
    } else {
      this.alertingCount--;
    }
    const alert: AlertMessage = {
      type: 'alert',
      avatar: state.avatar,
      state: event.state,
      time,
      seq: event.seq,
      fraction: event.fraction,
      sequenceScore: event.sequenceScore,
      frameScore: event.frameScore,
      topJoints: event.topJoints,
      episode: state.episodeId,
      reason: event.reason,
      ...(event.cause === undefined ? {} : { cause: event.cause }),
      ...(event.frames === undefined ? {} : { frames: event.frames }),
    };
    const metrics = this.metrics;
    if (metrics) {
      metrics.alerts.labels(event.state).inc();
      metrics.alertingAvatars.set(this.alertingCount);
      if (event.state === 'start' && Number.isFinite(event.onsetReceivedAt)) metrics.alertLatency.observe(Math.max(0, time - event.onsetReceivedAt) / 1000);
    }
    const { type: _type, ...fields } = alert;
    this.logger.info(`episode ${event.state}`, { event: 'episode', ...fields, onsetSeq: event.onsetSeq });
    this.alertSubject.next(alert);
  }
}

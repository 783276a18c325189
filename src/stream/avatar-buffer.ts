/**
 * One avatar's incoming frames, before scoring (pure, no I/O): orders them by seq (duplicates
 * and stale frames dropped), fills small gaps by linear interpolation, restarts the window
 * after a long gap, resamples online from the publisher's fps to the scorer's, and holds a
 * bounded queue of new frames until the next tick takes them.
 *
 * Time is seq / fps: source frame s lies at (s - s0) / sourceFps seconds from the window's
 * first frame s0, output frame k at k / targetFps. Output frame k is emitted as soon as the
 * first source frame at or after its time arrives, interpolated with the frame before it,
 * exactly as resampleMotion (src/model/resample.ts) does offline.
 */

/** Why an avatar's window started over (its scorer state must be forgotten). */
export type RestartReason = 'gap' | 'seq_reset' | 'fps_change' | 'backlog';

export type PushResult = 'accepted' | 'duplicate' | 'out_of_order';

export interface AvatarBufferOptions {
  /** The scorer's fps: output frames are at this rate. */
  readonly targetFps: number;
  /** Two consecutive frames further apart than this (or a seq this far backwards) restart the window. */
  readonly maxGapSeconds: number;
  /** New frames held before a tick takes them; on overflow they are dropped and the window restarts. */
  readonly maxPendingFrames: number;
  /** Numbers per frame: joints x 3. */
  readonly valuesPerFrame: number;
}

/** What the buffer tells its owner (metrics), avatar-agnostic. */
export interface AvatarBufferListener {
  framesInterpolated?(count: number): void;
  windowRestarted?(reason: RestartReason): void;
  framesDropped?(reason: 'backlog' | 'window_restart', count: number): void;
}

/** Frames taken for one scorer call. */
export interface PendingFrames {
  readonly frames: number;
  /** frames x valuesPerFrame, a copy the caller owns. */
  readonly positions: Float32Array;
  /** Seq of the source frame that completed each output frame. */
  readonly seqs: Float64Array;
  /** When that source frame was received (clock ms). */
  readonly receivedAt: Float64Array;
  /** A new window begins with these frames: forget the avatar in the scorer first. */
  readonly restart: boolean;
}

const EPSILON = 1e-9;
const INITIAL_CAPACITY = 16;

export class AvatarBuffer {
  private sourceFpsValue: number;
  /** Source frames per output frame. */
  private ratio: number;
  private started = false;
  private windowStartSeq = 0;
  private lastSeqValue = -1;
  private readonly previous: Float32Array;
  /** Index (from the window start) of the next output frame to emit. */
  private nextOutput = 0;
  private lastReceivedAtValue = 0;

  private capacity = 0;
  private count = 0;
  private positions = new Float32Array(0);
  private seqs = new Float64Array(0);
  private receivedAt = new Float64Array(0);
  /** Pending index where a new window begins (-1: none). */
  private restartAt = -1;

  constructor(
    private readonly options: AvatarBufferOptions,
    sourceFps: number,
    private readonly listener: AvatarBufferListener = {},
  ) {
    if (!(sourceFps > 0) || !(options.targetFps > 0)) throw new Error(`fps must be positive, got ${sourceFps} -> ${options.targetFps}`);
    this.sourceFpsValue = sourceFps;
    this.ratio = sourceFps / options.targetFps;
    this.previous = new Float32Array(options.valuesPerFrame);
  }

  get sourceFps(): number {
    return this.sourceFpsValue;
  }

  /** Newest accepted seq (-1 before the first frame). */
  get lastSeq(): number {
    return this.lastSeqValue;
  }

  get lastReceivedAt(): number {
    return this.lastReceivedAtValue;
  }

  /** Output frames waiting for a tick. */
  get pendingFrames(): number {
    return this.count;
  }

  /**
   * Adds one source frame (valuesPerFrame numbers from positions[offset]). `sourceFps` other
   * than the buffer's restarts the window at the new rate.
   */
  push(seq: number, positions: ArrayLike<number>, receivedAt: number, sourceFps = this.sourceFpsValue, offset = 0): PushResult {
    if (sourceFps !== this.sourceFpsValue) {
      this.sourceFpsValue = sourceFps;
      this.ratio = sourceFps / this.options.targetFps;
      this.startWindow(seq, positions, offset, receivedAt, this.started ? 'fps_change' : null);
      return 'accepted';
    }
    if (!this.started) {
      this.startWindow(seq, positions, offset, receivedAt, null);
      return 'accepted';
    }
    const step = seq - this.lastSeqValue;
    if (step === 0) return 'duplicate';
    if (Math.abs(step) / this.sourceFpsValue > this.options.maxGapSeconds) {
      this.startWindow(seq, positions, offset, receivedAt, step > 0 ? 'gap' : 'seq_reset');
      return 'accepted';
    }
    if (step < 0) return 'out_of_order';
    if (step > 1) this.listener.framesInterpolated?.(step - 1);
    const from = this.lastSeqValue - this.windowStartSeq;
    const to = seq - this.windowStartSeq;
    const n = this.options.valuesPerFrame;
    // Typed input (the ingest path) is copied natively: element loops over an ArrayLike are
    // polymorphic and cost ~10x more, on every frame of every avatar.
    const frame = positions instanceof Float32Array ? positions.subarray(offset, offset + n) : null;
    while (this.nextOutput * this.ratio <= to + EPSILON) {
      const w = (this.nextOutput * this.ratio - from) / (to - from);
      const slot = this.appendSlot(seq, receivedAt);
      if (w >= 1 - EPSILON) {
        if (frame) this.positions.set(frame, slot);
        else for (let d = 0; d < n; d++) this.positions[slot + d] = positions[offset + d]!;
      } else {
        for (let d = 0; d < n; d++) {
          const a = this.previous[d]!;
          this.positions[slot + d] = a + (positions[offset + d]! - a) * w;
        }
      }
      this.nextOutput++;
    }
    if (frame) this.previous.set(frame);
    else for (let d = 0; d < n; d++) this.previous[d] = positions[offset + d]!;
    this.lastSeqValue = seq;
    this.lastReceivedAtValue = receivedAt;
    return 'accepted';
  }

  /** Moves the pending frames out (up to a window restart: the frames after it come next time). */
  take(): PendingFrames | null {
    if (this.count === 0) return null;
    const n = this.options.valuesPerFrame;
    const restart = this.restartAt === 0;
    const frames = this.restartAt > 0 ? this.restartAt : this.count;
    const taken: PendingFrames = {
      frames,
      positions: this.positions.slice(0, frames * n),
      seqs: this.seqs.slice(0, frames),
      receivedAt: this.receivedAt.slice(0, frames),
      restart,
    };
    const rest = this.count - frames;
    if (rest > 0) {
      this.positions.copyWithin(0, frames * n, this.count * n);
      this.seqs.copyWithin(0, frames, this.count);
      this.receivedAt.copyWithin(0, frames, this.count);
    }
    this.count = rest;
    this.restartAt = this.restartAt > 0 ? 0 : -1;
    return taken;
  }

  private startWindow(seq: number, positions: ArrayLike<number>, offset: number, receivedAt: number, reason: RestartReason | null): void {
    if (reason !== null) this.markRestart(reason);
    const n = this.options.valuesPerFrame;
    this.started = true;
    this.windowStartSeq = seq;
    this.lastSeqValue = seq;
    this.lastReceivedAtValue = receivedAt;
    for (let d = 0; d < n; d++) this.previous[d] = positions[offset + d]!;
    const slot = this.appendSlot(seq, receivedAt);
    this.positions.set(this.previous, slot);
    this.nextOutput = 1;
  }

  private markRestart(reason: RestartReason): void {
    this.listener.windowRestarted?.(reason);
    if (this.restartAt >= 0) {
      // A second restart before the tick: the short window in between is abandoned.
      const abandoned = this.count - this.restartAt;
      if (abandoned > 0) this.listener.framesDropped?.('window_restart', abandoned);
      this.count = this.restartAt;
    } else {
      this.restartAt = this.count;
    }
  }

  /** Index in `positions` of a new pending frame; on overflow, drops the queue and restarts the window. */
  private appendSlot(seq: number, receivedAt: number): number {
    if (this.count >= this.options.maxPendingFrames) {
      this.listener.framesDropped?.('backlog', this.count);
      this.listener.windowRestarted?.('backlog');
      this.count = 0;
      this.restartAt = 0;
    }
    if (this.count === this.capacity) this.grow();
    this.seqs[this.count] = seq;
    this.receivedAt[this.count] = receivedAt;
    return this.count++ * this.options.valuesPerFrame;
  }

  private grow(): void {
    const capacity = Math.min(this.options.maxPendingFrames, Math.max(INITIAL_CAPACITY, this.capacity * 2));
    const n = this.options.valuesPerFrame;
    const positions = new Float32Array(capacity * n);
    positions.set(this.positions.subarray(0, this.count * n));
    const seqs = new Float64Array(capacity);
    seqs.set(this.seqs.subarray(0, this.count));
    const receivedAt = new Float64Array(capacity);
    receivedAt.set(this.receivedAt.subarray(0, this.count));
    this.positions = positions;
    this.seqs = seqs;
    this.receivedAt = receivedAt;
    this.capacity = capacity;
  }
}

/**
 * Online scoring of one avatar (pure, no tensors): raw terms arrive a few frames at a time
 * and each new frame is scored against what has arrived, never against later frames.
 * The adaptive scales (the avatar's own median and spread of each term, see scoring.ts)
 * come from the last `windowFrames` frames' terms; they are refreshed every tick while the
 * avatar is new, every `refreshFrames` frames after that and every `fullWindowRefreshFrames`
 * once the window is full, which keeps their cost (86 selections over up to 250 values)
 * off the per-frame path. A full window's medians move slowly: 60 new frames are a quarter
 * of it. A young window's do not, which is why the shorter period stays until it fills.
 */
import { CANONICAL_JOINTS } from './skeleton.js';
import { effectiveScales, scoresWith, type EffectiveScales, type FrameLevelScores } from './scoring.js';
import { buildTerms, sliceTerms, TERM_NAMES, TERM_WIDTH } from './raw-terms.js';
import { robustScaleFast } from './stats.js';
import type { Calibration, RawClipTerms, ScoringConfig, TermScale } from './types.js';

const J = CANONICAL_JOINTS.length;

export type OnlineCalibration = Pick<Calibration, 'reconstruction' | 'nll' | 'joints' | 'bones' | 'accelerations'>;
export type OnlineWeights = Pick<ScoringConfig, 'alpha' | 'beta' | 'adaptive' | 'temporalPrior' | 'holdPrior' | 'bodyPrior'>;

export interface OnlineScoringOptions {
  readonly windowFrames: number;
  /** Refresh the adaptive scales every tick until this many frames have arrived. */
  readonly warmupFrames?: number;
  /** After warm-up, refresh them once this many new frames have arrived. */
  readonly refreshFrames?: number;
  /** Once the window is full, refresh them once this many new frames have arrived. */
  readonly fullWindowRefreshFrames?: number;
  /**
   * Frames by which this avatar's refreshes are offset (taken modulo each period), so that
   * avatars that joined together do not all pay for a refresh in the same tick (see
   * refreshPhase).
   */
  readonly refreshPhase?: number;
}

/** Whether going from `before` to `after` frames passes a frame f with (f + phase) mod period = 0. */
export function crossesPeriod(before: number, after: number, phase: number, period: number): boolean {
  return Math.floor((after + phase) / period) > Math.floor((before + phase) / period);
}

/**
 * A stable offset in [0, period) for one avatar, from the bits of its first frame (FNV-1a):
 * spreads the avatars' periodic refreshes over the ticks, yet the same frames get the same
 * offset in the server and in replay, so both make the same decisions.
 */
export function refreshPhase(firstFrame: Float32Array, period: number): number {
  const bits = new Uint32Array(firstFrame.buffer, firstFrame.byteOffset, firstFrame.length);
  let hash = 0x811c9dc5;
  for (let i = 0; i < bits.length; i++) hash = Math.imul(hash ^ bits[i]!, 0x01000193) >>> 0;
  return hash % period;
}

const EMPTY: Float32Array = new Float32Array(0);

/**
 * The last windowFrames frames of raw terms, oldest first, contiguous. Each array's buffer
 * holds twice the capacity, so the frames are shifted down once per `capacity` appended
 * frames, not at every tick (the window is 43 numbers x 250 frames per avatar).
 */
class TermsWindow implements RawClipTerms {
  frameCount = 0;
  // Views of the window's frames in `buffers`, set by expose().
  jointErrors = EMPTY;
  nll = EMPTY;
  boneDeviations = EMPTY;
  limitViolations = EMPTY;
  accelerations = EMPTY;
  holds = EMPTY;
  body = EMPTY;
  private readonly buffers: RawClipTerms;
  /** Frame index in the buffers of the window's oldest frame. */
  private start = 0;

  constructor(private readonly capacity: number) {
    this.buffers = buildTerms(2 * capacity, (_, width) => new Float32Array(2 * capacity * width));
  }

  /** Appends the terms' frames (at most capacity of them), dropping the oldest. */
  append(terms: RawClipTerms): void {
    const n = Math.min(terms.frameCount, this.capacity);
    const skip = terms.frameCount - n;
    const keep = Math.min(this.frameCount, this.capacity - n);
    const dropped = this.frameCount - keep;
    const compact = this.start + this.frameCount + n > 2 * this.capacity;
    const at = compact ? keep : this.start + this.frameCount; // where the new frames go
    for (const name of TERM_NAMES) {
      const width = TERM_WIDTH[name];
      const buffer = this.buffers[name];
      if (compact) buffer.copyWithin(0, (this.start + dropped) * width, (this.start + this.frameCount) * width);
      buffer.set(terms[name].subarray(skip * width, terms.frameCount * width), at * width);
    }
    this.start = compact ? 0 : this.start + dropped;
    this.frameCount = keep + n;
    this.expose();
  }

  private expose(): void {
    for (const name of TERM_NAMES) {
      const width = TERM_WIDTH[name];
      this[name] = this.buffers[name].subarray(this.start * width, (this.start + this.frameCount) * width);
    }
  }
}

export class OnlineScoring {
  private readonly window: TermsWindow;
  private readonly warmupFrames: number;
  private readonly refreshFrames: number;
  private readonly fullWindowRefreshFrames: number;
  private scales: EffectiveScales | null = null;
  private readonly refreshPhase: number;
  private framesSeen = 0;
  private readonly windowFrames: number;
  private readonly scratch: Float64Array;
  private readonly column: Float32Array;

  constructor(
    private readonly calibration: OnlineCalibration,
    private readonly weights: OnlineWeights,
    options: OnlineScoringOptions,
  ) {
    this.window = new TermsWindow(options.windowFrames);
    this.warmupFrames = options.warmupFrames ?? 60;
    this.refreshFrames = options.refreshFrames ?? DEFAULT_SCALE_REFRESH_FRAMES;
    this.fullWindowRefreshFrames = options.fullWindowRefreshFrames ?? DEFAULT_FULL_WINDOW_SCALE_REFRESH_FRAMES;
    this.refreshPhase = options.refreshPhase ?? 0;
    this.windowFrames = options.windowFrames;
    this.scratch = new Float64Array(options.windowFrames);
    this.column = new Float32Array(options.windowFrames);
  }

  /** Frames whose terms the adaptive scales are drawn from (at most windowFrames). */
  get windowFill(): number {
    return this.window.frameCount;
  }

  /** Scores the new frames of `terms` (all of them are new), in order. */
  push(terms: RawClipTerms): FrameLevelScores {
    this.window.append(terms);
    const before = this.framesSeen;
    this.framesSeen += terms.frameCount;
    const period = before >= this.windowFrames ? this.fullWindowRefreshFrames : this.refreshFrames;
    if (!this.scales || this.framesSeen <= this.warmupFrames || crossesPeriod(before, this.framesSeen, this.refreshPhase % period, period)) {
      this.scales = this.currentScales();
    }
    const n = Math.min(terms.frameCount, this.window.frameCount);
    const scored = scoresWith(this.window, this.calibration, this.scales, this.weights, this.window.frameCount - n, this.window.frameCount);
    if (n === terms.frameCount) return scored;
    // A burst longer than the window: its oldest frames are scored as the window's first.
    const frameScores = new Float32Array(terms.frameCount);
    const jointScores = new Float32Array(terms.frameCount * J);
    frameScores.set(scored.frameScores, terms.frameCount - n);
    jointScores.set(scored.jointScores, (terms.frameCount - n) * J);
    return { frameScores, jointScores };
  }

  private adaptive(values: Float32Array, stride: number, offset: number, normal: TermScale): TermScale {
    const n = this.window.frameCount;
    for (let t = 0; t < n; t++) this.column[t] = values[t * stride + offset]!;
    const own = robustScaleFast(this.column, n, this.scratch);
    return { center: own.center, spread: Math.max(own.spread, normal.spread) };
  }

  private currentScales(): EffectiveScales {
    return effectiveScales(this.window, this.calibration, this.weights, (values, width, j, normal) => this.adaptive(values, width, j, normal));
  }
}

/** Frames between refreshes of an avatar's adaptive scales after warm-up, unless set. */
export const DEFAULT_SCALE_REFRESH_FRAMES = 30;

/** Frames between refreshes once the avatar's window is full, unless set. */
export const DEFAULT_FULL_WINDOW_SCALE_REFRESH_FRAMES = 60;

/**
 * The online rule's fraction floor unless the model or the server says otherwise (6 s at
 * 30 fps): the shipped three-pass model's replayed validation takes alert at 11.2 / 7.2 /
 * 3.2 / 1.6% with floors of 90 / 120 / 150 / 180 (bursts of ~10 unusual frames, often where
 * a take ends); the spike arm keeps brief faults in young windows detected.
 */
export const DEFAULT_ONLINE_FRACTION_FLOOR_FRAMES = 180;

/** Frames before online decisions start, unless the scoring config says otherwise. */
export const DEFAULT_ONLINE_WARMUP_FRAMES = 30;

/** Frames per tick when a recorded clip is replayed: 30 fps at the default 100 ms tick. */
export const REPLAY_TICK_FRAMES = 3;

/**
 * Online frame scores of a whole recorded clip, fed `tickFrames` at a time: what a live
 * avatar with these raw terms would have been scored. Used to calibrate the online path.
 */
export function onlineClipScores(
  terms: RawClipTerms,
  calibration: OnlineCalibration,
  weights: OnlineWeights,
  options: OnlineScoringOptions & { readonly tickFrames?: number },
): FrameLevelScores {
  const scoring = new OnlineScoring(calibration, weights, options);
  const step = options.tickFrames ?? REPLAY_TICK_FRAMES;
  const frameScores = new Float32Array(terms.frameCount);
  const jointScores = new Float32Array(terms.frameCount * J);
  for (let from = 0; from < terms.frameCount; from += step) {
    const to = Math.min(terms.frameCount, from + step);
    const scored = scoring.push(sliceTerms(terms, from, to));
    frameScores.set(scored.frameScores, from);
    jointScores.set(scored.jointScores, from * J);
  }
  return { frameScores, jointScores };
}

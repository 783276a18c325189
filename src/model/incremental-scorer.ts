/**
 * The incremental streaming scorer: each call pays only for the NEW frames of each avatar.
 * With a causal encoder a frame's latent depends only on the frames before it, so each
 * avatar keeps, per scoring pass and layer, the keys and values of its last `radius`
 * frames, and a call runs the encoder over the new frames alone (MaskedAutoencoder.step)
 * for every avatar and pass in ONE batched model call, plus one flow call. Everything
 * else a frame's score needs comes from what has arrived: skeleton scale, floor and bone
 * lengths from the avatar's recent frames, the flow's context from its recent latents,
 * adaptive scales from its recent terms (OnlineScoring).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StreamCache, StreamRows } from './cached-attention.js';
import type { LoadedModel } from './model-dir.js';
import { createMotion, type Motion } from './motion.js';
import { boneDeviationsAgainst, boneReferenceLengths, causalAccelerations, holdEvidence, jointLimitViolations } from './kinematic-prior.js';
import { BodyPriorScan } from './body-prior.js';
import { carryRotatingErrors, hidesCell } from './masks.js';
import { CHANNELS, FEATURE_SIZE, TOKEN_COUNT, featureReferences, framesFeatures, standardise } from './normalise.js';
import { crossesPeriod, DEFAULT_FULL_WINDOW_SCALE_REFRESH_FRAMES, DEFAULT_ONLINE_FRACTION_FLOOR_FRAMES, DEFAULT_SCALE_REFRESH_FRAMES, OnlineScoring, refreshPhase, REPLAY_TICK_FRAMES } from './online-scoring.js';
import { PositionHistory } from './position-history.js';
import { concatTerms } from './raw-terms.js';
import { jointErrorsFromTokens } from './scoring.js';
import { CANONICAL_JOINTS } from './skeleton.js';
import type { AvatarFrames, AvatarScores, StreamingScorer } from './streaming-scorer.js';
import type { Calibration, RawClipTerms, Thresholds } from './types.js';

const J = CANONICAL_JOINTS.length;
const STRIDE = J * 3;
/** Most new frames per avatar in one model step (see advance). */
export const MAX_STEP_FRAMES = 8;

export interface IncrementalOptions {
  /** Refresh skeleton scale, floor and bone lengths every call until this many frames, then every referenceRefreshFrames. */
  readonly warmupFrames?: number;
  readonly referenceRefreshFrames?: number;
  /** How often (in frames) the adaptive scales are refreshed after warm-up. */
  readonly scaleRefreshFrames?: number;
}

interface References {
  readonly scale: number;
  readonly floor: number;
  readonly bones: Float64Array;
}

/** The mean of the last `length` vectors pushed (of fewer at the start): a ring and a running sum. */
class RecentMean {
  private readonly ring: Float32Array;
  private readonly sum: Float64Array;
  private count = 0;
  private next = 0;

  constructor(
    private readonly length: number,
    private readonly d: number,
  ) {
    this.ring = new Float32Array(length * d);
    this.sum = new Float64Array(d);
  }

  /** Adds a vector and writes the mean of the last `length` to out[outOffset...]. */
  push(vector: Float32Array, out: Float32Array, outOffset = 0): void {
    const d = this.d;
    const slot = this.next * d;
    if (this.count === this.length) {
      for (let i = 0; i < d; i++) this.sum[i]! -= this.ring[slot + i]!;
    } else {
      this.count++;
    }
    this.ring.set(vector, slot);
    for (let i = 0; i < d; i++) {
      this.sum[i]! += vector[i]!;
      out[outOffset + i] = this.sum[i]! / this.count;
    }
    this.next = (this.next + 1) % this.length;
  }
}

/** Everything the scorer remembers about one avatar. */
class AvatarState {
  framesSeen = 0;
  references: References | null = null;
  /** Offsets this avatar's reference refreshes (see refreshPhase). */
  referencePhase = 0;
  readonly history: PositionHistory;
  /** One key/value cache per scoring pass (the masked passes, then the unmasked one if any; only pass 0 when rotating). */
  readonly caches: StreamCache[];
  /** Rotating passes: each token's latest error from a frame that hid it (see carryRotatingErrors). */
  readonly latestErrors = new Float32Array(TOKEN_COUNT);
  /** The flow's causal context: the mean of its last contextFrames latents (see FlowConfig.latents). */
  readonly context: RecentMean;
  /**
   * Rotating passes with a masked-mean flow: the mean of the pass's latents over the last K
   * frames, which between them hid every token once, as the K masked passes do within one.
   */
  readonly recentPassLatents: RecentMean;
  /** The NLL of the avatar's last frame, held over frames the flow skips (ScoringConfig.streamingFlowEvery). */
  lastNll = 0;
  /** The body prior's scan, carried from tick to tick. */
  readonly body: BodyPriorScan;

  constructor(windowFrames: number, caches: StreamCache[], contextFrames: number, maskPasses: number, d: number, readonly scoring: OnlineScoring | null) {
    this.history = new PositionHistory(windowFrames);
    this.body = new BodyPriorScan(windowFrames);
    this.caches = caches;
    this.context = new RecentMean(contextFrames, d);
    this.recentPassLatents = new RecentMean(maskPasses, d);
  }
}

/** One avatar's new frames, prepared for the model call. */
interface Prepared {
  readonly state: AvatarState;
  /** New frames (at most MAX_STEP_FRAMES, so they always fit in the window). */
  readonly frames: number;
  /** Absolute stream index of the first of them. */
  readonly firstFrame: number;
  readonly features: Float32Array;
  readonly boneDeviations: Float32Array;
  readonly limitViolations: Float32Array;
  readonly accelerations: Float32Array;
  readonly holds: Float32Array;
  readonly body: Float32Array;
}

export class IncrementalScorer implements StreamingScorer {
  readonly jointNames = CANONICAL_JOINTS;
  readonly fps: number;
  readonly windowFrames: number;
  private readonly avatars = new Map<string, AvatarState>();
  private readonly d: number;
  /** Encoder passes (streams) per avatar and frame. */
  private readonly passes: number;
  private readonly maskPasses: number;
  /** One rotating pass per frame instead of all (ScoringConfig.streamingPasses). */
  private readonly rotating: boolean;
  private readonly contextFrames: number;
  /** The flow runs on every flowEvery-th frame of an avatar (ScoringConfig.streamingFlowEvery). */
  private readonly flowEvery: number;
  private readonly warmupFrames: number;
  private readonly referenceRefreshFrames: number;
  private readonly scaleRefreshFrames: number | undefined;
  private readonly buffers = new ScratchBuffers();
  /** maskRows[k][t mod K]: the tokens scoring pass k hides in frame t (see scoringCellMask). */
  private readonly maskRows: Float32Array[][];

  constructor(
    private readonly loaded: LoadedModel,
    private readonly calibration: Calibration | null = loaded.calibration,
    options: IncrementalOptions = {},
  ) {
    const { config } = loaded;
    if (!config.encoder.causal) {
      throw new Error(`model ${loaded.dir} (preset '${config.preset}') is not causal: use the full-window streaming strategy, or train a causal preset`);
    }
    if (config.scoring.scoringMaskPattern === 'joints') throw new Error(`incremental scoring needs scoringMaskPattern 'cells'`);
    if (config.windowFrames <= MAX_STEP_FRAMES) throw new Error(`incremental scoring needs windows longer than ${MAX_STEP_FRAMES} frames`);
    this.fps = config.fps;
    this.windowFrames = config.windowFrames;
    this.d = config.encoder.dModel;
    this.maskPasses = config.scoring.scoringMasks;
    this.rotating = config.scoring.streamingPasses === 'rotating';
    if (this.rotating && loaded.model.flowLatents === 'unmasked') {
      throw new Error(`model ${loaded.dir}: streamingPasses 'rotating' needs flow.latents 'rotating' or 'masked-mean' (one pass per frame has no unmasked latent)`);
    }
    this.passes = this.rotating ? 1 : loaded.model.scoringPasses;
    this.contextFrames = loaded.model.contextFrames!;
    this.flowEvery = config.scoring.streamingFlowEvery ?? 1;
    this.warmupFrames = options.warmupFrames ?? 60;
    this.referenceRefreshFrames = options.referenceRefreshFrames ?? 150;
    this.scaleRefreshFrames = options.scaleRefreshFrames; // OnlineScoring's default when absent
    const K = this.maskPasses;
    this.maskRows = Array.from({ length: K }, (_, k) => Array.from({ length: K }, (_, phase) => Float32Array.from({ length: TOKEN_COUNT }, (_, token) => (hidesCell(k, K, phase, token) ? 1 : 0))));
  }

  get fractionFloorFrames(): number {
    return this.loaded.config.scoring.onlineFractionFloorFrames ?? DEFAULT_ONLINE_FRACTION_FLOOR_FRAMES;
  }

  get thresholds(): Thresholds {
    if (!this.calibration) throw new Error(`model ${this.loaded.dir} is not calibrated: run 'motionguard calibrate'`);
    return this.calibration.streaming?.thresholds ?? this.calibration.thresholds;
  }

  get avatarCount(): number {
    return this.avatars.size;
  }

  async scoreNewFrames(batch: readonly AvatarFrames[]): Promise<AvatarScores[]> {
    if (!this.calibration) throw new Error(`model ${this.loaded.dir} is not calibrated: run 'motionguard calibrate'`);
    // States are taken now: an avatar forgotten while the model runs still gets its scores.
    const states = batch.map((entry) => this.stateOf(entry, true));
    const terms = await this.advance(batch, true);
    return batch.map((entry, i) => {
      if (entry.frames === 0) return { avatar: entry.avatar, frameScores: new Float32Array(0), jointScores: new Float32Array(0) };
      return { avatar: entry.avatar, ...states[i]!.scoring!.push(terms[i]!) };
    });
  }

  /**
   * Raw terms of whole clips as the online path computes them, fed tickFrames at a time:
   * what calibration of the online thresholds needs. Leaves no state behind.
   */
  async streamedTerms(motions: readonly Motion[], tickFrames = REPLAY_TICK_FRAMES): Promise<RawClipTerms[]> {
    const ids = motions.map((_, i) => `\u0000calibration-${i}`);
    const parts: RawClipTerms[][] = motions.map(() => []);
    const longest = Math.max(0, ...motions.map((m) => m.frameCount));
    try {
      for (let from = 0; from < longest; from += tickFrames) {
        const active = motions.map((m, i) => ({ m, i })).filter(({ m }) => from < m.frameCount);
        const batch = active.map(({ m, i }) => {
          const to = Math.min(m.frameCount, from + tickFrames);
          return { avatar: ids[i]!, frames: to - from, positions: m.positions.subarray(from * STRIDE, to * STRIDE) };
        });
        const terms = await this.advance(batch, false);
        active.forEach(({ i }, k) => parts[i]!.push(terms[k]!));
      }
    } finally {
      this.forget(ids);
    }
    return parts.map(concatTerms);
  }

  forget(avatars: readonly string[]): void {
    for (const avatar of avatars) this.avatars.delete(avatar);
  }

  async close(): Promise<void> {
    this.avatars.clear();
  }

  private stateOf(entry: AvatarFrames, withScoring: boolean): AvatarState {
    const avatar = entry.avatar;
    let state = this.avatars.get(avatar);
    if (!state) {
      const phaseOf = (period: number): number => refreshPhase(entry.positions.subarray(0, STRIDE), period);
      const scoring =
        withScoring && this.calibration
          ? new OnlineScoring(this.calibration, this.loaded.config.scoring, {
              windowFrames: this.windowFrames,
              warmupFrames: this.warmupFrames,
              refreshFrames: this.scaleRefreshFrames,
              refreshPhase: phaseOf(DEFAULT_SCALE_REFRESH_FRAMES * DEFAULT_FULL_WINDOW_SCALE_REFRESH_FRAMES),
            })
          : null;
      const caches = Array.from({ length: this.passes }, () => this.loaded.model.mae.newStreamCache());
      state = new AvatarState(this.windowFrames, caches, this.contextFrames, this.maskPasses, this.d, scoring);
      state.referencePhase = phaseOf(this.referenceRefreshFrames);
      this.avatars.set(avatar, state);
    }
    return state;
  }

  /** Appends each avatar's new frames and computes their raw terms with one model call. */
  private async advance(batch: readonly AvatarFrames[], withScoring: boolean): Promise<RawClipTerms[]> {
    const seen = new Set<string>();
    for (const entry of batch) {
      if (seen.has(entry.avatar)) throw new Error(`avatar '${entry.avatar}' appears twice in one batch`);
      seen.add(entry.avatar);
      if (!Number.isInteger(entry.frames) || entry.frames < 0 || entry.positions.length !== entry.frames * STRIDE) {
        throw new Error(`avatar '${entry.avatar}': ${entry.positions.length} numbers for ${entry.frames} frames of ${J} joints`);
      }
    }
    // A backlog (a publisher catching up, a late tick) goes through in rounds of at most
    // MAX_STEP_FRAMES new frames per avatar: the dense layers' tensors grow with every
    // avatar's new frames, and hundreds of avatars catching up on hundreds of frames at
    // once would exhaust the wasm heap.
    const parts: RawClipTerms[][] = batch.map(() => []);
    const rounds = Math.ceil(batch.reduce((m, e) => Math.max(m, e.frames), 0) / MAX_STEP_FRAMES);
    for (let round = 0; round < rounds; round++) {
      const from = round * MAX_STEP_FRAMES;
      const prepared = batch.map((entry) => {
        const to = Math.min(entry.frames, from + MAX_STEP_FRAMES);
        if (to <= from) return null;
        const chunk = { avatar: entry.avatar, frames: to - from, positions: entry.positions.subarray(from * STRIDE, to * STRIDE) };
        return this.prepare(this.stateOf(chunk, withScoring), chunk);
      });
      const active = prepared.filter((p): p is Prepared => p !== null);
      const results = await this.modelTerms(active);
      let next = 0;
      prepared.forEach((p, i) => {
        if (p) parts[i]!.push(results[next++]!);
      });
    }
    return parts.map((p) => (p.length === 1 ? p[0]! : concatTerms(p)));
  }

  /** Features and physical priors of the new frames, from the avatar's recent history. */
  private prepare(state: AvatarState, entry: AvatarFrames): Prepared {
    const frames = entry.frames;
    const firstFrame = state.framesSeen;
    state.history.append(entry.positions, frames);
    state.framesSeen += frames;
    const motion = createMotion(this.fps, CANONICAL_JOINTS, state.history.view());
    const T = motion.frameCount;
    const refresh = crossesPeriod(firstFrame, state.framesSeen, state.referencePhase, this.referenceRefreshFrames);
    if (!state.references || state.framesSeen <= this.warmupFrames || refresh) {
      const { scale, floor } = featureReferences(motion);
      state.references = { scale, floor, bones: boneReferenceLengths(motion) };
    }
    const { scale, floor, bones } = state.references;
    const from = T - frames;
    const newFrames = createMotion(this.fps, CANONICAL_JOINTS, motion.positions.subarray(from * STRIDE));
    return {
      state,
      frames,
      firstFrame,
      features: standardise(framesFeatures(motion, from, T, scale, floor), this.loaded.normalisation),
      boneDeviations: boneDeviationsAgainst(motion, bones, from, T),
      limitViolations: jointLimitViolations(newFrames),
      accelerations: causalAccelerations(motion, scale, from, T),
      holds: holdEvidence(motion, from, T),
      body: state.body.next(motion, scale, from, T, state.framesSeen - T),
    };
  }

  private async modelTerms(active: readonly Prepared[]): Promise<RawClipTerms[]> {
    const { d, passes: P, maskPasses: K } = this;
    // Rows are packed avatar by avatar, pass by pass: avatar a's pass k holds its new frames
    // at rows base[a] + k * frames .. + frames. No padding, whatever each avatar brings.
    const base = new Int32Array(active.length + 1);
    active.forEach((p, a) => (base[a + 1] = base[a]! + P * p.frames));
    const rows = base[active.length]!;
    // Buffers are reused between calls (tens of MB per tick would otherwise feed the GC).
    const features = this.buffers.take('features', rows * FEATURE_SIZE);
    const mask = this.buffers.take('mask', rows * TOKEN_COUNT);
    const streams: StreamRows[] = [];
    active.forEach((p, a) => {
      for (let k = 0; k < P; k++) {
        const rowStart = base[a]! + k * p.frames;
        streams.push({ cache: p.state.caches[k]!, rowStart, frames: p.frames });
        features.set(p.features, rowStart * FEATURE_SIZE);
        if (k === K) continue; // the unmasked pass, when the flow wants one
        for (let q = 0; q < p.frames; q++) mask.set(this.maskRows[k]![(p.firstFrame + q) % K]!, (rowStart + q) * TOKEN_COUNT);
      }
    });
    const step = this.loaded.model.mae.step({ rows, features, mask, streams });
    const errorTensor = tf.tidy(() => {
      const target = tf.tensor3d(features, [rows, TOKEN_COUNT, CHANNELS]);
      const err = tf.sum(tf.square(tf.sub(step.reconstruction.reshape(target.shape), target)), -1);
      // Each token's error from the pass that hid it: the 0/1 mask keeps it (all 0 in the unmasked pass).
      return tf.mul(err, tf.tensor2d(mask, [rows, TOKEN_COUNT]));
    });
    const [maskedErrors, allLatents] = (await Promise.all([errorTensor.data(), step.latent.data()])) as Float32Array[];
    errorTensor.dispose();
    step.reconstruction.dispose();
    step.latent.dispose();

    // The flow, on the latents it models (FlowConfig.latents), with each frame's causal context.
    // Every frame's latent feeds the context; the flow itself runs on the frames it scores
    // (all, or every flowEvery-th of each avatar) and its NLL is held over the others.
    const total = active.reduce((sum, p) => sum + p.frames, 0);
    const flowInput = new Float32Array(total * d);
    const context = new Float32Array((total + 1) * d); // the last slot takes held frames' context
    const flowRows = new Int32Array(total); // row of the flow batch, or -1 where the NLL is held
    const latent = new Float32Array(d);
    const source = this.loaded.model.flowLatents;
    let row = 0;
    let flowRowCount = 0;
    active.forEach((p, a) => {
      for (let q = 0; q < p.frames; q++, row++) {
        if (source === 'masked-mean' && this.rotating) {
          // The masked-mean latent as one rotating pass approximates it.
          p.state.recentPassLatents.push(allLatents!.subarray((base[a]! + q) * d, (base[a]! + q + 1) * d), latent);
        } else if (source === 'masked-mean') {
          latent.fill(0);
          for (let k = 0; k < K; k++) {
            const at = (base[a]! + k * p.frames + q) * d;
            for (let i = 0; i < d; i++) latent[i]! += allLatents![at + i]! / K;
          }
        } else {
          // 'rotating': pass 0; 'unmasked': the pass after the K masked ones.
          const at = (base[a]! + (source === 'rotating' ? 0 : K) * p.frames + q) * d;
          latent.set(allLatents!.subarray(at, at + d));
        }
        const scored = (p.firstFrame + q) % this.flowEvery === 0;
        flowRows[row] = scored ? flowRowCount : -1;
        if (scored) flowInput.set(latent, flowRowCount * d);
        p.state.context.push(latent, context, (scored ? flowRowCount : total) * d);
        if (scored) flowRowCount++;
      }
    });
    let flowNll: Float32Array = new Float32Array(0);
    if (flowRowCount > 0) {
      const nllTensor = tf.tidy(() =>
        this.loaded.model.flow.nll(tf.tensor2d(flowInput.subarray(0, flowRowCount * d), [flowRowCount, d]), tf.tensor2d(context.subarray(0, flowRowCount * d), [flowRowCount, d])),
      );
      flowNll = (await nllTensor.data()) as Float32Array;
      nllTensor.dispose();
    }
    const nll = new Float32Array(total);
    row = 0;
    for (const p of active) {
      for (let q = 0; q < p.frames; q++, row++) {
        if (flowRows[row]! >= 0) p.state.lastNll = flowNll[flowRows[row]!]!;
        nll[row] = p.state.lastNll;
      }
    }

    row = 0;
    return active.map((p, a) => {
      const m = p.frames;
      const tokenErrors = new Float32Array(m * TOKEN_COUNT);
      for (let k = 0; k < Math.min(P, K); k++) {
        const from = (base[a]! + k * m) * TOKEN_COUNT;
        for (let i = 0; i < m * TOKEN_COUNT; i++) tokenErrors[i]! += maskedErrors![from + i]!;
      }
      if (this.rotating) carryRotatingErrors(tokenErrors, m, p.firstFrame, K, p.state.latestErrors);
      const terms: RawClipTerms = {
        frameCount: m,
        jointErrors: jointErrorsFromTokens(tokenErrors, m),
        nll: nll.slice(row, row + m),
        boneDeviations: p.boneDeviations,
        limitViolations: p.limitViolations,
        accelerations: p.accelerations,
        holds: p.holds,
        body: p.body,
      };
      row += m;
      return terms;
    });
  }
}

/** Zeroed Float32Arrays reused between calls, by name; they only grow. */
class ScratchBuffers {
  private readonly buffers = new Map<string, Float32Array>();

  take(name: string, length: number): Float32Array {
    let buffer = this.buffers.get(name);
    if (!buffer || buffer.length < length) {
      buffer = new Float32Array(Math.ceil(length * 1.25));
      this.buffers.set(name, buffer);
      return buffer.subarray(0, length);
    }
    return buffer.subarray(0, length).fill(0);
  }
}

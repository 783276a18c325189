/**
 * Scoring motions with a loaded model: the typed boundary that the CLI, evaluation and
 * the streaming server call. Windows from many clips (or avatars) go through ONE
 * batched model call; long clips are covered by half-overlapping windows.
 */
import { packBatch, windowPlan, type FeatureWindow } from './batch.js';
import { calibrate, thresholdsFor } from './calibration.js';
import { IncrementalScorer } from './incremental-scorer.js';
import { DEFAULT_ONLINE_WARMUP_FRAMES, onlineClipScores } from './online-scoring.js';
import { decideClip } from './clip-rule.js';
import type { LoadedModel } from './model-dir.js';
import type { Motion } from './motion.js';
import { accelerations, boneLengthDeviations, holdEvidence, jointLimitViolations } from './kinematic-prior.js';
import { bodyEvidence } from './body-prior.js';
import { FEATURE_SIZE, TOKEN_COUNT, normaliseMotion, skeletonScale } from './normalise.js';
import { resampleMotion } from './resample.js';
import { frameLevelScores, jointErrorsFromTokens, sequenceScore, type FrameLevelScores } from './scoring.js';
import { CANONICAL_JOINTS } from './skeleton.js';
import type { TermsSource } from './terms-source.js';
import type { Calibration, ClipScores, RawClipTerms, Thresholds } from './types.js';

/** What src/stream needs from the model: windows in, frame and joint scores out. */
export interface WindowScorer {
  readonly jointNames: readonly string[];
  readonly fps: number;
  readonly windowFrames: number;
  readonly thresholds: Thresholds;
  /** Scores every window in one batched call; windows are canonical-joint motions at `fps`. */
  scoreWindows(windows: readonly Motion[]): Promise<FrameLevelScores[]>;
}

/** Most frames per model call; bounds memory (the call runs every scoring pass over them). */
const MAX_BATCH_FRAMES = 4096;

/** Raw terms from the model in this thread, all windows of a call in few batched model calls. */
export class LocalTerms implements TermsSource {
  constructor(private readonly loaded: LoadedModel) {}

  /** Raw reconstruction and likelihood terms for each motion (any length >= 2 frames). */
  async rawTerms(motions: readonly Motion[]): Promise<RawClipTerms[]> {
    interface Job {
      clip: number;
      start: number;
      window: FeatureWindow;
    }
    const jobs: Job[] = [];
    const plans = motions.map((motion, clip) => {
      const fps = this.loaded.config.fps;
      const windowFrames = this.loaded.config.windowFrames;
      const atFps = motion.fps === fps ? motion : resampleMotion(motion, fps);
      const features = normaliseMotion(atFps, this.loaded.normalisation);
      const boneDeviations = boneLengthDeviations(atFps);
      const limitViolations = jointLimitViolations(atFps);
      const scale = skeletonScale(atFps);
      const jointAccelerations = accelerations(atFps, scale);
      // Whole clips: a hold longer than any real take's counts in full from its start.
      const holds = holdEvidence(atFps, 0, atFps.frameCount, true);
      // Whole clips: a float that lasted counts from its start (the live scan needs a grace).
      const body = bodyEvidence(atFps, scale, windowFrames, true);
      const T = atFps.frameCount;
      const plan = windowPlan(T, windowFrames);
      for (const start of plan.starts) {
        const frames = Math.min(windowFrames, T - start);
        jobs.push({ clip, start, window: { frames, features: features.subarray(start * FEATURE_SIZE, (start + frames) * FEATURE_SIZE) } });
      }
      return { T, plan, boneDeviations, limitViolations, jointAccelerations, holds, body, results: new Map<number, { tokenErrors: Float32Array; nll: Float32Array }>() };
    });
    // Similar lengths together: less padding per batch.
    const order = jobs.map((_, i) => i).sort((a, b) => jobs[a]!.window.frames - jobs[b]!.window.frames);
    for (let i = 0; i < order.length; ) {
      const group: Job[] = [];
      while (i < order.length) {
        const job = jobs[order[i]!]!;
        // Sorted by length: this job is the longest so far and sets the padded size.
        if (group.length > 0 && job.window.frames * (group.length + 1) > MAX_BATCH_FRAMES) break;
        group.push(job);
        i++;
      }
      const batch = packBatch(group.map((g) => g.window));
      const terms = await this.loaded.model.windowTerms(batch);
      group.forEach((job, b) => {
        const offset = b * batch.frames;
        const n = job.window.frames;
        plans[job.clip]!.results.set(job.start, {
          tokenErrors: terms.tokenErrors.slice(offset * TOKEN_COUNT, (offset + n) * TOKEN_COUNT),
          nll: terms.nll.slice(offset, offset + n),
        });
      });
    }
    return plans.map(({ T, plan, boneDeviations, limitViolations, jointAccelerations, holds, body, results }) => {
      const tokenErrors = new Float32Array(T * TOKEN_COUNT);
      const nll = new Float32Array(T);
      for (let t = 0; t < T; t++) {
        const start = plan.starts[plan.owner[t]!]!;
        const r = results.get(start)!;
        const local = t - start;
        tokenErrors.set(r.tokenErrors.subarray(local * TOKEN_COUNT, (local + 1) * TOKEN_COUNT), t * TOKEN_COUNT);
        nll[t] = r.nll[local]!;
      }
      return { frameCount: T, jointErrors: jointErrorsFromTokens(tokenErrors, T), nll, boneDeviations, limitViolations, accelerations: jointAccelerations, holds, body };
    });
  }

}

/**
 * Scores with calibration applied. Terms come from the model in this thread by default,
 * or from any TermsSource (e.g. a WorkerPoolTerms to use every core).
 */
export class MotionScorer implements WindowScorer {
  readonly jointNames = CANONICAL_JOINTS;
  readonly fps: number;
  readonly windowFrames: number;
  private readonly terms: TermsSource;
  private calibrationOverride: Calibration | null;

  constructor(
    private readonly loaded: LoadedModel,
    options: { terms?: TermsSource; calibration?: Calibration } = {},
  ) {
    this.fps = loaded.config.fps;
    this.windowFrames = loaded.config.windowFrames;
    this.terms = options.terms ?? new LocalTerms(loaded);
    this.calibrationOverride = options.calibration ?? null;
  }

  get calibration(): Calibration {
    const calibration = this.calibrationOverride ?? this.loaded.calibration;
    if (!calibration) throw new Error(`model ${this.loaded.dir} is not calibrated: run 'motionguard calibrate'`);
    return calibration;
  }

  get thresholds(): Thresholds {
    return this.calibration.thresholds;
  }

  rawTerms(motions: readonly Motion[]): Promise<RawClipTerms[]> {
    return this.terms.rawTerms(motions);
  }

  async scoreWindows(windows: readonly Motion[]): Promise<FrameLevelScores[]> {
    const terms = await this.rawTerms(windows);
    return terms.map((t) => frameLevelScores(t, this.calibration, this.loaded.config.scoring));
  }

  /** Full clip-level result: frame, joint and sequence scores and the clip decision. */
  async scoreClips(motions: readonly Motion[]): Promise<ClipScores[]> {
    const terms = await this.rawTerms(motions);
    return terms.map((t) => this.clipScoresFromTerms(t));
  }

  clipScoresFromTerms(terms: RawClipTerms): ClipScores {
    const { frameScores, jointScores } = frameLevelScores(terms, this.calibration, this.loaded.config.scoring);
    return {
      frameCount: terms.frameCount,
      jointNames: this.jointNames,
      frameScores,
      jointScores,
      sequenceScore: sequenceScore(frameScores, this.loaded.config.scoring.spikeSettleFrames ?? 0),
      clip: decideClip(frameScores, this.thresholds, this.loaded.config.scoring.fractionFloorFrames ?? 0, this.loaded.config.scoring.spikeSettleFrames ?? 0),
      thresholds: this.thresholds,
    };
  }

  /**
   * Calibrates on normal clips and uses the result from then on. Causal models also get
   * thresholds for the online path, from the same clips replayed through it.
   */
  async calibrateOn(normalMotions: readonly Motion[]): Promise<Calibration> {
    const terms = await this.rawTerms(normalMotions);
    const { scoring } = this.loaded.config;
    let calibration = calibrate(terms, scoring);
    if (this.loaded.config.encoder.causal) {
      const streamed = await new IncrementalScorer(this.loaded, calibration).streamedTerms(normalMotions);
      // Frames before the online warm-up ends decide nothing online, so they set no threshold.
      const warmup = scoring.onlineWarmupFrames ?? DEFAULT_ONLINE_WARMUP_FRAMES;
      const online = streamed
        .map((t) => onlineClipScores(t, calibration, scoring, { windowFrames: this.windowFrames }).frameScores.subarray(warmup))
        .filter((scores) => scores.length > 0);
      if (online.length > 0) calibration = { ...calibration, streaming: { thresholds: thresholdsFor(online, scoring) } };
    }
    this.calibrationOverride = calibration;
    return calibration;
  }
}

/**
 * Scores from raw terms (pure): eq. 5 applied to STANDARDISED terms, so alpha and beta
 * weigh comparable quantities, at joint, frame and sequence level.
 */
import { CANONICAL_JOINTS, jointIndex } from './skeleton.js';
import { ROOT_TOKEN, TOKEN_COUNT } from './normalise.js';
import { correctEdges } from './edges.js';
import { robustScale } from './stats.js';
import type { Calibration, RawClipTerms, ScoringConfig, TermScale } from './types.js';

const J = CANONICAL_JOINTS.length;
const HIPS = jointIndex('Hips');

/**
 * Per-token errors -> per-joint errors: the Root token (root velocity, yaw rate) belongs
 * to the Hips, so its error is added to theirs.
 */
export function jointErrorsFromTokens(tokenErrors: Float32Array, frames: number): Float32Array {
  const out = new Float32Array(frames * J);
  for (let t = 0; t < frames; t++) {
    for (let j = 0; j < J; j++) out[t * J + j] = tokenErrors[t * TOKEN_COUNT + j]!;
    out[t * J + HIPS] = out[t * J + HIPS]! + tokenErrors[t * TOKEN_COUNT + ROOT_TOKEN]!;
  }
  return out;
}

/** How many of a frame's most deviant joints make its reconstruction term. */
export const FRAME_TOP_JOINTS = 3;

/**
 * Robust location/scale of one series, adapted to the avatar being scored: its own median
 * and MAD, with the spread never below the calibrated normal spread (a very smooth clip
 * must not turn noise into alarms). Used when scoring.adaptive is on.
 */
export function adaptiveScale(values: ArrayLike<number>, normal: TermScale): TermScale {
  const own = robustScale(values);
  return { center: own.center, spread: Math.max(own.spread, normal.spread) };
}

/** Column j of values laid out `width` per frame. */
function column(values: Float32Array, width: number, j: number): Float32Array {
  const out = new Float32Array(values.length / width);
  for (let t = 0; t < out.length; t++) out[t] = values[t * width + j]!;
  return out;
}

function standardise(value: number, scale: TermScale): number {
  return (value - scale.center) / scale.spread;
}

/**
 * Standardised joint errors, T x J: the MAE's error for the joint plus the physical
 * priors' evidence (rigid bones, joint limits, acceleration spikes, holds, see kinematic-prior.ts; the whole body's support, place and heading, see body-prior.ts). Adaptive: the MAE error is judged against the avatar's own recent errors, so
 * motion that is merely unfamiliar (uniformly harder to reconstruct) is not an anomaly,
 * while a deviation from how well this avatar's motion is explained is. Otherwise:
 * against normal validation data. Bone deviations are always judged against normal data.
 */
/** Acceleration spikes count only beyond this many adaptive units: ordinary jerky motion adds nothing. */
export const TEMPORAL_MARGIN = 3;

/**
 * The scales a clip's terms are judged against: calibrated normal scales, or (adaptive)
 * the avatar's own, floored at the normal spread. Offline they come from the whole clip;
 * online from the frames that have arrived (see online-scoring.ts).
 */
export interface EffectiveScales {
  readonly joints: readonly TermScale[];
  readonly nll: TermScale;
  /** null: no temporal prior. */
  readonly accelerations: readonly TermScale[] | null;
  /** Whether the hold prior's evidence counts. */
  readonly holdPrior: boolean;
  /** Whether the body prior's evidence counts. */
  readonly bodyPrior: boolean;
}

/** The scoring switches that decide a clip's effective scales (absent: adaptive on, priors off). */
export type ScaleSwitches = Pick<ScoringConfig, 'adaptive' | 'temporalPrior' | 'holdPrior' | 'bodyPrior'>;

/**
 * The avatar's own scale of column j of one term (laid out `width` numbers per frame),
 * floored at the normal one: adaptiveScale of the whole clip offline, of the window online.
 */
export type OwnScale = (values: Float32Array, width: number, j: number, normal: TermScale) => TermScale;

const wholeClipScale: OwnScale = (values, width, j, normal) => adaptiveScale(column(values, width, j), normal);

/** Effective scales of a clip's raw terms, the avatar's own drawn by `own` (the whole clip's by default). */
export function effectiveScales(
  terms: RawClipTerms,
  scales: Pick<Calibration, 'joints' | 'nll' | 'accelerations'>,
  switches: ScaleSwitches,
  own: OwnScale = wholeClipScale,
): EffectiveScales {
  const acc = switches.temporalPrior ? (scales.accelerations ?? null) : null;
  const holdPrior = switches.holdPrior ?? false;
  const bodyPrior = switches.bodyPrior ?? false;
  if (!(switches.adaptive ?? true)) return { joints: scales.joints, nll: scales.nll, accelerations: acc, holdPrior, bodyPrior };
  return {
    holdPrior,
    bodyPrior,
    joints: scales.joints.map((normal, j) => own(terms.jointErrors, J, j, normal)),
    nll: own(terms.nll, 1, 0, scales.nll),
    // Acceleration spikes are always judged against the avatar's own motion (floored at normal).
    accelerations: acc ? acc.map((normal, j) => own(terms.accelerations, J, j, normal)) : null,
  };
}

/** Standardised joint deviations of frames [from, to), (to-from) x J, against effective scales. */
export function jointDeviationsWith(terms: RawClipTerms, bones: readonly TermScale[], scales: EffectiveScales, from = 0, to = terms.frameCount): Float32Array {
  const out = new Float32Array((to - from) * J);
  for (let t = from; t < to; t++) {
    const bodyTerm = scales.bodyPrior ? terms.body[t]! : 0;
    for (let j = 0; j < J; j++) {
      const i = t * J + j;
      // The priors only ever add evidence: a bone as long as usual says nothing.
      const boneTerm = Math.max(0, standardise(terms.boneDeviations[i]!, bones[j]!));
      const temporalTerm = scales.accelerations ? Math.max(0, standardise(terms.accelerations[i]!, scales.accelerations[j]!) - TEMPORAL_MARGIN) : 0;
      const holdTerm = scales.holdPrior ? terms.holds[i]! : 0;
      out[(t - from) * J + j] = standardise(terms.jointErrors[i]!, scales.joints[j]!) + boneTerm + terms.limitViolations[i]! + temporalTerm + holdTerm + bodyTerm;
    }
  }
  return out;
}

export function jointDeviations(terms: RawClipTerms, scales: Pick<Calibration, 'joints' | 'bones' | 'accelerations'>, switches: ScaleSwitches): Float32Array {
  const effective = effectiveScales(terms, { ...scales, nll: { center: 0, spread: 1 } }, switches);
  return jointDeviationsWith(terms, scales.bones, effective);
}

/** Frame reconstruction term: mean of the frame's FRAME_TOP_JOINTS highest joint deviations (a fault often sits in one limb). */
export function frameReconstruction(deviations: Float32Array, frames: number): Float32Array {
  const out = new Float32Array(frames);
  const top = new Float64Array(FRAME_TOP_JOINTS);
  for (let t = 0; t < frames; t++) {
    // The k largest by insertion into a short sorted list (no sort per frame).
    top.fill(-Infinity);
    for (let j = 0; j < J; j++) {
      const v = deviations[t * J + j]!;
      if (!(v > top[FRAME_TOP_JOINTS - 1]!)) continue;
      let k = FRAME_TOP_JOINTS - 1;
      for (; k > 0 && v > top[k - 1]!; k--) top[k] = top[k - 1]!;
      top[k] = v;
    }
    let s = 0;
    for (let k = 0; k < FRAME_TOP_JOINTS; k++) s += top[k]!;
    out[t] = s / FRAME_TOP_JOINTS;
  }
  return out;
}

/** Standardised flow NLL per frame (adaptive or against normal validation data). */
export function nllDeviations(terms: RawClipTerms, nll: TermScale, adaptive: boolean): Float32Array {
  const scale = adaptive ? adaptiveScale(terms.nll, nll) : nll;
  return Float32Array.from(terms.nll, (v) => standardise(v, scale));
}

export interface FrameLevelScores {
  readonly frameScores: Float32Array;
  readonly jointScores: Float32Array;
}

type Standardisation = Pick<Calibration, 'reconstruction' | 'nll' | 'joints' | 'bones' | 'edges' | 'accelerations'>;
type Weights = Pick<ScoringConfig, 'alpha' | 'beta' | 'edgeCorrection'> & ScaleSwitches;

/**
 * Eq. 5 on standardised terms for frames [from, to): S_t = alpha * z(recon_t) + beta * z(nll_t),
 * and per joint S_jt = alpha * z_j(err_jt) + beta * z(nll_t).
 */
export function scoresWith(
  terms: RawClipTerms,
  calibration: Pick<Calibration, 'reconstruction' | 'bones'>,
  scales: EffectiveScales,
  weights: Pick<ScoringConfig, 'alpha' | 'beta'>,
  from = 0,
  to = terms.frameCount,
): FrameLevelScores {
  const n = to - from;
  const deviations = jointDeviationsWith(terms, calibration.bones, scales, from, to);
  const recon = frameReconstruction(deviations, n);
  const frameScores = new Float32Array(n);
  const jointScores = new Float32Array(n * J);
  for (let i = 0; i < n; i++) {
    const flowTerm = weights.beta * standardise(terms.nll[from + i]!, scales.nll);
    frameScores[i] = weights.alpha * standardise(recon[i]!, calibration.reconstruction) + flowTerm;
    for (let j = 0; j < J; j++) jointScores[i * J + j] = weights.alpha * deviations[i * J + j]! + flowTerm;
  }
  return { frameScores, jointScores };
}

/** Offline scores of a whole clip: effective scales from the whole clip, then eq. 5. */
export function frameLevelScores(rawTerms: RawClipTerms, calibration: Standardisation, scoring: Weights): FrameLevelScores {
  const terms = scoring.edgeCorrection ? correctEdges(rawTerms, calibration.edges, J) : rawTerms;
  const scales = effectiveScales(terms, calibration, scoring);
  return scoresWith(terms, calibration, scales, scoring);
}

/**
 * Sequence score: the mean of the highest 10% of frame scores (at least one frame).
 * It follows the clip rule's own notion of "a tenth of the clip", yet a short burst still
 * lifts it, where the plain mean would drown it in normal frames. Like the clip rule's
 * spike arm it leaves out the first `settleFrames` (when the clip is longer): a causal
 * model scores them with almost no context, and in a 50-frame clip they would be its top
 * tenth (held-out: clip AUC 0.957 -> 0.966 with the shipped model's 6).
 */
export function sequenceScore(frameScores: ArrayLike<number>, settleFrames = 0, topFraction = 0.1): number {
  const from = frameScores.length > settleFrames ? settleFrames : 0;
  const sorted = Float64Array.from({ length: frameScores.length - from }, (_, i) => frameScores[from + i]!).sort().reverse();
  const k = Math.max(1, Math.ceil(topFraction * sorted.length));
  let s = 0;
  for (let i = 0; i < k; i++) s += sorted[i]!;
  return s / k;
}

/**
 * Indices of the k highest-scoring joints of one frame, highest first. Ties go to the lower
 * joint index and NaN ranks below everything, so the answer is deterministic.
 */
export function topKJoints(jointScores: ArrayLike<number>, jointCount: number, frame: number, k: number): number[] {
  const frames = Math.floor(jointScores.length / jointCount);
  if (!(jointCount > 0) || jointScores.length % jointCount !== 0) {
    throw new Error(`jointScores length ${jointScores.length} is not a multiple of ${jointCount} joints`);
  }
  if (!Number.isInteger(frame) || frame < 0 || frame >= frames) {
    throw new Error(`frame ${frame} out of range [0, ${frames})`);
  }
  const base = frame * jointCount;
  const value = (j: number): number => {
    const v = jointScores[base + j]!;
    return Number.isNaN(v) ? -Infinity : v;
  };
  const order = Array.from({ length: jointCount }, (_, j) => j);
  order.sort((a, b) => value(b) - value(a) || a - b);
  return order.slice(0, Math.max(0, Math.min(k, jointCount)));
}

/**
 * The held-out evaluation: every anomaly kind of the synthetic generator injected
 * into every held-out normal clip, scored by the model and by two simple baselines.
 * Reports clip- and frame-level ROC AUC, clip-rule recall per kind, false-positive
 * rates on held-out normal clips and on unseen motion, and joint localisation.
 * The generator is a tool, not the judge: these figures guide, they do not prove.
 */
import type { Motion } from '../model/motion.js';
import { sequenceScore } from '../model/scoring.js';
import { CANONICAL_JOINTS, LIMB_OF_JOINT, type Limb } from '../model/skeleton.js';
import type { ClipScores } from '../model/types.js';
import { ANOMALY_KINDS, injectAnomaly, type AnomalyKind, type AnomalyLabel } from '../synth/anomalies.js';
import type { FrameBaseline } from './baselines.js';
import { localisationRate, rocAuc } from './metrics.js';

export interface NamedMotion {
  readonly name: string;
  readonly motion: Motion;
}

/** What evaluation needs of a detector: clip-level results for whole clips (offline, or replayed online). */
export interface ClipScorer {
  scoreClips(motions: readonly Motion[]): Promise<ClipScores[]>;
}

export interface EvaluationInput {
  readonly scorer: ClipScorer;
  /** Held-out normal clips: never trained or calibrated on. Anomalies are injected into copies of them. */
  readonly heldOut: readonly NamedMotion[];
  /** Normal clips of motion the model never saw (e.g. a motion left out of training). */
  readonly unseen: readonly NamedMotion[];
  readonly baselines: readonly FrameBaseline[];
  readonly kinds?: readonly AnomalyKind[];
  readonly seed?: number;
}

export interface KindResult {
  readonly kind: AnomalyKind;
  readonly clips: number;
  /** Clip AUC (sequence score) of this kind against held-out normal clips. */
  readonly clipAuc: number;
  readonly frameAuc: number;
  /** Fraction of corrupted clips the clip rule flags. */
  readonly recall: number;
  /** Fraction of corrupted frames whose top-3 joints include the faulty limb (NaN for whole-body kinds). */
  readonly top3Localisation: number;
  readonly baselineClipAuc: Readonly<Record<string, number>>;
}

export interface EvaluationReport {
  readonly heldOutClips: number;
  readonly unseenClips: number;
  readonly anomalousClips: number;
  readonly clipAuc: number;
  readonly frameAuc: number;
  readonly recall: number;
  readonly falsePositiveRate: number;
  readonly unseenFalsePositiveRate: number;
  /** Clip AUC of anomalies against unseen-motion normal clips. */
  readonly clipAucVsUnseen: number;
  readonly top3Localisation: number;
  readonly baselines: Readonly<Record<string, { clipAuc: number; frameAuc: number; clipAucVsUnseen: number }>>;
  readonly perKind: readonly KindResult[];
  readonly thresholds: ClipScores['thresholds'];
}

const WHOLE_BODY_JOINTS = 15;

function limbJoints(limbs: readonly Limb[]): number[] {
  return CANONICAL_JOINTS.map((name, j) => (limbs.includes(LIMB_OF_JOINT[name]) ? j : -1)).filter((j) => j >= 0);
}

interface Scored {
  readonly label: AnomalyLabel | null;
  readonly scores: ClipScores;
  readonly baseline: Readonly<Record<string, { frames: Float32Array; sequence: number }>>;
}

function mean(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : Number.NaN;
}

export async function evaluate(input: EvaluationInput): Promise<EvaluationReport> {
  const kinds = input.kinds ?? ANOMALY_KINDS;
  const seed = input.seed ?? 1;
  const anomalous: { motion: Motion; label: AnomalyLabel }[] = [];
  input.heldOut.forEach((clip, c) => {
    kinds.forEach((kind, k) => {
      const injected = injectAnomaly(clip.motion, { kind, seed: seed * 1_000_003 + c * 101 + k });
      anomalous.push({ motion: injected.motion, label: injected.label });
    });
  });
  const scoreAll = async (motions: readonly Motion[], labels: readonly (AnomalyLabel | null)[]): Promise<Scored[]> => {
    const scores = await input.scorer.scoreClips(motions);
    return scores.map((s, i) => {
      const baseline: Record<string, { frames: Float32Array; sequence: number }> = {};
      for (const b of input.baselines) {
        const frames = b.frameScores(motions[i]!);
        baseline[b.name] = { frames, sequence: sequenceScore(frames) };
      }
      return { label: labels[i]!, scores: s, baseline };
    });
  };
  const normal = await scoreAll(
    input.heldOut.map((c) => c.motion),
    input.heldOut.map(() => null),
  );
  const unseen = await scoreAll(
    input.unseen.map((c) => c.motion),
    input.unseen.map(() => null),
  );
  const bad = await scoreAll(
    anomalous.map((a) => a.motion),
    anomalous.map((a) => a.label),
  );

  const clipAucOf = (positives: readonly Scored[], negatives: readonly Scored[], pick: (s: Scored) => number): number =>
    rocAuc([...positives.map(pick), ...negatives.map(pick)], [...positives.map(() => 1), ...negatives.map(() => 0)]);
  const frameAucOf = (clips: readonly Scored[], pick: (s: Scored) => ArrayLike<number>): number => {
    const scores: number[] = [];
    const labels: number[] = [];
    for (const clip of clips) {
      const frames = pick(clip);
      for (let t = 0; t < frames.length; t++) {
        scores.push(frames[t]!);
        labels.push(clip.label?.frameMask[t] ?? 0);
      }
    }
    return rocAuc(scores, labels);
  };
  const ours = (s: Scored): number => s.scores.sequenceScore;
  const localisation = (clips: readonly Scored[]): number =>
    mean(
      clips
        .filter((c) => c.label && c.label.joints.length < WHOLE_BODY_JOINTS)
        .map((c) => localisationRate(c.scores.jointScores, CANONICAL_JOINTS.length, c.label!.frameMask, limbJoints(c.label!.limbs), 3)),
    );

  const perKind: KindResult[] = kinds.map((kind) => {
    const clips = bad.filter((b) => b.label?.kind === kind);
    const baselineClipAuc: Record<string, number> = {};
    for (const b of input.baselines) baselineClipAuc[b.name] = clipAucOf(clips, normal, (s) => s.baseline[b.name]!.sequence);
    return {
      kind,
      clips: clips.length,
      clipAuc: clipAucOf(clips, normal, ours),
      frameAuc: frameAucOf([...clips, ...normal], (s) => s.scores.frameScores),
      recall: clips.filter((c) => c.scores.clip.anomalous).length / Math.max(1, clips.length),
      top3Localisation: localisation(clips),
      baselineClipAuc,
    };
  });
  const baselines: Record<string, { clipAuc: number; frameAuc: number; clipAucVsUnseen: number }> = {};
  for (const b of input.baselines) {
    const sequence = (s: Scored): number => s.baseline[b.name]!.sequence;
    baselines[b.name] = {
      clipAuc: clipAucOf(bad, normal, sequence),
      frameAuc: frameAucOf([...bad, ...normal], (s) => s.baseline[b.name]!.frames),
      clipAucVsUnseen: unseen.length ? clipAucOf(bad, unseen, sequence) : Number.NaN,
    };
  }
  const flagged = (clips: readonly Scored[]): number => clips.filter((c) => c.scores.clip.anomalous).length / Math.max(1, clips.length);
  return {
    heldOutClips: normal.length,
    unseenClips: unseen.length,
    anomalousClips: bad.length,
    clipAuc: clipAucOf(bad, normal, ours),
    frameAuc: frameAucOf([...bad, ...normal], (s) => s.scores.frameScores),
    recall: flagged(bad),
    falsePositiveRate: flagged(normal),
    unseenFalsePositiveRate: unseen.length ? flagged(unseen) : Number.NaN,
    clipAucVsUnseen: unseen.length ? clipAucOf(bad, unseen, ours) : Number.NaN,
    top3Localisation: localisation(bad),
    baselines,
    perKind,
    thresholds: normal[0]?.scores.thresholds ?? bad[0]!.scores.thresholds,
  };
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : 'n/a';
}

function num(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : 'n/a';
}

/** The report as a markdown summary. */
export function reportMarkdown(report: EvaluationReport): string {
  const baselineNames = Object.keys(report.baselines);
  const lines = [
    `held-out normal clips: ${report.heldOutClips}, unseen-motion normal clips: ${report.unseenClips}, injected anomalous clips: ${report.anomalousClips}`,
    '',
    '| metric | motionguard | ' + baselineNames.join(' | ') + ' |',
    '|---|---|' + baselineNames.map(() => '---|').join(''),
    `| clip ROC AUC (sequenceScore) | ${num(report.clipAuc)} | ${baselineNames.map((n) => num(report.baselines[n]!.clipAuc)).join(' | ')} |`,
    `| frame ROC AUC | ${num(report.frameAuc)} | ${baselineNames.map((n) => num(report.baselines[n]!.frameAuc)).join(' | ')} |`,
    `| clip-rule recall | ${pct(report.recall)} | ${baselineNames.map(() => '').join(' | ')} |`,
    `| false positives, held-out normal | ${pct(report.falsePositiveRate)} | ${baselineNames.map(() => '').join(' | ')} |`,
    `| false positives, unseen motion | ${pct(report.unseenFalsePositiveRate)} | ${baselineNames.map(() => '').join(' | ')} |`,
    `| clip AUC vs unseen motion | ${num(report.clipAucVsUnseen)} | ${baselineNames.map((n) => num(report.baselines[n]!.clipAucVsUnseen)).join(' | ')} |`,
    `| top-3 joints on the faulty limb | ${pct(report.top3Localisation)} | ${baselineNames.map(() => '').join(' | ')} |`,
    '',
    '| kind | clips | clip AUC | frame AUC | recall | top-3 on limb | ' + baselineNames.map((n) => `${n} clip AUC`).join(' | ') + ' |',
    '|---|---|---|---|---|---|' + baselineNames.map(() => '---|').join(''),
    ...report.perKind.map(
      (k) =>
        `| ${k.kind} | ${k.clips} | ${num(k.clipAuc)} | ${num(k.frameAuc)} | ${pct(k.recall)} | ${pct(k.top3Localisation)} | ${baselineNames.map((n) => num(k.baselineClipAuc[n]!)).join(' | ')} |`,
    ),
  ];
  return lines.join('\n');
}

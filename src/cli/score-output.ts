/** The `score` JSONL contract (one object per input file, in input order). */
import type { ClipScores } from '../model/types.js';

export interface ScoreLine {
  readonly file: string;
  readonly frames: number;
  readonly fps: number;
  readonly jointNames: readonly string[];
  readonly frameScores: number[];
  readonly jointScores: number[][];
  readonly sequenceScore: number;
  readonly clip: { readonly anomalous: boolean; readonly fraction: number; readonly maxFrameScore: number; readonly reason: string };
  readonly thresholds: { readonly frame: number; readonly sequence: number; readonly fraction: number; readonly spike: number };
}

export interface ErrorLine {
  readonly file: string;
  readonly error: string;
}

/** Five significant digits: plenty for scores, and keeps a 1,000-clip run's output small. */
function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(5)) : x;
}

export function scoreLine(file: string, fps: number, scores: ClipScores): ScoreLine {
  const J = scores.jointNames.length;
  const jointScores: number[][] = [];
  for (let t = 0; t < scores.frameCount; t++) jointScores.push(Array.from(scores.jointScores.subarray(t * J, (t + 1) * J), round));
  return {
    file,
    frames: scores.frameCount,
    fps,
    jointNames: scores.jointNames,
    frameScores: Array.from(scores.frameScores, round),
    jointScores,
    sequenceScore: round(scores.sequenceScore),
    clip: {
      anomalous: scores.clip.anomalous,
      fraction: round(scores.clip.fraction),
      maxFrameScore: round(scores.clip.maxFrameScore),
      reason: scores.clip.reason,
    },
    thresholds: {
      frame: round(scores.thresholds.frame),
      sequence: round(scores.thresholds.sequence),
      fraction: scores.thresholds.fraction,
      spike: round(scores.thresholds.spike),
    },
  };
}

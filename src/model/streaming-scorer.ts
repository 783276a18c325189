/**
 * The boundary between src/stream and the model: new frames of many avatars in, scores
 * of exactly those frames out, with one batched model call per call. The scorer keeps
 * each avatar's state (recent frames, model caches, adaptive statistics) between calls,
 * so the cost of a call grows with the NEW frames, not with the 250-frame window.
 * Scores are causal: a frame's score depends only on frames that arrived before it.
 */
import type { Thresholds } from './types.js';

/** New frames of one avatar, in arrival order, already at the scorer's fps. */
export interface AvatarFrames {
  readonly avatar: string;
  /** Number of frames in `positions`. */
  readonly frames: number;
  /** frames x J x 3 world positions: canonical joint order (jointNames), metres, right-handed, Y up. */
  readonly positions: Float32Array;
}

/** Scores of the frames given for one avatar, in the same order. */
export interface AvatarScores {
  readonly avatar: string;
  /** One score per new frame; higher is more anomalous; compare with thresholds.frame. */
  readonly frameScores: Float32Array;
  /** frames x J joint scores, same joint order as jointNames. */
  readonly jointScores: Float32Array;
}

export interface StreamingScorer {
  readonly jointNames: readonly string[];
  readonly fps: number;
  /** Frames in the sliding window the clip rule looks at. */
  readonly windowFrames: number;
  readonly thresholds: Thresholds;
  /** The online rule's fraction floor that suits these scores (ScoringConfig.onlineFractionFloorFrames); absent: the rule's default. */
  readonly fractionFloorFrames?: number;
  /**
   * Scores the new frames of every avatar given (each avatar at most once per call).
   * Resolves with one entry per input entry, in input order.
   */
  scoreNewFrames(batch: readonly AvatarFrames[]): Promise<AvatarScores[]>;
  /** Drops the state of avatars that left; their next frames start a fresh window. */
  forget(avatars: readonly string[]): void;
  close(): Promise<void>;
}

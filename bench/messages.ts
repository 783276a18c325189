/** Messages between the benchmark's orchestrator and its child processes (Node IPC). */
import type { AnomalyKind } from '../src/synth/anomalies.js';
import type { AlertOutcomes } from './alert-outcomes.js';
import type { Summary } from './stats.js';

/** False starts this soon after an avatar's first frame count as joining transients. */
export const MATURE_SECONDS = 5;
/** ... and this soon after one of the benchmark's loop seams, as seam artifacts. */
export const SEAM_SECONDS = 2;

export interface AnomalyAssignment {
  /** Index of the avatar within its generator. */
  readonly avatarIndex: number;
  readonly kind: AnomalyKind;
  /** Seq at which the corruption starts (frames since the avatar's first frame). */
  readonly onsetSeq: number;
  readonly frames: number;
  readonly severity: number;
  readonly seed: number;
}

export interface LoadGenConfig {
  readonly type: 'config';
  /** http://host:port of the server. */
  readonly url: string;
  readonly generator: number;
  readonly avatars: number;
  readonly avatarsPerConnection: number;
  readonly fps: number;
  readonly anomalies: readonly AnomalyAssignment[];
  /** Avatars (indices) whose per-tick scores are subscribed to for latency. */
  readonly latencyAvatars: readonly number[];
  readonly dataDir: string | null;
  readonly modelDir: string;
  readonly maxClips: number;
  readonly seed: number;
}

export interface LoadGenGo {
  readonly type: 'go';
  /** Epoch ms at which seq 0 is due. */
  readonly startAt: number;
  /** Frames sent before this (seconds after startAt) warm up and are not measured. */
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
  /** After the last frame: how long to wait for its scores and alerts. */
  readonly drainSeconds: number;
  /** Connections join one after another over this many seconds (avatars of one connection together), as VR servers come online. */
  readonly joinSeconds: number;
}

export interface LoadGenReady {
  readonly type: 'ready';
  readonly motionSource: string;
}

/** Counted once per false start, in this order: an avatar's first seconds, then a loop seam just before, else neither. */
export interface FalseStartCauses {
  /** In the avatar's first MATURE_SECONDS (a young window, a join mid-motion). */
  readonly joining: number;
  /** Within SEAM_SECONDS after one of the benchmark's own loop seams (an artifact of looping short clips). */
  readonly nearSeam: number;
  readonly other: number;
  /** Seconds since the avatar's first frame, of every false start. */
  readonly atSeconds: number[];
  /** The looped clip each false start's avatar was playing (same order as atSeconds). */
  readonly clips: string[];
}

export interface LoadGenResult {
  readonly type: 'result';
  readonly generator: number;
  readonly framesScheduled: number;
  readonly framesSent: number;
  /** Frames per second actually sent during the measured window / scheduled. */
  readonly deliveredFraction: number;
  /** How late sends were against their 30 Hz schedule (ms). */
  readonly sendLateness: Summary;
  /** Frame-to-score latencies (ms) of every measured frame of the latency avatars that got a score. */
  readonly latenciesMs: number[];
  /** Measured frames of the latency avatars that never got a score (by the end of the drain). */
  readonly unscoredFrames: number;
  readonly scoresMessages: number;
  readonly alerts: AlertOutcomes;
  /** The false starts on normal avatars (alerts.falseStarts) by what came just before them. */
  readonly falseStartCauses: FalseStartCauses;
  /** Seconds streamed by normal avatars past their first MATURE_SECONDS and not within SEAM_SECONDS after a seam: the exposure of `other` false starts. */
  readonly cleanNormalAvatarSeconds: number;
  readonly normalAvatars: number;
  /** Seconds streamed, summed over avatars (all, and those without an anomaly). */
  readonly avatarSeconds: number;
  readonly normalAvatarSeconds: number;
  readonly errorsByCode: Record<string, number>;
  readonly unexpectedCloses: number;
  /** The generator's own event-loop delay (ms): its timestamps are this late at worst. */
  readonly eventLoopDelay: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly cpuSeconds: number;
}

export interface ChildFailure {
  readonly type: 'error';
  readonly message: string;
}

export type LoadGenMessage = LoadGenReady | LoadGenResult | ChildFailure;

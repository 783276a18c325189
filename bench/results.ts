/** The shape of bench/results/*.json: everything a run measured, with the conditions it measured them in. */
import type { CodeState, MachineInfo } from './machine.js';
import type { OfflineResult, OfflineUnavailable } from './offline.js';
import type { BenchOptions } from './options.js';
import type { RampStep } from './ramp.js';
import type { TrialResult } from './trial.js';

export const RESULTS_SCHEMA = 'motionguard-bench/1';

/** Normal motion only: every `start` is a false alert (the bar: none for 100 avatars over 60 s). */
export interface FalseAlertResult {
  readonly trial: string;
  readonly avatars: number;
  /** Seconds each avatar streamed (warm-up and measured window together). */
  readonly secondsPerAvatar: number;
  readonly falseStarts: number;
  readonly avatarsWithFalseStarts: number;
  readonly causes: { readonly joining: number; readonly nearSeam: number; readonly other: number };
  /** Each false start: the looped clip its avatar played and when, seconds after the avatar's first frame. */
  readonly starts: { readonly clip: string; readonly atSeconds: number }[];
}

export interface PhaseConditions {
  readonly loadAverageStart: number[];
  readonly loadAverageEnd: number[];
  /** Cores busy with other processes than the benchmark's own, averaged over the phase (null: no /proc). */
  readonly otherCores: number | null;
  readonly wallSeconds: number;
}

export type OfflineBackend = (OfflineResult | OfflineUnavailable) & {
  /** Best plain 2D matMul rate measured on this backend (GFLOP/s): the limit the model's rates are compared with. */
  readonly peakGflops: number | null;
  readonly conditions: PhaseConditions;
};

export interface CapacityResult {
  readonly strategy: string;
  readonly workers: number;
  readonly capacity: number;
  readonly firstFailure: number | null;
  readonly firstFailureReasons: string[];
  readonly capped: boolean;
  readonly nonMonotonic: boolean;
  readonly steps: RampStep[];
  readonly trialIds: string[];
}

export interface SideBySide {
  readonly avatars: number;
  readonly workers: number;
  readonly incrementalTrial: string;
  readonly fullWindowTrial: string;
  /** full-window / incremental server CPU per avatar-second (how much more work the naive path does). */
  readonly cpuPerAvatarRatio: number | null;
  /** full-window / incremental client-measured p99 latency. */
  readonly p99Ratio: number | null;
}

export interface BenchResults {
  readonly schema: typeof RESULTS_SCHEMA;
  readonly mode: 'quick' | 'full';
  readonly startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  readonly argv: string[];
  readonly options: BenchOptions;
  readonly machine: MachineInfo;
  readonly code: CodeState;
  readonly model: { readonly dir: string; readonly preset: string; readonly streamingThresholds: unknown };
  offline: { readonly backends: OfflineBackend[] } | null;
  streaming: {
    readonly motionSource: string;
    readonly budgetMs: number;
    readonly trials: TrialResult[];
    readonly capacity: CapacityResult[];
    readonly sideBySide: SideBySide[];
    /** incremental capacity / full-window capacity, per worker count. */
    readonly capacityRatios: {
      readonly workers: number;
      readonly incremental: number;
      readonly fullWindow: number;
      readonly ratio: number | null;
      /** Server CPU per avatar-second in the trial at each strategy's capacity, and full-window / incremental. */
      readonly cpuMsPerAvatarSecondAtCapacity: { readonly incremental: number | null; readonly fullWindow: number | null };
      readonly cpuRatioAtCapacity: number | null;
    }[];
    /** The false-alert trial (phase false-alerts): normal motion only, no injected anomaly. */
    readonly falseAlerts?: FalseAlertResult | null;
  } | null;
  readonly notes: string[];
}

/**
 * One factory for the streaming scorer that src/stream and `score --replay` use: loads the
 * model, starts the backend (and worker threads) and returns a StreamingScorer.
 */
import os from 'node:os';
import { initBackend, resolveBackendName, type BackendName } from './backend.js';
import { FullWindowScorer } from './full-window-scorer.js';
import { IncrementalScorer } from './incremental-scorer.js';
import { DEFAULT_MODEL_DIR, loadModel, withScoringOverrides, type ScoringOverrides } from './model-dir.js';
import { MotionScorer } from './scorer.js';
import { StreamingWorkerPool } from './streaming-pool.js';
import type { StreamingScorer } from './streaming-scorer.js';
import { WorkerPoolTerms } from './worker-pool.js';

/**
 * 'incremental': causal models; each call costs only the new frames (cached keys/values).
 * 'full-window': any model; each call re-scores every avatar's whole recent window (the
 * naive way, kept for bidirectional models and as the benchmark's baseline).
 */
export type StreamingStrategy = 'incremental' | 'full-window';
export const STREAMING_STRATEGIES: readonly StreamingStrategy[] = ['incremental', 'full-window'];

export interface StreamingScorerOptions {
  /** Model directory; the shipped default model when absent. */
  readonly modelDir?: string;
  /** tfjs backend; $MOTIONGUARD_BACKEND or wasm when absent. */
  readonly backend?: BackendName;
  /** Inference worker threads (0 = in this thread); one per core up to 2 when absent. */
  readonly workers?: number;
  /** Incremental for causal models, full-window otherwise, when absent. */
  readonly strategy?: StreamingStrategy;
  /** The hold and body priors on or off (ScoringConfig.holdPrior, bodyPrior); the model's settings when absent. */
  readonly scoring?: ScoringOverrides;
}

export async function openStreamingScorer(options: StreamingScorerOptions = {}): Promise<StreamingScorer> {
  const modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
  const backend = await initBackend(options.backend ?? resolveBackendName());
  const loaded = withScoringOverrides(await loadModel(modelDir), options.scoring ?? {});
  if (!loaded.calibration) throw new Error(`model ${modelDir} is not calibrated: run 'motionguard calibrate'`);
  const workers = options.workers ?? Math.min(2, os.availableParallelism());
  if (!Number.isInteger(workers) || workers < 0) throw new Error(`workers must be a whole number >= 0, got ${workers}`);
  const causal = loaded.config.encoder.causal ?? false;
  const strategy = options.strategy ?? (causal ? 'incremental' : 'full-window');
  if (!STREAMING_STRATEGIES.includes(strategy)) throw new Error(`unknown streaming strategy '${String(strategy)}' (known: ${STREAMING_STRATEGIES.join(', ')})`);
  if (strategy === 'incremental') {
    if (!causal) throw new Error(`model ${modelDir} (preset '${loaded.config.preset}') is not causal: incremental streaming needs a causal preset; use strategy 'full-window'`);
    if (workers === 0) return new IncrementalScorer(loaded);
    const local = new IncrementalScorer(loaded);
    const pool = new StreamingWorkerPool({ modelDir: loaded.dir, backend, workers, fps: local.fps, windowFrames: local.windowFrames, thresholds: local.thresholds, fractionFloorFrames: local.fractionFloorFrames, scoring: options.scoring });
    loaded.model.dispose(); // the workers hold their own copies
    return pool;
  }
  if (workers === 0) return new FullWindowScorer(new MotionScorer(loaded));
  const pool = new WorkerPoolTerms(loaded.dir, backend, workers);
  return new FullWindowScorer(new MotionScorer(loaded, { terms: pool }), () => pool.close());
}

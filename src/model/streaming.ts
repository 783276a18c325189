/**
 * One factory for the streaming scorer that src/stream and `score --replay` use: loads the
 * model, starts the backend (and worker threads) and returns a StreamingScorer.
 */
import os from 'node:os';
import { initBackend, resolveBackendName, type BackendName } from './backend.js';
import { FullWindowScorer } from './full-window-scorer.js';
import { DEFAULT_MODEL_DIR, loadModel } from './model-dir.js';
import { MotionScorer } from './scorer.js';
import type { StreamingScorer } from './streaming-scorer.js';
import { WorkerPoolTerms } from './worker-pool.js';

export type StreamingStrategy = 'full-window';
export const STREAMING_STRATEGIES: readonly StreamingStrategy[] = ['full-window'];

export interface StreamingScorerOptions {
  /** Model directory; the shipped default model when absent. */
  readonly modelDir?: string;
  /** tfjs backend; $MOTIONGUARD_BACKEND or wasm when absent. */
  readonly backend?: BackendName;
  /** Inference worker threads (0 = in this thread); one per core up to 2 when absent. */
  readonly workers?: number;
  readonly strategy?: StreamingStrategy;
}

export async function openStreamingScorer(options: StreamingScorerOptions = {}): Promise<StreamingScorer> {
  const modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
  const backend = await initBackend(options.backend ?? resolveBackendName());
  const loaded = await loadModel(modelDir);
  if (!loaded.calibration) throw new Error(`model ${modelDir} is not calibrated: run 'motionguard calibrate'`);
  const workers = options.workers ?? Math.min(2, os.availableParallelism());
  if (!Number.isInteger(workers) || workers < 0) throw new Error(`workers must be a whole number >= 0, got ${workers}`);
  const strategy = options.strategy ?? 'full-window';
  if (!STREAMING_STRATEGIES.includes(strategy)) throw new Error(`unknown streaming strategy '${String(strategy)}' (known: ${STREAMING_STRATEGIES.join(', ')})`);
  if (workers === 0) return new FullWindowScorer(new MotionScorer(loaded));
  const pool = new WorkerPoolTerms(loaded.dir, backend, workers);
  return new FullWindowScorer(new MotionScorer(loaded, { terms: pool }), () => pool.close());
}

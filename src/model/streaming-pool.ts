/**
 * The incremental scorer spread over worker threads: each avatar belongs to one worker
 * (its caches live there), new avatars go to the worker with the fewest, and a call scores
 * every worker's share in parallel: one batched model call per worker.
 */
import type { BackendName } from './backend.js';
import type { AvatarFrames, AvatarScores, StreamingScorer } from './streaming-scorer.js';
import type { StreamingWorkerRequest } from './streaming-worker.js';
import { WorkerRpc } from './worker-rpc.js';
import { CANONICAL_JOINTS } from './skeleton.js';
import type { ScoringOverrides } from './model-dir.js';
import type { Thresholds } from './types.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface StreamingPoolOptions {
  readonly modelDir: string;
  readonly backend: BackendName;
  readonly workers: number;
  readonly fps: number;
  readonly windowFrames: number;
  readonly thresholds: Thresholds;
  readonly fractionFloorFrames?: number;
  /** Passed to each worker's model (see withScoringOverrides); the model's setting when absent. */
  readonly scoring?: ScoringOverrides;
}

export class StreamingWorkerPool implements StreamingScorer {
  readonly jointNames = CANONICAL_JOINTS;
  readonly fps: number;
  readonly windowFrames: number;
  readonly thresholds: Thresholds;
  readonly fractionFloorFrames?: number;
  private readonly workers: WorkerRpc<WithoutId<StreamingWorkerRequest>, AvatarScores[]>[];
  private readonly load: number[];
  private readonly owner = new Map<string, number>();

  constructor(options: StreamingPoolOptions) {
    if (!(options.workers >= 1)) throw new Error(`a streaming pool needs at least one worker, got ${options.workers}`);
    this.fps = options.fps;
    this.windowFrames = options.windowFrames;
    this.thresholds = options.thresholds;
    this.fractionFloorFrames = options.fractionFloorFrames;
    this.load = new Array<number>(options.workers).fill(0);
    const script = new URL('./streaming-worker.mjs', import.meta.url);
    this.workers = Array.from({ length: options.workers }, () => new WorkerRpc(script, { modelDir: options.modelDir, backend: options.backend, scoring: options.scoring ?? {} }, 'streaming worker'));
  }

  get size(): number {
    return this.workers.length;
  }

  private request(worker: number, message: WithoutId<StreamingWorkerRequest>): Promise<AvatarScores[]> {
    return this.workers[worker]!.call(message);
  }

  private workerOf(avatar: string): number {
    let w = this.owner.get(avatar);
    if (w === undefined) {
      w = this.load.indexOf(Math.min(...this.load));
      this.owner.set(avatar, w);
      this.load[w]!++;
    }
    return w;
  }

  async scoreNewFrames(batch: readonly AvatarFrames[]): Promise<AvatarScores[]> {
    const shares: { index: number; entry: AvatarFrames }[][] = this.workers.map(() => []);
    batch.forEach((entry, index) => shares[this.workerOf(entry.avatar)]!.push({ index, entry }));
    const out: AvatarScores[] = new Array(batch.length);
    await Promise.all(
      shares.map(async (share, w) => {
        if (share.length === 0) return;
        // Copies, not transfers: the caller keeps its frames.
        const scores = await this.request(w, { kind: 'score', batch: share.map((s) => s.entry) });
        share.forEach((s, k) => (out[s.index] = scores[k]!));
      }),
    );
    return out;
  }

  forget(avatars: readonly string[]): void {
    const byWorker: string[][] = this.workers.map(() => []);
    for (const avatar of avatars) {
      const w = this.owner.get(avatar);
      if (w === undefined) continue;
      this.owner.delete(avatar);
      this.load[w]!--;
      byWorker[w]!.push(avatar);
    }
    byWorker.forEach((list, w) => {
      if (list.length > 0) void this.request(w, { kind: 'forget', avatars: list }).catch(() => {});
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

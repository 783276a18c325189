/**
 * The incremental scorer spread over worker threads: each avatar belongs to one worker
 * (its caches live there), new avatars go to the worker with the fewest, and a call scores
 * every worker's share in parallel: one batched model call per worker.
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from './backend.js';
import type { AvatarFrames, AvatarScores, StreamingScorer } from './streaming-scorer.js';
import type { StreamingWorkerRequest, StreamingWorkerResponse } from './streaming-worker.js';
import { CANONICAL_JOINTS } from './skeleton.js';
import type { Thresholds } from './types.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface StreamingPoolOptions {
  readonly modelDir: string;
  readonly backend: BackendName;
  readonly workers: number;
  readonly fps: number;
  readonly windowFrames: number;
  readonly thresholds: Thresholds;
}

export class StreamingWorkerPool implements StreamingScorer {
  readonly jointNames = CANONICAL_JOINTS;
  readonly fps: number;
  readonly windowFrames: number;
  readonly thresholds: Thresholds;
  private readonly workers: Worker[];
  private readonly load: number[];
  private readonly owner = new Map<string, number>();
  private readonly pending = new Map<number, { resolve: (s: AvatarScores[]) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(options: StreamingPoolOptions) {
    if (!(options.workers >= 1)) throw new Error(`a streaming pool needs at least one worker, got ${options.workers}`);
    this.fps = options.fps;
    this.windowFrames = options.windowFrames;
    this.thresholds = options.thresholds;
    this.load = new Array<number>(options.workers).fill(0);
    this.workers = Array.from({ length: options.workers }, () => {
      const worker = new Worker(new URL('./streaming-worker.mjs', import.meta.url), { workerData: { modelDir: options.modelDir, backend: options.backend } });
      worker.on('message', (response: StreamingWorkerResponse) => {
        const waiter = this.pending.get(response.id);
        if (!waiter) return;
        this.pending.delete(response.id);
        if ('error' in response) waiter.reject(new Error(`streaming worker: ${response.error}`));
        else waiter.resolve(response.scores);
      });
      worker.on('error', (error) => {
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
      });
      return worker;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  private request(worker: number, message: WithoutId<StreamingWorkerRequest>): Promise<AvatarScores[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[worker]!.postMessage({ ...message, id });
    });
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

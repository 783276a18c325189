/**
 * Scoring terms computed by N worker threads, each with its own model copy. A batch of
 * motions is split into N shares of about equal frame count.
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from './backend.js';
import type { Motion } from './motion.js';
import type { TermsSource } from './terms-source.js';
import type { WorkerRequest, WorkerResponse } from './terms-worker.js';
import type { RawClipTerms } from './types.js';

/** Splits item indices into `parts` groups of about equal total weight (longest first, to the lightest group). */
export function balance(weights: readonly number[], parts: number): number[][] {
  const groups = Array.from({ length: parts }, () => ({ load: 0, items: [] as number[] }));
  const order = weights.map((_, i) => i).sort((a, b) => weights[b]! - weights[a]!);
  for (const i of order) {
    const lightest = groups.reduce((best, g) => (g.load < best.load ? g : best));
    lightest.items.push(i);
    lightest.load += weights[i]!;
  }
  return groups.map((g) => g.items.sort((a, b) => a - b)).filter((g) => g.length > 0);
}

export class WorkerPoolTerms implements TermsSource {
  private readonly workers: Worker[];
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (t: RawClipTerms[]) => void; reject: (e: Error) => void }>();

  constructor(modelDir: string, backend: BackendName, size: number) {
    if (!(size >= 1)) throw new Error(`worker pool needs at least one worker, got ${size}`);
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(new URL('./terms-worker.mjs', import.meta.url), { workerData: { modelDir, backend } });
      worker.on('message', (response: WorkerResponse) => {
        const waiter = this.pending.get(response.id);
        if (!waiter) return;
        this.pending.delete(response.id);
        if ('error' in response) waiter.reject(new Error(`scoring worker: ${response.error}`));
        else waiter.resolve(response.terms);
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

  private request(worker: Worker, motions: readonly Motion[]): Promise<RawClipTerms[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Copies, not transfers: the caller keeps its motions.
      const request: WorkerRequest = { id, motions: motions.map((m) => ({ fps: m.fps, positions: m.positions })) };
      worker.postMessage(request);
    });
  }

  async rawTerms(motions: readonly Motion[]): Promise<RawClipTerms[]> {
    const shares = balance(
      motions.map((m) => m.frameCount),
      this.workers.length,
    );
    const results = await Promise.all(shares.map((share, w) => this.request(this.workers[w]!, share.map((i) => motions[i]!))));
    const out: RawClipTerms[] = new Array(motions.length);
    shares.forEach((share, w) => share.forEach((i, k) => (out[i] = results[w]![k]!)));
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

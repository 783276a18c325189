/**
 * Scoring terms computed by N worker threads, each with its own model copy. A batch of
 * motions is split into N shares of about equal frame count.
 */
import type { BackendName } from './backend.js';
import type { Motion } from './motion.js';
import type { TermsSource } from './terms-source.js';
import type { WorkerRequest } from './terms-worker.js';
import { WorkerRpc } from './worker-rpc.js';
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
  private readonly workers: WorkerRpc<Omit<WorkerRequest, 'id'>, RawClipTerms[]>[];

  constructor(modelDir: string, backend: BackendName, size: number) {
    if (!(size >= 1)) throw new Error(`worker pool needs at least one worker, got ${size}`);
    this.workers = Array.from({ length: size }, () => new WorkerRpc(new URL('./terms-worker.mjs', import.meta.url), { modelDir, backend }, 'scoring worker'));
  }

  get size(): number {
    return this.workers.length;
  }

  private request(worker: WorkerRpc<Omit<WorkerRequest, 'id'>, RawClipTerms[]>, motions: readonly Motion[]): Promise<RawClipTerms[]> {
    // Copies, not transfers: the caller keeps its motions.
    return worker.call({ motions: motions.map((m) => ({ fps: m.fps, positions: m.positions })) });
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

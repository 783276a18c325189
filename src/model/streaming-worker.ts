/**
 * A worker thread that owns the streaming state of its share of the avatars: its own wasm
 * instance, its own model copy and an IncrementalScorer (wasm threads do not work under
 * Node, so worker_threads are how streaming inference uses more than one core).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from './backend.js';
import { IncrementalScorer } from './incremental-scorer.js';
import { loadModel, withScoringOverrides, type ScoringOverrides } from './model-dir.js';
import type { AvatarFrames, AvatarScores } from './streaming-scorer.js';
import type { WorkerReply } from './worker-rpc.js';

export type StreamingWorkerRequest =
  | { readonly id: number; readonly kind: 'score'; readonly batch: readonly AvatarFrames[] }
  | { readonly id: number; readonly kind: 'forget'; readonly avatars: readonly string[] };

export type StreamingWorkerResponse = WorkerReply<AvatarScores[]>;

const { modelDir, backend, scoring } = workerData as { modelDir: string; backend: BackendName; scoring: ScoringOverrides };
const port = parentPort!;
const ready = (async () => {
  await initBackend(backend);
  return new IncrementalScorer(withScoringOverrides(await loadModel(modelDir), scoring));
})();
ready.catch(() => {}); // reported per request below

// One request at a time, in arrival order: a 'forget' must not land in the middle of a score.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: StreamingWorkerRequest) => {
  queue = queue.then(() => handle(request));
});

async function handle(request: StreamingWorkerRequest): Promise<void> {
  try {
    const scorer = await ready;
    if (request.kind === 'forget') {
      scorer.forget(request.avatars);
      port.postMessage({ id: request.id, result: [] } satisfies StreamingWorkerResponse);
      return;
    }
    const scores = await scorer.scoreNewFrames(request.batch);
    const transfer = scores.flatMap((s) => [s.frameScores.buffer, s.jointScores.buffer]) as ArrayBuffer[];
    port.postMessage({ id: request.id, result: scores } satisfies StreamingWorkerResponse, transfer);
  } catch (error) {
    port.postMessage({ id: request.id, error: (error as Error).message } satisfies StreamingWorkerResponse);
  }
}

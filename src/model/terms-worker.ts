/**
 * A worker thread with its own wasm instance and its own copy of the model: wasm threads
 * do not work under Node, so worker_threads are how scoring uses more than one core.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from './backend.js';
import { loadModel } from './model-dir.js';
import { createMotion } from './motion.js';
import { termBuffers } from './raw-terms.js';
import { LocalTerms } from './scorer.js';
import { CANONICAL_JOINTS } from './skeleton.js';
import type { RawClipTerms } from './types.js';
import type { WorkerReply } from './worker-rpc.js';

export interface WorkerRequest {
  readonly id: number;
  readonly motions: readonly { fps: number; positions: Float32Array }[];
}

export type WorkerResponse = WorkerReply<RawClipTerms[]>;

const { modelDir, backend } = workerData as { modelDir: string; backend: BackendName };
const port = parentPort!;
const ready = (async () => {
  await initBackend(backend);
  return new LocalTerms(await loadModel(modelDir));
})();
ready.catch(() => {}); // reported per request below

port.on('message', async (request: WorkerRequest) => {
  try {
    const source = await ready;
    const motions = request.motions.map((m) => createMotion(m.fps, CANONICAL_JOINTS, m.positions));
    const terms = await source.rawTerms(motions);
    const transfer = terms.flatMap(termBuffers);
    port.postMessage({ id: request.id, result: terms } satisfies WorkerResponse, transfer);
  } catch (error) {
    port.postMessage({ id: request.id, error: (error as Error).message } satisfies WorkerResponse);
  }
});

/**
 * A training replica in its own thread (its own wasm instance): receives the current
 * weights and a share of the batch, returns that share's loss and gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from '../model/backend.js';
import type { WindowBatch } from '../model/mae.js';
import { NFlowAD } from '../model/nflowad.js';
import { assignValues } from '../model/params.js';
import type { ModelConfig } from '../model/types.js';

export interface GradientRequest {
  /** Current values of the trainable MAE variables, concatenated in order. */
  readonly weights: Float32Array;
  readonly batch: WindowBatch;
  readonly mask: Float32Array;
  readonly positionOffset: number;
}

export type GradientResponse = { readonly loss: number; readonly gradients: Float32Array } | { readonly error: string };

const { config, backend } = workerData as { config: ModelConfig; backend: BackendName };
const port = parentPort!;
const ready = (async () => {
  await initBackend(backend);
  return new NFlowAD(config);
})();
ready.catch(() => {}); // reported per request below

port.on('message', async (request: GradientRequest) => {
  try {
    const model = await ready;
    const vars = model.params.trainable('mae/');
    let offset = 0;
    for (const v of vars) {
      assignValues(v, request.weights.subarray(offset, offset + v.size));
      offset += v.size;
    }
    const { value, grads } = tf.variableGrads(() => model.mae.loss(request.batch, request.mask, request.positionOffset), vars);
    const gradients = new Float32Array(offset);
    offset = 0;
    for (const v of vars) {
      const g = grads[v.name]!;
      gradients.set(g.dataSync() as Float32Array, offset);
      offset += v.size;
    }
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    port.postMessage({ loss, gradients } satisfies GradientResponse, [gradients.buffer]);
  } catch (error) {
    port.postMessage({ error: (error as Error).message } satisfies GradientResponse);
  }
});

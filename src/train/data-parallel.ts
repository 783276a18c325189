/**
 * Data-parallel training step over two cores: this thread and a worker replica each
 * take part of the batch; gradients are averaged (weighted by windows) and ONE optimizer
 * update is applied here, then the new weights go back to the replica. Replicas never
 * drift, and a run is as reproducible as a single-threaded one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../model/backend.js';
import type { WindowBatch } from '../model/mae.js';
import type { NFlowAD } from '../model/nflowad.js';
import type { GradientRequest, GradientResponse } from './gradient-worker.js';

/** Windows [from, to) of a packed batch, as a batch of its own. */
export function sliceBatch(batch: WindowBatch, mask: Float32Array, from: number, to: number, tokens: number): { batch: WindowBatch; mask: Float32Array } {
  const T = batch.frames;
  const featureSize = batch.features.length / (batch.batch * T);
  return {
    batch: {
      batch: to - from,
      frames: T,
      features: batch.features.slice(from * T * featureSize, to * T * featureSize),
      valid: batch.valid.slice(from * T, to * T),
    },
    mask: mask.slice(from * T * tokens, to * T * tokens),
  };
}

export class DataParallelStep {
  private readonly worker: Worker;

  constructor(
    private readonly model: NFlowAD,
    backend: BackendName,
  ) {
    this.worker = new Worker(new URL('./gradient-worker.mjs', import.meta.url), { workerData: { config: model.config, backend } });
  }

  private weights(vars: readonly tf.Variable[]): Float32Array {
    const total = vars.reduce((s, v) => s + v.size, 0);
    const out = new Float32Array(total);
    let offset = 0;
    for (const v of vars) {
      out.set(v.dataSync() as Float32Array, offset);
      offset += v.size;
    }
    return out;
  }

  private remote(request: GradientRequest): Promise<{ loss: number; gradients: Float32Array }> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.worker.once('error', onError);
      this.worker.once('message', (response: GradientResponse) => {
        this.worker.off('error', onError);
        if ('error' in response) reject(new Error(`training worker: ${response.error}`));
        else resolve(response);
      });
      this.worker.postMessage(request);
    });
  }

  /** One optimisation step on the whole batch; returns the batch's mean loss. */
  async step(optimizer: tf.Optimizer, vars: readonly tf.Variable[], batch: WindowBatch, mask: Float32Array, positionOffset: number, tokens: number): Promise<number> {
    if (batch.batch < 2) {
      const cost = optimizer.minimize(() => this.model.mae.loss(batch, mask, positionOffset), true, [...vars])!;
      const value = (await cost.data())[0]!;
      cost.dispose();
      return value;
    }
    const half = Math.floor(batch.batch / 2);
    const mine = sliceBatch(batch, mask, 0, half, tokens);
    const theirs = sliceBatch(batch, mask, half, batch.batch, tokens);
    // The replica works while this thread computes its own share.
    const remote = this.remote({ weights: this.weights(vars), batch: theirs.batch, mask: theirs.mask, positionOffset });
    const { value, grads } = tf.variableGrads(() => this.model.mae.loss(mine.batch, mine.mask, positionOffset), [...vars]);
    const localLoss = (await value.data())[0]!;
    const other = await remote;
    const wMine = mine.batch.batch / batch.batch;
    const wTheirs = 1 - wMine;
    const combined: Record<string, tf.Tensor> = {};
    let offset = 0;
    for (const v of vars) {
      const remoteGrad = tf.tensor(other.gradients.subarray(offset, offset + v.size), v.shape);
      combined[v.name] = tf.tidy(() => tf.add(tf.mul(grads[v.name]!, wMine), tf.mul(remoteGrad, wTheirs)));
      remoteGrad.dispose();
      offset += v.size;
    }
    optimizer.applyGradients(combined);
    tf.dispose([value, ...Object.values(grads), ...Object.values(combined)]);
    return wMine * localLoss + wTheirs * other.loss;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

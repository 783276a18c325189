/**
 * The masked autoencoder: per-frame linear embedding of the (masked) skeleton (eq. 1),
 * a Transformer encoder over time (eq. 2) and a per-frame MLP decoder back to joint
 * coordinates. Hidden joints are replaced by a learned mask token and the 0/1 mask is
 * given to the embedding too, so the model knows what it must infer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dense, encoderLayer, fullAttentionBias, gelu, layerNorm, localAttentionBias, positionCodes } from './layers.js';
import { CHANNELS, FEATURE_SIZE, TOKEN_COUNT } from './normalise.js';
import type { ParamStore } from './params.js';
import type { ModelConfig } from './types.js';

/** A batch of windows, padded to a common length. */
export interface WindowBatch {
  readonly batch: number;
  readonly frames: number;
  /** batch x frames x FEATURE_SIZE standardised features (zeros on padding). */
  readonly features: Float32Array;
  /** batch x frames: 1 on real frames, 0 on padding. */
  readonly valid: Float32Array;
}

export class MaskedAutoencoder {
  private readonly positions = new Map<number, tf.Tensor2D>();

  constructor(
    private readonly params: ParamStore,
    private readonly config: ModelConfig,
  ) {
    // Create every variable up front so saving, loading and optimisers see them all.
    tf.tidy(() => {
      const b = { batch: 1, frames: 2, features: new Float32Array(2 * FEATURE_SIZE), valid: new Float32Array([1, 1]) };
      this.forward(b, new Float32Array(2 * TOKEN_COUNT));
    });
  }

  get dModel(): number {
    return this.config.encoder.dModel;
  }

  /** Position codes for frames [offset, offset + frames). */
  private positionCodes(frames: number, offset: number): tf.Tensor2D {
    const length = this.config.windowFrames + this.config.training.trainWindow;
    let codes = this.positions.get(length);
    if (!codes) {
      codes = tf.keep(positionCodes(length, this.dModel));
      this.positions.set(length, codes);
    }
    if (offset + frames > length) return positionCodes(offset + frames, this.dModel).slice([offset, 0], [frames, -1]);
    return codes.slice([offset, 0], [frames, -1]);
  }

  /**
   * Encodes and reconstructs. mask: batch x frames x TOKEN_COUNT, 1 = hidden.
   * Returns reconstruction [B*T, FEATURE_SIZE] and latents h [B*T, d].
   */
  forward(batch: WindowBatch, mask: Float32Array, positionOffset = 0): { reconstruction: tf.Tensor2D; latent: tf.Tensor2D } {
    const { batch: B, frames: T } = batch;
    const { dModel, layers, heads, ffnMultiplier, attentionRadius } = this.config.encoder;
    const x = tf.tensor3d(batch.features, [B * T, TOKEN_COUNT, CHANNELS]);
    const m = tf.tensor3d(mask, [B * T, TOKEN_COUNT, 1]);
    const token = this.params.get('mae/mask_token', [TOKEN_COUNT, CHANNELS], { normal: 0.02 });
    const masked = tf.add(tf.mul(x, tf.sub(1, m)), tf.mul(token, m)).reshape([B * T, FEATURE_SIZE]) as tf.Tensor2D;
    const input = tf.concat([masked, m.reshape([B * T, TOKEN_COUNT])], 1) as tf.Tensor2D;
    const embedded = dense(this.params, 'mae/embed', input, dModel);
    let h = tf.add(embedded.reshape([B, T, dModel]), this.positionCodes(T, positionOffset)).reshape([B * T, dModel]) as tf.Tensor2D;
    const radius = attentionRadius !== null && attentionRadius < T ? attentionRadius : null;
    const bias = radius === null ? fullAttentionBias(batch.valid, B, T) : localAttentionBias(batch.valid, B, T, radius);
    const shape = { batch: B, frames: T, heads, radius };
    for (let l = 0; l < layers; l++) h = encoderLayer(this.params, `mae/enc${l}`, h, shape, bias, dModel * ffnMultiplier);
    const latent = layerNorm(this.params, 'mae/enc_out', h);
    const hidden = gelu(dense(this.params, 'mae/dec1', latent, this.config.decoderHidden)) as tf.Tensor2D;
    const reconstruction = dense(this.params, 'mae/dec2', hidden, FEATURE_SIZE);
    return { reconstruction, latent };
  }

  /**
   * Mean squared error over hidden cells of real frames (the MAE objective).
   * Training passes a random position offset so that every position code a scoring
   * window may use has been seen, though training crops are shorter than windows.
   */
  loss(batch: WindowBatch, mask: Float32Array, positionOffset = 0): tf.Scalar {
    const { batch: B, frames: T } = batch;
    const { reconstruction } = this.forward(batch, mask, positionOffset);
    const target = tf.tensor3d(batch.features, [B * T, TOKEN_COUNT, CHANNELS]);
    const err = tf.sum(tf.square(tf.sub(reconstruction.reshape([B * T, TOKEN_COUNT, CHANNELS]), target)), -1);
    const weight = tf.mul(tf.tensor2d(mask, [B * T, TOKEN_COUNT]), tf.tensor2d(batch.valid, [B * T, 1]));
    return tf.div(tf.sum(tf.mul(err, weight)), tf.maximum(tf.mul(tf.sum(weight), CHANNELS), 1)) as tf.Scalar;
  }

  dispose(): void {
    for (const codes of this.positions.values()) codes.dispose();
    this.positions.clear();
  }
}

/** Mean of latents over each window's real frames, repeated per frame: the flow's context c. [B*T, d] */
export function pooledContext(latent: tf.Tensor2D, valid: Float32Array, batch: number, frames: number): tf.Tensor2D {
  const d = latent.shape[1];
  const v = tf.tensor3d(valid, [batch, frames, 1]);
  const h = latent.reshape([batch, frames, d]);
  const mean = tf.div(tf.sum(tf.mul(h, v), 1, true), tf.maximum(tf.sum(v, 1, true), 1));
  return tf.tile(mean, [1, frames, 1]).reshape([batch * frames, d]) as tf.Tensor2D;
}

/**
 * The masked autoencoder: per-frame linear embedding of the (masked) skeleton (eq. 1),
 * a Transformer encoder over time (eq. 2) and a per-frame MLP decoder back to joint
 * coordinates. Hidden joints are replaced by a learned mask token and the 0/1 mask is
 * given to the embedding too, so the model knows what it must infer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { attendCached, StreamCache, type StreamRows } from './cached-attention.js';
import { dense, denseFused, encoderLayer, fullAttentionBias, gelu, layerNorm, localAttentionBias, positionCodes } from './layers.js';
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

/** New frames of many streams for MaskedAutoencoder.step, packed row after row. */
export interface StreamStep {
  readonly rows: number;
  /** rows x FEATURE_SIZE standardised features. */
  readonly features: Float32Array;
  /** rows x TOKEN_COUNT, 1 = hidden. */
  readonly mask: Float32Array;
  readonly streams: readonly StreamRows[];
}

export class MaskedAutoencoder {
  private readonly positions = new Map<number, tf.Tensor2D>();

  constructor(
    private readonly params: ParamStore,
    private readonly config: ModelConfig,
  ) {
    if (config.encoder.causal && config.encoder.attentionRadius === null) {
      throw new Error(`preset '${config.preset}': a causal encoder needs an attentionRadius`);
    }
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
    const { layers, heads, ffnMultiplier, attentionRadius } = this.config.encoder;
    const dModel = this.dModel;
    const embedded = this.embed(batch.features, mask, B * T);
    let h: tf.Tensor2D;
    let bias: tf.Tensor4D;
    let radius: number | null;
    if (this.causal) {
      // Relative attention biases stand in for position codes: see AttentionShape.causal.
      radius = attentionRadius!;
      h = embedded;
      bias = localAttentionBias(batch.valid, B, T, radius, true);
    } else {
      radius = attentionRadius !== null && attentionRadius < T ? attentionRadius : null;
      h = tf.add(embedded.reshape([B, T, dModel]), this.positionCodes(T, positionOffset)).reshape([B * T, dModel]) as tf.Tensor2D;
      bias = radius === null ? fullAttentionBias(batch.valid, B, T) : localAttentionBias(batch.valid, B, T, radius);
    }
    const shape = { batch: B, frames: T, heads, radius, causal: this.causal };
    for (let l = 0; l < layers; l++) h = encoderLayer(this.params, `mae/enc${l}`, h, shape, bias, dModel * ffnMultiplier);
    return this.decode(h);
  }

  get causal(): boolean {
    return this.config.encoder.causal ?? false;
  }

  /** Masked input -> frame embeddings (eq. 1), [rows, d]; features/mask are rows x tokens. */
  private embed(features: Float32Array, mask: Float32Array, rows: number): tf.Tensor2D {
    const x = tf.tensor3d(features, [rows, TOKEN_COUNT, CHANNELS]);
    const m = tf.tensor3d(mask, [rows, TOKEN_COUNT, 1]);
    const token = this.params.get('mae/mask_token', [TOKEN_COUNT, CHANNELS], { normal: 0.02 });
    const masked = tf.add(tf.mul(x, tf.sub(1, m)), tf.mul(token, m)).reshape([rows, FEATURE_SIZE]) as tf.Tensor2D;
    const input = tf.concat([masked, m.reshape([rows, TOKEN_COUNT])], 1) as tf.Tensor2D;
    return dense(this.params, 'mae/embed', input, this.dModel);
  }

  private decode(h: tf.Tensor2D): { reconstruction: tf.Tensor2D; latent: tf.Tensor2D } {
    const latent = layerNorm(this.params, 'mae/enc_out', h);
    const hidden = gelu(dense(this.params, 'mae/dec1', latent, this.config.decoderHidden)) as tf.Tensor2D;
    const reconstruction = dense(this.params, 'mae/dec2', hidden, FEATURE_SIZE);
    return { reconstruction, latent };
  }

  /**
   * Causal models only: encodes and reconstructs the NEW frames of many streams, given
   * each stream's cached keys and values (StreamCache, advanced here). Equal to forward()
   * on the whole stream for those frames, at a cost that grows with the new frames.
   * Rows are packed, no padding: stream i owns `frames` rows from `rowStart`. The dense
   * layers run as tensors over all rows; attention runs in JS (see cached-attention.ts).
   * Returns reconstructions [rows, FEATURE_SIZE] and latents [rows, d].
   */
  step(input: StreamStep): { reconstruction: tf.Tensor2D; latent: tf.Tensor2D } {
    if (!this.causal) throw new Error(`preset '${this.config.preset}' is not causal: streaming steps need a causal encoder`);
    const { layers, heads, attentionRadius } = this.config.encoder;
    const { rows, streams } = input;
    const d = this.dModel;
    const radius = attentionRadius!;
    for (const s of streams) {
      if (s.cache.radius !== radius || s.cache.d !== d || s.cache.keys.length !== layers) throw new Error('stream cache does not fit this model');
    }
    let h = tf.tidy(() => this.embed(input.features, input.mask, rows));
    const context = new Float32Array(rows * d);
    for (let l = 0; l < layers; l++) {
      const name = `mae/enc${l}`;
      const a = `${name}/attn`;
      const qkvTensor = tf.tidy(() => {
        const normed = layerNorm(this.params, `${name}/ln1`, h);
        const w = tf.concat(['q', 'k', 'v'].map((p) => this.params.variable(`${a}/${p}/w`)), 1) as tf.Tensor2D;
        const b = tf.concat(['q', 'k', 'v'].map((p) => this.params.variable(`${a}/${p}/b`)));
        return tf.fused.matMul({ a: normed, b: w, bias: b });
      });
      const qkv = qkvTensor.dataSync() as Float32Array;
      const relative = this.params.variable(`${a}/relative`).dataSync() as Float32Array;
      attendCached(qkv, streams, { d, heads, radius, layer: l, relative }, context);
      qkvTensor.dispose();
      const next = tf.tidy(() => {
        const attended = tf.add(h, denseFused(this.params, `${a}/out`, tf.tensor2d(context, [rows, d]))) as tf.Tensor2D;
        const hidden = gelu(denseFused(this.params, `${name}/ffn1`, layerNorm(this.params, `${name}/ln2`, attended))) as tf.Tensor2D;
        return tf.add(attended, denseFused(this.params, `${name}/ffn2`, hidden)) as tf.Tensor2D;
      });
      h.dispose();
      h = next;
    }
    for (const s of streams) s.cache.framesSeen += s.frames;
    const out = tf.tidy(() => {
      const latent = layerNorm(this.params, 'mae/enc_out', h);
      const hidden = gelu(denseFused(this.params, 'mae/dec1', latent)) as tf.Tensor2D;
      return { reconstruction: denseFused(this.params, 'mae/dec2', hidden), latent };
    });
    h.dispose();
    return out;
  }

  /** A fresh key/value cache for one stream of step(). */
  newStreamCache(): StreamCache {
    return new StreamCache(this.config.encoder.layers, this.config.encoder.attentionRadius!, this.dModel);
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

/**
 * The flow's context c per frame, [B*T, d]: the mean latent over each window's real frames
 * (the paper's pooling), or, with `causalFrames`, the mean over the last causalFrames frames
 * up to and including the frame (a streaming frame's context may not use later frames).
 */
export function pooledContext(latent: tf.Tensor2D, valid: Float32Array, batch: number, frames: number, causalFrames: number | null = null): tf.Tensor2D {
  const d = latent.shape[1];
  if (causalFrames !== null) {
    // One plain 2D matMul with a band matrix: the fast path on wasm. Padding sits after the
    // real frames, so a real frame's band never reaches it.
    const band = new Float32Array(frames * frames);
    for (let t = 0; t < frames; t++) {
      const from = Math.max(0, t - causalFrames + 1);
      for (let s = from; s <= t; s++) band[t * frames + s] = 1 / (t - from + 1);
    }
    const timeMajor = tf.transpose(latent.reshape([batch, frames, d]), [1, 0, 2]).reshape([frames, batch * d]) as tf.Tensor2D;
    const mean = tf.matMul(tf.tensor2d(band, [frames, frames]), timeMajor);
    return tf.transpose(mean.reshape([frames, batch, d]), [1, 0, 2]).reshape([batch * frames, d]) as tf.Tensor2D;
  }
  const v = tf.tensor3d(valid, [batch, frames, 1]);
  const h = latent.reshape([batch, frames, d]);
  const mean = tf.div(tf.sum(tf.mul(h, v), 1, true), tf.maximum(tf.sum(v, 1, true), 1));
  return tf.tile(mean, [1, frames, 1]).reshape([batch * frames, d]) as tf.Tensor2D;
}

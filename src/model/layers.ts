/**
 * tfjs building blocks tuned for the wasm backend: only plain 2D matMul (the fast
 * path), custom gradients with explicit transposes, GELU via x*sigmoid(1.702x), and a
 * local attention made of shifted slices and elementwise ops instead of batched matMul.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients; training needs them.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
// Chained tensor methods (x.reshape(...)) are opt-in with tfjs-core.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import type { ParamStore } from './params.js';

/** y = x W + b with a hand-written gradient (the built-in matMul gradient is slow on wasm). */
const denseOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x, w), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy2), tf.sum(dy2, 0)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

export function dense(params: ParamStore, name: string, x: tf.Tensor2D, units: number, zeroInit = false): tf.Tensor2D {
  const inUnits = x.shape[1];
  const w = params.get(`${name}/w`, [inUnits, units], zeroInit ? 'zeros' : { normal: Math.sqrt(1 / inUnits) });
  const b = params.get(`${name}/b`, [units], 'zeros');
  return denseOp(x, w as tf.Tensor2D, b as tf.Tensor1D);
}

export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

export function layerNorm(params: ParamStore, name: string, x: tf.Tensor2D): tf.Tensor2D {
  const units = x.shape[1];
  const gamma = params.get(`${name}/gamma`, [units], 'ones');
  const beta = params.get(`${name}/beta`, [units], 'zeros');
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
  return tf.add(tf.mul(normed, gamma), beta) as tf.Tensor2D;
}

/** Sinusoidal position codes [T, d]: no learned table, so any window length works. */
export function positionCodes(frames: number, d: number): tf.Tensor2D {
  const values = new Float32Array(frames * d);
  for (let t = 0; t < frames; t++) {
    for (let i = 0; i < d; i += 2) {
      const angle = t / Math.pow(10000, i / d);
      values[t * d + i] = Math.sin(angle);
      if (i + 1 < d) values[t * d + i + 1] = Math.cos(angle);
    }
  }
  return tf.tensor2d(values, [frames, d]);
}

/**
 * Additive attention bias for local attention, [B, T, 1, 2r+1]: 0 where frame t may look
 * at frame t+o-r (inside the window and not padding), -1e9 elsewhere.
 */
export function localAttentionBias(valid: Float32Array, batch: number, frames: number, radius: number): tf.Tensor4D {
  const offsets = 2 * radius + 1;
  const bias = new Float32Array(batch * frames * offsets);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < frames; t++) {
      for (let o = 0; o < offsets; o++) {
        const s = t + o - radius;
        const ok = s >= 0 && s < frames && valid[b * frames + s]! > 0;
        bias[(b * frames + t) * offsets + o] = ok ? 0 : -1e9;
      }
    }
  }
  return tf.tensor4d(bias, [batch, frames, 1, offsets]);
}

/** Additive key-padding bias for full attention, [B, 1, 1, T]. */
export function fullAttentionBias(valid: Float32Array, batch: number, frames: number): tf.Tensor4D {
  const bias = new Float32Array(batch * frames);
  for (let i = 0; i < bias.length; i++) bias[i] = valid[i]! > 0 ? 0 : -1e9;
  return tf.tensor4d(bias, [batch, 1, 1, frames]);
}

export interface AttentionShape {
  readonly batch: number;
  readonly frames: number;
  readonly heads: number;
  /** null: full attention; otherwise frames on each side. */
  readonly radius: number | null;
}

/** Multi-head self-attention over x [B*T, d]; bias from localAttentionBias or fullAttentionBias. */
export function selfAttention(
  params: ParamStore,
  name: string,
  x: tf.Tensor2D,
  shape: AttentionShape,
  bias: tf.Tensor4D,
): tf.Tensor2D {
  const { batch: B, frames: T, heads: H, radius } = shape;
  const d = x.shape[1];
  const dh = d / H;
  const q = tf.mul(dense(params, `${name}/q`, x, d), 1 / Math.sqrt(dh)).reshape([B, T, H, dh]);
  const k = dense(params, `${name}/k`, x, d).reshape([B, T, H, dh]);
  const v = dense(params, `${name}/v`, x, d).reshape([B, T, H, dh]);
  let context: tf.Tensor;
  if (radius === null) {
    const qh = tf.transpose(q, [0, 2, 1, 3]);
    const kh = tf.transpose(k, [0, 2, 1, 3]);
    const vh = tf.transpose(v, [0, 2, 1, 3]);
    const weights = tf.softmax(tf.add(tf.matMul(qh, kh, false, true), bias));
    context = tf.transpose(tf.matMul(weights, vh), [0, 2, 1, 3]);
  } else {
    // Only the small score tensor [B,T,H,2r+1] is ever concatenated or sliced; the big
    // per-offset products are summed with addN (stack/unstack of them is slow on wasm).
    const offsets = 2 * radius + 1;
    const padding: [number, number][] = [
      [0, 0],
      [radius, radius],
      [0, 0],
      [0, 0],
    ];
    const kPad = tf.pad(k, padding);
    const vPad = tf.pad(v, padding);
    const vShift: tf.Tensor[] = [];
    const scoreColumns: tf.Tensor[] = [];
    for (let o = 0; o < offsets; o++) {
      const kShift = tf.slice(kPad, [0, o, 0, 0], [B, T, H, dh]);
      vShift.push(tf.slice(vPad, [0, o, 0, 0], [B, T, H, dh]));
      scoreColumns.push(tf.sum(tf.mul(q, kShift), -1, true));
    }
    const weights = tf.softmax(tf.add(tf.concat(scoreColumns, 3), bias));
    const parts = vShift.map((vs, o) => tf.mul(tf.slice(weights, [0, 0, 0, o], [B, T, H, 1]), vs));
    context = tf.addN(parts);
  }
  return dense(params, `${name}/out`, context.reshape([B * T, d]) as tf.Tensor2D, d);
}

/** Pre-LN Transformer encoder layer. */
export function encoderLayer(
  params: ParamStore,
  name: string,
  x: tf.Tensor2D,
  shape: AttentionShape,
  bias: tf.Tensor4D,
  ffnUnits: number,
): tf.Tensor2D {
  const attended = tf.add(x, selfAttention(params, `${name}/attn`, layerNorm(params, `${name}/ln1`, x), shape, bias)) as tf.Tensor2D;
  const hidden = gelu(dense(params, `${name}/ffn1`, layerNorm(params, `${name}/ln2`, attended), ffnUnits)) as tf.Tensor2D;
  return tf.add(attended, dense(params, `${name}/ffn2`, hidden, x.shape[1])) as tf.Tensor2D;
}

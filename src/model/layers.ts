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

/**
 * Inference-only dense layer with existing weights: one fused matMul+bias kernel (no
 * gradient; training uses dense()).
 */
export function denseFused(params: ParamStore, name: string, x: tf.Tensor2D): tf.Tensor2D {
  const w = params.variable(`${name}/w`) as tf.Tensor2D;
  return tf.fused.matMul({ a: x, b: w, bias: params.variable(`${name}/b`) }) as tf.Tensor2D;
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

/** Frames a query attends to in local attention: r on each side, or r behind and itself when causal. */
export function attentionOffsets(radius: number, causal: boolean): number {
  return causal ? radius + 1 : 2 * radius + 1;
}

/**
 * Additive attention bias for local attention, [B, T, 1, offsets]: 0 where frame t may look
 * at frame t+o-r (inside the window and not padding), -1e9 elsewhere. Causal attention
 * looks only back (o <= r), so a frame's latent never depends on frames after it.
 */
export function localAttentionBias(valid: Float32Array, batch: number, frames: number, radius: number, causal = false): tf.Tensor4D {
  const offsets = attentionOffsets(radius, causal);
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
  /** null: full attention; otherwise frames on each side (behind only when causal). */
  readonly radius: number | null;
  /**
   * Look only back: a frame's latent then depends on its past alone, which is what lets
   * the streaming path cache keys and values and pay only for new frames. Causal layers
   * carry a learned bias per head and distance instead of absolute position codes, so a
   * frame means the same wherever it sits in an endless stream.
   */
  readonly causal?: boolean;
}

/**
 * Local attention over precomputed keys and values. q: [B,T,H,dh]; kAll/vAll: [B,T+offsets-1,H,dh]
 * where query t sees rows t..t+offsets-1. Only the small score tensor [B,T,H,offsets] is
 * ever concatenated or sliced; the big per-offset products are summed with addN
 * (stack/unstack of them is slow on wasm).
 */
function localAttention(q: tf.Tensor4D, kAll: tf.Tensor4D, vAll: tf.Tensor4D, offsets: number, bias: tf.Tensor4D, relative: tf.Tensor | null): tf.Tensor {
  const [B, T, H, dh] = q.shape;
  const vShift: tf.Tensor[] = [];
  const scoreColumns: tf.Tensor[] = [];
  for (let o = 0; o < offsets; o++) {
    const kShift = tf.slice(kAll, [0, o, 0, 0], [B, T, H, dh]);
    vShift.push(tf.slice(vAll, [0, o, 0, 0], [B, T, H, dh]));
    scoreColumns.push(tf.sum(tf.mul(q, kShift), -1, true));
  }
  let scores = tf.add(tf.concat(scoreColumns, 3), bias);
  if (relative) scores = tf.add(scores, relative.reshape([1, 1, H, offsets]));
  const weights = tf.softmax(scores);
  return tf.addN(vShift.map((vs, o) => tf.mul(tf.slice(weights, [0, 0, 0, o], [B, T, H, 1]), vs)));
}

function relativeBias(params: ParamStore, name: string, heads: number, offsets: number): tf.Tensor {
  return params.get(`${name}/relative`, [heads, offsets], 'zeros');
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
  const q = tf.mul(dense(params, `${name}/q`, x, d), 1 / Math.sqrt(dh)).reshape([B, T, H, dh]) as tf.Tensor4D;
  const k = dense(params, `${name}/k`, x, d).reshape([B, T, H, dh]) as tf.Tensor4D;
  const v = dense(params, `${name}/v`, x, d).reshape([B, T, H, dh]) as tf.Tensor4D;
  let context: tf.Tensor;
  if (radius === null) {
    const qh = tf.transpose(q, [0, 2, 1, 3]);
    const kh = tf.transpose(k, [0, 2, 1, 3]);
    const vh = tf.transpose(v, [0, 2, 1, 3]);
    const weights = tf.softmax(tf.add(tf.matMul(qh, kh, false, true), bias));
    context = tf.transpose(tf.matMul(weights, vh), [0, 2, 1, 3]);
  } else {
    const causal = shape.causal ?? false;
    const padding: [number, number][] = [
      [0, 0],
      [radius, causal ? 0 : radius],
      [0, 0],
      [0, 0],
    ];
    const offsets = attentionOffsets(radius, causal);
    const relative = causal ? relativeBias(params, name, H, offsets) : null;
    context = localAttention(q, tf.pad(k, padding), tf.pad(v, padding), offsets, bias, relative);
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

/**
 * Conditional Glow-style normalizing flow on per-frame latents h_t given a pooled
 * context c (eqs. 3-4): B blocks of actnorm, invertible 1x1 mixing (LU-parametrised,
 * so its log-determinant is a sum) and an affine coupling whose scale and shift come
 * from half of the input and the context.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dense, gelu } from './layers.js';
import type { ParamStore } from './params.js';
import type { FlowConfig } from './types.js';

const LOG_2PI = Math.log(2 * Math.PI);
/** Coupling log-scales are soft-clamped to (-2, 2) for stable training. */
const LOG_SCALE_LIMIT = 2;

function triangularMask(d: number, lower: boolean): tf.Tensor2D {
  const values = new Float32Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) values[i * d + j] = (lower ? j < i : j > i) ? 1 : 0;
  return tf.tensor2d(values, [d, d]);
}

/** A fixed random permutation matrix per block (seeded through the ParamStore's normal draws). */
function permutationInit(d: number, block: number): Float32Array {
  const order = Array.from({ length: d }, (_, i) => i);
  let seed = 2654435761 * (block + 1);
  for (let i = d - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const values = new Float32Array(d * d);
  order.forEach((to, from) => (values[from * d + to] = 1));
  return values;
}

export class ConditionalFlow {
  private readonly lowerMask: tf.Tensor2D;
  private readonly upperMask: tf.Tensor2D;
  private readonly eye: tf.Tensor2D;

  constructor(
    private readonly params: ParamStore,
    private readonly config: FlowConfig,
    readonly dim: number,
  ) {
    this.lowerMask = triangularMask(dim, true);
    this.upperMask = triangularMask(dim, false);
    this.eye = tf.eye(dim) as tf.Tensor2D;
    this.createParams();
    // Coupling and context layers are created on first use: run once so all exist up front.
    tf.tidy(() => this.forward(tf.zeros([1, dim]), tf.zeros([1, dim])));
  }

  private createParams(): void {
    const d = this.dim;
    for (let b = 0; b < this.config.blocks; b++) {
      this.params.get(`flow/b${b}/actnorm/logs`, [d], 'zeros');
      this.params.get(`flow/b${b}/actnorm/bias`, [d], 'zeros');
      this.params.get(`flow/b${b}/mix/perm`, [d, d], permutationInit(d, b), false);
      this.params.get(`flow/b${b}/mix/lower`, [d, d], 'zeros');
      this.params.get(`flow/b${b}/mix/upper`, [d, d], 'zeros');
      this.params.get(`flow/b${b}/mix/logs`, [d], 'zeros');
    }
  }

  /** W = P (L + I) (U + diag(exp(s))): invertible by construction, log|det W| = sum(s). */
  private mixMatrix(b: number): tf.Tensor2D {
    const p = this.params;
    const lower = tf.add(tf.mul(p.variable(`flow/b${b}/mix/lower`), this.lowerMask), this.eye);
    const upper = tf.add(tf.mul(p.variable(`flow/b${b}/mix/upper`), this.upperMask), tf.mul(this.eye, tf.exp(p.variable(`flow/b${b}/mix/logs`))));
    return tf.matMul(tf.matMul(p.variable(`flow/b${b}/mix/perm`) as tf.Tensor2D, lower as tf.Tensor2D), upper as tf.Tensor2D);
  }

  private contextFeatures(context: tf.Tensor2D): tf.Tensor2D {
    return gelu(dense(this.params, 'flow/context', context, this.config.contextSize)) as tf.Tensor2D;
  }

  private couplingParams(b: number, half: tf.Tensor2D, ctx: tf.Tensor2D, outUnits: number): { logScale: tf.Tensor2D; shift: tf.Tensor2D } {
    const hidden = gelu(dense(this.params, `flow/b${b}/coupling/hidden`, tf.concat([half, ctx], 1), this.config.hidden)) as tf.Tensor2D;
    const out = dense(this.params, `flow/b${b}/coupling/out`, hidden, 2 * outUnits, true);
    const raw = tf.slice(out, [0, 0], [-1, outUnits]);
    const shift = tf.slice(out, [0, outUnits], [-1, outUnits]) as tf.Tensor2D;
    // 2*sigmoid(x)-1 = tanh(x/2), without the slow tanh kernel.
    const logScale = tf.mul(tf.sub(tf.mul(tf.sigmoid(raw), 2), 1), LOG_SCALE_LIMIT) as tf.Tensor2D;
    return { logScale, shift };
  }

  /** x [N, d], context [N, dc] -> z [N, d] and log|det dz/dx| [N]. */
  forward(x: tf.Tensor2D, context: tf.Tensor2D): { z: tf.Tensor2D; logDet: tf.Tensor1D } {
    const n = x.shape[0];
    const d = this.dim;
    const d1 = Math.floor(d / 2);
    const d2 = d - d1;
    const ctx = this.contextFeatures(context);
    let y = x;
    let logDet: tf.Tensor = tf.zeros([n]);
    for (let b = 0; b < this.config.blocks; b++) {
      const logs = this.params.variable(`flow/b${b}/actnorm/logs`);
      y = tf.mul(tf.add(y, this.params.variable(`flow/b${b}/actnorm/bias`)), tf.exp(logs)) as tf.Tensor2D;
      y = tf.matMul(y, this.mixMatrix(b));
      logDet = tf.add(logDet, tf.add(tf.sum(logs), tf.sum(this.params.variable(`flow/b${b}/mix/logs`))));
      const xa = tf.slice(y, [0, 0], [-1, d1]) as tf.Tensor2D;
      const xb = tf.slice(y, [0, d1], [-1, d2]);
      const { logScale, shift } = this.couplingParams(b, xa, ctx, d2);
      y = tf.concat([xa, tf.add(tf.mul(xb, tf.exp(logScale)), shift)], 1) as tf.Tensor2D;
      logDet = tf.add(logDet, tf.sum(logScale, 1));
    }
    return { z: y, logDet: logDet as tf.Tensor1D };
  }

  /** Negative log-likelihood per latent dimension, [N] (eq. 4 with a standard normal base). */
  nll(x: tf.Tensor2D, context: tf.Tensor2D): tf.Tensor1D {
    const { z, logDet } = this.forward(x, context);
    const logBase = tf.sub(tf.mul(tf.sum(tf.square(z), 1), -0.5), 0.5 * this.dim * LOG_2PI);
    return tf.div(tf.neg(tf.add(logBase, logDet)), this.dim) as tf.Tensor1D;
  }

  /** f^-1: z -> x (used to check invertibility and to sample). */
  inverse(z: tf.Tensor2D, context: tf.Tensor2D): tf.Tensor2D {
    const d = this.dim;
    const d1 = Math.floor(d / 2);
    const d2 = d - d1;
    const ctx = this.contextFeatures(context);
    let y = z;
    for (let b = this.config.blocks - 1; b >= 0; b--) {
      const ya = tf.slice(y, [0, 0], [-1, d1]) as tf.Tensor2D;
      const yb = tf.slice(y, [0, d1], [-1, d2]);
      const { logScale, shift } = this.couplingParams(b, ya, ctx, d2);
      y = tf.concat([ya, tf.div(tf.sub(yb, shift), tf.exp(logScale))], 1) as tf.Tensor2D;
      y = tf.matMul(y, invertMatrix(this.mixMatrix(b)));
      const logs = this.params.variable(`flow/b${b}/actnorm/logs`);
      y = tf.sub(tf.div(y, tf.exp(logs)), this.params.variable(`flow/b${b}/actnorm/bias`)) as tf.Tensor2D;
    }
    return y;
  }

  /** Data-dependent actnorm init (Glow): the first block maps the data to zero mean, unit variance. */
  initialiseFromData(x: tf.Tensor2D): void {
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, 0);
      this.params.variable('flow/b0/actnorm/bias').assign(tf.neg(mean));
      this.params.variable('flow/b0/actnorm/logs').assign(tf.mul(tf.log(tf.add(variance, 1e-6)), -0.5));
    });
  }

  dispose(): void {
    this.lowerMask.dispose();
    this.upperMask.dispose();
    this.eye.dispose();
  }
}

/** Gauss-Jordan inverse of a small square matrix (only the inverse pass needs it). */
function invertMatrix(m: tf.Tensor2D): tf.Tensor2D {
  const n = m.shape[0];
  const a = Array.from(m.dataSync(), Number);
  const inv: number[] = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]!) > Math.abs(a[pivot * n + col]!)) pivot = r;
    for (let k = 0; k < n; k++) {
      [a[col * n + k], a[pivot * n + k]] = [a[pivot * n + k]!, a[col * n + k]!];
      [inv[col * n + k], inv[pivot * n + k]] = [inv[pivot * n + k]!, inv[col * n + k]!];
    }
    const p = a[col * n + col]!;
    for (let k = 0; k < n; k++) {
      a[col * n + k]! /= p;
      inv[col * n + k]! /= p;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r * n + col]!;
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        a[r * n + k]! -= f * a[col * n + k]!;
        inv[r * n + k]! -= f * inv[col * n + k]!;
      }
    }
  }
  return tf.tensor2d(inv, [n, n]);
}

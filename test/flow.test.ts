import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/model/backend.js';
import { ConditionalFlow } from '../src/model/flow.js';
import { ParamStore } from '../src/model/params.js';
import { gaussian, seededRandom } from '../src/model/random.js';

/** A tiny flow with every parameter randomised, so no block is the identity. */
function randomFlow(dim: number): ConditionalFlow {
  const params = new ParamStore(11);
  const flow = new ConditionalFlow(params, { blocks: 3, hidden: 8, contextSize: 3 }, dim);
  const random = seededRandom(5);
  for (const name of params.names()) {
    if (name.endsWith('/perm')) continue;
    const v = params.variable(name);
    v.assign(tf.tensor(Array.from({ length: v.size }, () => 0.3 * gaussian(random)), v.shape));
  }
  return flow;
}

describe('conditional flow', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('is invertible: f^-1(f(x)) = x', () => {
    const flow = randomFlow(4);
    const x = tf.randomNormal([16, 4], 0, 1, 'float32', 1) as tf.Tensor2D;
    const c = tf.randomNormal([16, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
    const { z } = flow.forward(x, c);
    const back = flow.inverse(z, c);
    expect(tf.max(tf.abs(tf.sub(back, x))).dataSync()[0]).toBeLessThan(1e-4);
    expect(tf.max(tf.abs(tf.sub(z, x))).dataSync()[0]).toBeGreaterThan(0.05);
  });

  it('log-determinant matches a numerical Jacobian', () => {
    const dim = 4;
    const flow = randomFlow(dim);
    const x0 = [0.3, -0.7, 1.1, 0.2];
    const ctx = tf.tensor2d([[0.5, -0.2, 0.1, 0.9]]);
    const f = (x: number[]): number[] => Array.from(flow.forward(tf.tensor2d([x]), ctx).z.dataSync());
    const eps = 1e-2;
    const jac: number[][] = [];
    for (let i = 0; i < dim; i++) {
      const plus = [...x0];
      const minus = [...x0];
      plus[i]! += eps;
      minus[i]! -= eps;
      const fp = f(plus);
      const fm = f(minus);
      jac.push(fp.map((v, k) => (v - fm[k]!) / (2 * eps))); // column i
    }
    // log|det| of the 4x4 numerical Jacobian by Gaussian elimination
    const a = jac.map((row) => [...row]);
    let logDet = 0;
    for (let col = 0; col < dim; col++) {
      let p = col;
      for (let r = col + 1; r < dim; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[p]![col]!)) p = r;
      [a[col], a[p]] = [a[p]!, a[col]!];
      logDet += Math.log(Math.abs(a[col]![col]!));
      for (let r = col + 1; r < dim; r++) {
        const factor = a[r]![col]! / a[col]![col]!;
        for (let k = col; k < dim; k++) a[r]![k]! -= factor * a[col]![k]!;
      }
    }
    const analytic = flow.forward(tf.tensor2d([x0]), ctx).logDet.dataSync()[0]!;
    expect(Math.abs(analytic - logDet)).toBeLessThan(2e-2);
    expect(Math.abs(analytic)).toBeGreaterThan(0.05);
  });

  it('training by NLL raises the likelihood of the data', async () => {
    const flow = randomFlow(4);
    const random = seededRandom(9);
    const rows = Array.from({ length: 256 }, () => {
      const a = gaussian(random);
      return [a, 0.5 * a + 0.1 * gaussian(random), 2 + 0.3 * gaussian(random), -a];
    });
    const x = tf.tensor2d(rows);
    const c = tf.zeros([256, 4]) as tf.Tensor2D;
    const nll = () => tf.mean(flow.nll(x, c)) as tf.Scalar;
    const before = nll().dataSync()[0]!;
    const optimizer = tf.train.adam(0.01);
    for (let i = 0; i < 60; i++) optimizer.minimize(nll);
    expect(nll().dataSync()[0]!).toBeLessThan(before - 0.5);
  });
});

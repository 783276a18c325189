import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/model/backend.js';
import { ParamStore } from '../src/model/params.js';

describe('parameter store', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('loads serialised weights without leaving tensors behind (training reloads them every step)', () => {
    const source = new ParamStore(1);
    source.get('a', [4, 3], { normal: 0.5 });
    source.get('b', [3], 'zeros');
    const { manifest, data } = source.serialise();
    const target = new ParamStore(2);
    target.get('a', [4, 3], 'zeros');
    target.get('b', [3], 'ones');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) target.load(manifest, data);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(target.variable('a').dataSync())).toEqual(Array.from(source.variable('a').dataSync()));
    source.dispose();
    target.dispose();
  });
});

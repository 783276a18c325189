import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/model/backend.js';
import { loadModel, type LoadedModel } from '../src/model/model-dir.js';
import { LocalTerms } from '../src/model/scorer.js';
import { WorkerPoolTerms, balance } from '../src/model/worker-pool.js';
import { walkerMotion } from './fixtures/walker.js';

describe('balance', () => {
  it('splits work into groups of about equal weight and keeps every item once', () => {
    const weights = [300, 40, 120, 120, 60, 250, 30];
    const groups = balance(weights, 2);
    expect(groups.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const loads = groups.map((g) => g.reduce((s, i) => s + weights[i]!, 0));
    expect(Math.abs(loads[0]! - loads[1]!)).toBeLessThanOrEqual(60);
  });
  it('never returns empty groups', () => {
    expect(balance([5], 4)).toEqual([[0]]);
  });
});

describe('worker pool (shipped default model)', () => {
  let loaded: LoadedModel;
  let pool: WorkerPoolTerms;

  beforeAll(async () => {
    await initBackend('wasm');
    loaded = await loadModel();
    pool = new WorkerPoolTerms(loaded.dir, 'wasm', 2);
  });

  afterAll(async () => {
    await pool.close();
  });

  it('gives exactly the terms of the model in this thread, in input order', async () => {
    const motions = [40, 90, 60, 130, 75].map((frames, i) => walkerMotion({ frames, cadence: 0.9 + 0.1 * i, heading: 20 * i }));
    const [local, pooled] = await Promise.all([new LocalTerms(loaded).rawTerms(motions), pool.rawTerms(motions)]);
    expect(pooled.map((t) => t.frameCount)).toEqual([40, 90, 60, 130, 75]);
    pooled.forEach((t, i) => {
      expect(Array.from(t.jointErrors)).toEqual(Array.from(local[i]!.jointErrors));
      expect(Array.from(t.nll)).toEqual(Array.from(local[i]!.nll));
    });
  });
});

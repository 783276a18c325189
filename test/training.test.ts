import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/model/backend.js';
import { loadModel } from '../src/model/model-dir.js';
import { TEST } from '../src/model/presets.js';
import { MotionScorer } from '../src/model/scorer.js';
import { splitByClip } from '../src/train/split.js';
import { train, type TrainResult } from '../src/train/trainer.js';
import { walkerMotion } from './fixtures/walker.js';

const clips = Array.from({ length: 12 }, (_, i) => ({
  name: `walk-${i}.bvh`,
  motion: walkerMotion({ frames: 50 + 5 * i, cadence: 0.8 + 0.05 * i, phase: i, heading: 30 * i }),
}));

describe('training', () => {
  let dir: string;
  let result: TrainResult;

  beforeAll(async () => {
    await initBackend('wasm');
    dir = await mkdtemp(path.join(os.tmpdir(), 'motionguard-train-'));
    const config = { ...TEST, training: { ...TEST.training, epochs: 6, flowEpochs: 4, learningRate: 3e-3 } };
    result = await train({ config, clips, outDir: dir, progress: false, log: () => {} });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lowers the masked-reconstruction loss and the flow NLL', () => {
    const mae = result.history.filter((r) => r.phase === 'mae');
    const flow = result.history.filter((r) => r.phase === 'flow');
    expect(mae).toHaveLength(6);
    expect(flow).toHaveLength(4);
    expect(mae.at(-1)!.trainLoss).toBeLessThan(mae[0]!.trainLoss * 0.8);
    expect(flow.at(-1)!.trainLoss).toBeLessThan(flow[0]!.trainLoss);
    expect(mae.every((r) => Number.isFinite(r.validationLoss))).toBe(true);
  });

  it('splits train and validation by clip and records the split', async () => {
    const training = JSON.parse(await readFile(path.join(dir, 'training.json'), 'utf8')) as { validationClipNames: string[]; trainClips: number };
    const split = splitByClip(clips, TEST.training.validationFraction, TEST.training.seed);
    expect(training.validationClipNames).toEqual(split.validation.map((c) => c.name));
    expect(training.trainClips + training.validationClipNames.length).toBe(clips.length);
  });

  it('writes a calibrated model directory that loads back with identical scores', async () => {
    const loaded = await loadModel(dir);
    expect(loaded.calibration).not.toBeNull();
    const before = await new MotionScorer(result.model).scoreClips([clips[0]!.motion]);
    const after = await new MotionScorer(loaded).scoreClips([clips[0]!.motion]);
    expect(Array.from(after[0]!.frameScores)).toEqual(Array.from(before[0]!.frameScores));
    expect(after[0]!.thresholds).toEqual(before[0]!.thresholds);
  });

  it('is reproducible: the same seed gives the same weights', async () => {
    const again = await mkdtemp(path.join(os.tmpdir(), 'motionguard-train-'));
    try {
      const config = { ...TEST, training: { ...TEST.training, epochs: 1, flowEpochs: 1 } };
      await train({ config, clips, outDir: again, progress: false, log: () => {} });
      const first = await readFile(path.join(again, 'weights.bin'));
      await train({ config, clips, outDir: again, progress: false, log: () => {} });
      expect((await readFile(path.join(again, 'weights.bin'))).equals(first)).toBe(true);
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  });

  it('refuses a model directory whose parts do not fit together', async () => {
    const broken = await mkdtemp(path.join(os.tmpdir(), 'motionguard-broken-'));
    try {
      for (const f of ['config.json', 'skeleton.json', 'normalisation.json', 'weights.json', 'weights.bin', 'calibration.json']) {
        await writeFile(path.join(broken, f), await readFile(path.join(dir, f)));
      }
      const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as { encoder: { dModel: number } };
      config.encoder.dModel = 32;
      await writeFile(path.join(broken, 'config.json'), JSON.stringify(config));
      await expect(loadModel(broken)).rejects.toThrow(/weights do not fit config.json/);
      await writeFile(path.join(broken, 'config.json'), await readFile(path.join(dir, 'config.json')));
      const bytes = await readFile(path.join(dir, 'weights.bin'));
      bytes[10] = bytes[10]! ^ 0xff;
      await writeFile(path.join(broken, 'weights.bin'), bytes);
      await expect(loadModel(broken)).rejects.toThrow(/checksum/);
      await writeFile(path.join(broken, 'weights.bin'), await readFile(path.join(dir, 'weights.bin')));
      await writeFile(path.join(broken, 'normalisation.json'), JSON.stringify({ mean: [1, 2], scale: [1, 2] }));
      await expect(loadModel(broken)).rejects.toThrow(/normalisation.json has 2 channels/);
      await writeFile(path.join(broken, 'normalisation.json'), await readFile(path.join(dir, 'normalisation.json')));
      const switched = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as { scoring: Record<string, unknown> };
      switched.scoring.holdPrior = 'false';
      await writeFile(path.join(broken, 'config.json'), JSON.stringify(switched));
      await expect(loadModel(broken)).rejects.toThrow(/scoring.holdPrior must be true or false, got "false"/);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('resumes from a checkpoint', async () => {
    const resumed = await mkdtemp(path.join(os.tmpdir(), 'motionguard-resume-'));
    try {
      const config = { ...TEST, training: { ...TEST.training, epochs: 2, flowEpochs: 1 } };
      const logs: string[] = [];
      // A crash right after the first epoch's checkpoint...
      const crash = (line: string): void => {
        logs.push(line);
        if (line.startsWith('mae epoch 1:')) throw new Error('simulated crash');
      };
      await expect(train({ config, clips, outDir: resumed, progress: false, log: crash })).rejects.toThrow('simulated crash');
      // ...then a resumed run does only the remaining epochs.
      const result2 = await train({ config, clips, outDir: resumed, resume: true, progress: false, log: (l) => logs.push(l) });
      expect(logs.some((l) => l.startsWith('resuming from'))).toBe(true);
      expect(result2.history.filter((r) => r.phase === 'mae').map((r) => r.epoch)).toEqual([1, 2]);
    } finally {
      await rm(resumed, { recursive: true, force: true });
    }
  });
});

describe('data-parallel training on two cores', () => {
  it('trains like one thread: epoch losses within 5%, and falling', async () => {
    await initBackend('wasm');
    const config = { ...TEST, training: { ...TEST.training, epochs: 2, flowEpochs: 0, batchSize: 6 } };
    const one = await mkdtemp(path.join(os.tmpdir(), 'motionguard-dp1-'));
    const two = await mkdtemp(path.join(os.tmpdir(), 'motionguard-dp2-'));
    try {
      const a = await train({ config, clips, outDir: one, progress: false, log: () => {}, workers: 1 });
      const b = await train({ config, clips, outDir: two, progress: false, log: () => {}, workers: 2 });
      const lossA = a.history.map((r) => r.trainLoss);
      const lossB = b.history.map((r) => r.trainLoss);
      // Halves are weighted by windows, not masked cells: close to, not bit-equal with, one thread.
      lossA.forEach((l, i) => expect(Math.abs(l - lossB[i]!) / l).toBeLessThan(0.05));
      expect(lossB[1]!).toBeLessThan(lossB[0]!);
    } finally {
      await rm(one, { recursive: true, force: true });
      await rm(two, { recursive: true, force: true });
    }
  });
});

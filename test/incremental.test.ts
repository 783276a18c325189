import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/model/backend.js';
import { IncrementalScorer } from '../src/model/incremental-scorer.js';
import { loadModel, withScoringOverrides, type LoadedModel } from '../src/model/model-dir.js';
import { HOLD_UNITS } from '../src/model/kinematic-prior.js';
import { StreamingWorkerPool } from '../src/model/streaming-pool.js';
import { createMotion, type Motion } from '../src/model/motion.js';
import { pooledContext } from '../src/model/mae.js';
import { NFlowAD } from '../src/model/nflowad.js';
import { packBatch } from '../src/model/batch.js';
import { carryRotatingErrors, scoringCellMask } from '../src/model/masks.js';
import { fitNormalisation, motionFeatures, normaliseMotion, TOKEN_COUNT } from '../src/model/normalise.js';
import { TEST } from '../src/model/presets.js';
import { LocalTerms } from '../src/model/scorer.js';
import { CANONICAL_JOINTS, jointIndex } from '../src/model/skeleton.js';
import { robustScale, robustScaleFast } from '../src/model/stats.js';
import { crossesPeriod, onlineClipScores, refreshPhase } from '../src/model/online-scoring.js';
import { sliceTerms } from '../src/model/raw-terms.js';
import { frameLevelScores, jointErrorsFromTokens } from '../src/model/scoring.js';
import type { RawClipTerms } from '../src/model/types.js';
import { walkerMotion } from './fixtures/walker.js';

const J = CANONICAL_JOINTS.length;

/**
 * A motion whose window references (skeleton scale, floor) are the same over any span of
 * frames: one pose moved rigidly (yaw and glide on the floor), with the arms waving. Then
 * the streaming path's features equal the offline ones and the model terms must match.
 */
function rigidlyMovingPose(frames: number, seed = 1): Motion {
  const base = walkerMotion({ frames: 2 }).positions.subarray(0, J * 3);
  const out = new Float32Array(frames * J * 3);
  let s = seed;
  const random = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  const arms = ['LeftLowerArm', 'LeftHand', 'RightLowerArm', 'RightHand'].map((n) => jointIndex(n as 'LeftHand'));
  for (let t = 0; t < frames; t++) {
    const yaw = 0.03 * t;
    const c = Math.cos(yaw);
    const sn = Math.sin(yaw);
    for (let j = 0; j < J; j++) {
      const x = base[j * 3]!;
      const z = base[j * 3 + 2]!;
      const o = (t * J + j) * 3;
      out[o] = c * x + sn * z + 0.02 * t;
      out[o + 1] = base[j * 3 + 1]!;
      out[o + 2] = -sn * x + c * z + 0.01 * t;
      if (arms.includes(j)) for (let a = 0; a < 3; a++) out[o + a]! += 0.05 * random();
    }
  }
  return createMotion(30, CANONICAL_JOINTS, out);
}

describe('incremental streaming scorer', () => {
  let loaded: LoadedModel;

  beforeAll(async () => {
    await initBackend('wasm');
    const motion = rigidlyMovingPose(40);
    loaded = {
      dir: '(test)',
      config: TEST,
      model: new NFlowAD(TEST, 3),
      normalisation: fitNormalisation([motionFeatures(motion), motionFeatures(walkerMotion({ frames: 60 }))]),
      calibration: null,
      training: {},
    };
  });

  it('gives the offline path\'s model terms, however the frames are split into calls', async () => {
    const motion = rigidlyMovingPose(40);
    const [offline] = await new LocalTerms(loaded).rawTerms([motion]);
    for (const tick of [2, 3, 7, 40]) {
      const [streamed] = await new IncrementalScorer(loaded).streamedTerms([motion], tick);
      expect(streamed!.frameCount).toBe(40);
      for (let i = 0; i < offline!.jointErrors.length; i++) expect(streamed!.jointErrors[i]).toBeCloseTo(offline!.jointErrors[i]!, 3);
      for (let t = 0; t < 40; t++) expect(streamed!.nll[t]).toBeCloseTo(offline!.nll[t]!, 3);
    }
  });

  it('batches avatars of different lengths and pace without mixing their state', async () => {
    const a = rigidlyMovingPose(30, 1);
    const b = rigidlyMovingPose(21, 2);
    const scorer = new IncrementalScorer(loaded);
    const [alone] = await new IncrementalScorer(loaded).streamedTerms([b], 2);
    const [together] = (await scorer.streamedTerms([a, b], 2)).slice(1);
    for (let i = 0; i < alone!.jointErrors.length; i++) expect(together!.jointErrors[i]).toBeCloseTo(alone!.jointErrors[i]!, 4);
    expect(scorer.avatarCount).toBe(0); // streamedTerms leaves no state behind
  });

  it('matches the offline terms with learned distance biases and a flow on the masked passes\' mean latent', async () => {
    const config = { ...TEST, flow: { ...TEST.flow, latents: 'masked-mean' as const } };
    const model = new NFlowAD(config, 5);
    // Non-zero per-distance biases, so a wrong offset in the streaming attention shows.
    for (let l = 0; l < config.encoder.layers; l++) {
      const relative = model.params.variable(`mae/enc${l}/attn/relative`);
      relative.assign(tf.randomNormal(relative.shape, 0, 1, 'float32', 11 + l));
    }
    const other = { ...loaded, config, model };
    expect(model.scoringPasses).toBe(config.scoring.scoringMasks);
    const motion = rigidlyMovingPose(40);
    const [offline] = await new LocalTerms(other).rawTerms([motion]);
    // (From 2 frames per call: a first frame scored alone has no velocity yet, offline it has.)
    for (const tick of [2, 3, 9]) {
      const [streamed] = await new IncrementalScorer(other).streamedTerms([motion], tick);
      for (let i = 0; i < offline!.jointErrors.length; i++) expect(streamed!.jointErrors[i]).toBeCloseTo(offline!.jointErrors[i]!, 3);
      for (let t = 0; t < 40; t++) expect(streamed!.nll[t]).toBeCloseTo(offline!.nll[t]!, 3);
    }
    model.dispose();
  });

  it('with one rotating pass per frame: the offline errors as pass 0 measured them, carried, and the offline NLL', async () => {
    const config = { ...TEST, flow: { ...TEST.flow, latents: 'rotating' as const }, scoring: { ...TEST.scoring, streamingPasses: 'rotating' as const } };
    const model = new NFlowAD(config, 9);
    for (let l = 0; l < config.encoder.layers; l++) {
      const relative = model.params.variable(`mae/enc${l}/attn/relative`);
      relative.assign(tf.randomNormal(relative.shape, 0, 1, 'float32', 21 + l));
    }
    const other = { ...loaded, config, model };
    const motion = rigidlyMovingPose(40);
    // Offline: every pass; the carry then keeps what pass 0 alone would have measured.
    const features = normaliseMotion(motion, other.normalisation);
    const offline = await model.windowTerms(packBatch([{ frames: 40, features }]));
    const carried = offline.tokenErrors.slice();
    carryRotatingErrors(carried, 40, 0, config.scoring.scoringMasks, new Float32Array(TOKEN_COUNT));
    const expected = jointErrorsFromTokens(carried, 40);
    for (const tick of [2, 3, 9]) {
      const [streamed] = await new IncrementalScorer(other).streamedTerms([motion], tick);
      for (let i = 0; i < expected.length; i++) expect(streamed!.jointErrors[i]).toBeCloseTo(expected[i]!, 3);
      for (let t = 0; t < 40; t++) expect(streamed!.nll[t]).toBeCloseTo(offline.nll[t]!, 3);
    }
    // One pass per frame has no unmasked latent for the flow.
    const unmasked = { ...other, config: { ...config, flow: { ...config.flow, latents: 'unmasked' as const } } };
    unmasked.model = new NFlowAD(unmasked.config, 9);
    expect(() => new IncrementalScorer(unmasked)).toThrow(/streamingPasses 'rotating' needs flow.latents 'rotating' or 'masked-mean'/);
    unmasked.model.dispose();
    model.dispose();
  });

  it('with one rotating pass and a flow on the masked-mean latent: the mean of the pass\'s last three latents', async () => {
    const config = { ...TEST, flow: { ...TEST.flow, latents: 'masked-mean' as const }, scoring: { ...TEST.scoring, streamingPasses: 'rotating' as const } };
    const K = config.scoring.scoringMasks;
    const model = new NFlowAD(config, 13);
    const other = { ...loaded, config, model };
    const motion = rigidlyMovingPose(40);
    const batch = packBatch([{ frames: 40, features: normaliseMotion(motion, other.normalisation) }]);
    // Offline reference: pass 0 over the whole clip, its latents averaged over each frame and the K-1 before.
    const expected = tf.tidy(() => {
      const latent = model.mae.forward(batch, scoringCellMask(0, K, 40)).latent;
      const band = new Float32Array(40 * 40);
      for (let t = 0; t < 40; t++) for (let s = Math.max(0, t - K + 1); s <= t; s++) band[t * 40 + s] = 1 / Math.min(t + 1, K);
      const mean = tf.matMul(tf.tensor2d(band, [40, 40]), latent) as tf.Tensor2D;
      return model.flow.nll(mean, pooledContext(mean, batch.valid, 1, 40, model.contextFrames)).dataSync().slice();
    });
    for (const tick of [2, 5]) {
      const [streamed] = await new IncrementalScorer(other).streamedTerms([motion], tick);
      for (let t = 0; t < 40; t++) expect(streamed!.nll[t]).toBeCloseTo(expected[t]!, 3);
    }
    model.dispose();
  });

  it('refuses a bidirectional model', () => {
    const config = { ...TEST, encoder: { ...TEST.encoder, causal: false } };
    expect(() => new IncrementalScorer({ ...loaded, config, model: loaded.model })).toThrow(/not causal/);
  });
});

describe('staggered refreshes', () => {
  it('refresh once per period, at a frame set by the phase, whatever the tick sizes', () => {
    const refreshesAt = (phase: number, ticks: number[]): number[] => {
      const at: number[] = [];
      let seen = 0;
      for (const n of ticks) {
        if (crossesPeriod(seen, seen + n, phase, 30)) at.push(seen + n);
        seen += n;
      }
      return at;
    };
    expect(refreshesAt(0, Array(40).fill(3))).toEqual([30, 60, 90, 120]);
    expect(refreshesAt(7, Array(40).fill(3))).toEqual([24, 54, 84, 114]);
    expect(refreshesAt(7, [5, 40, 1, 1, 100])).toEqual([45, 147]); // a burst crossing two boundaries refreshes once
  });

  it('spread avatars over the period, the same way for the same first frame', () => {
    const walk = walkerMotion({ frames: 200 }).positions;
    const phases = Array.from({ length: 200 }, (_, i) => refreshPhase(walk.subarray(i * J * 3, (i + 1) * J * 3), 30));
    expect(new Set(phases).size).toBeGreaterThan(20);
    const frame = walk.subarray(3 * J * 3, 4 * J * 3);
    expect(refreshPhase(frame.slice(), 30)).toBe(refreshPhase(frame, 30));
  });
});

describe('robustScaleFast', () => {
  it('equals robustScale (median and MAD) with ties and odd or even counts', () => {
    let s = 5;
    const random = (): number => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(random() * 60);
      const values = Float64Array.from({ length: n }, () => Math.round(random() * 10));
      const expected = robustScale(values);
      const fast = robustScaleFast(values, n, new Float64Array(n));
      expect(fast.center).toBeCloseTo(expected.center, 9);
      expect(fast.spread).toBeCloseTo(expected.spread, 9);
    }
  });
});

describe('online scoring', () => {
  const terms = (frames: number, seed: number): RawClipTerms => {
    let s = seed;
    const random = (): number => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const series = (n: number): Float32Array => Float32Array.from({ length: n }, () => random());
    return { frameCount: frames, jointErrors: series(frames * J), nll: series(frames), boneDeviations: new Float32Array(frames * J), limitViolations: new Float32Array(frames * J), accelerations: series(frames * J), holds: series(frames * J), body: series(frames) };
  };
  const unit = { center: 0.5, spread: 0.2 };
  const calibration = { reconstruction: unit, nll: unit, joints: Array(J).fill(unit), bones: Array(J).fill({ center: 0, spread: 1e-3 }), accelerations: Array(J).fill(unit) };
  const weights = { alpha: 0.6, beta: 0.4, adaptive: true, temporalPrior: true, holdPrior: true };

  it('is causal: changing later frames never changes earlier scores', () => {
    const a = terms(120, 1);
    const b = { ...a, jointErrors: a.jointErrors.slice(), nll: a.nll.slice() };
    for (let i = 80 * J; i < 120 * J; i++) b.jointErrors[i] = 50; // a fault from frame 80 on
    const before = onlineClipScores(a, calibration, weights, { windowFrames: 64 });
    const after = onlineClipScores(b, calibration, weights, { windowFrames: 64 });
    expect(Array.from(after.frameScores.subarray(0, 80))).toEqual(Array.from(before.frameScores.subarray(0, 80)));
    expect(Math.min(...after.frameScores.subarray(80, 90))).toBeGreaterThan(Math.max(...before.frameScores.subarray(80, 90)));
  });

  it('matches the offline scores of the same window when scales are fresh every frame', () => {
    const a = terms(50, 2);
    const online = onlineClipScores(a, calibration, weights, { windowFrames: 50, warmupFrames: 50, tickFrames: 1 });
    const offline = frameLevelScores(a, { ...calibration, edges: { startErrorFactor: [], endErrorFactor: [], startNllOffset: [], endNllOffset: [] } }, { ...weights, edgeCorrection: false });
    // The newest frame online is judged against everything so far, like the offline clip's last frame.
    expect(online.frameScores[49]).toBeCloseTo(offline.frameScores[49]!, 4);
  });

  it('refreshes the scales at the longer period only once the window is full', () => {
    const a = terms(150, 4);
    for (let i = 75 * J; i < 150 * J; i++) a.jointErrors[i]! += 3; // the avatar's errors shift: stale scales show it
    const options = { windowFrames: 40, warmupFrames: 10, refreshFrames: 5, tickFrames: 1 };
    const same = onlineClipScores(a, calibration, weights, { ...options, fullWindowRefreshFrames: 5 });
    const longer = onlineClipScores(a, calibration, weights, { ...options, fullWindowRefreshFrames: 50 });
    const firstDifference = same.frameScores.findIndex((score, t) => score !== longer.frameScores[t]);
    // Frame index 40 is the first pushed onto a full window. The short period refreshes again
    // when 45 frames have arrived (index 44); the long one waits until 50.
    expect(firstDifference).toBe(44);
  });

  it('judges each tick\'s newest frame by exactly the last windowFrames frames, however often the window has wrapped', () => {
    const a = terms(200, 3);
    const windowFrames = 30;
    const tickFrames = 7; // ticks that do not divide the window: every wrap lands mid-tick
    const online = onlineClipScores(a, calibration, weights, { windowFrames, warmupFrames: 1000, tickFrames });
    const edges = { startErrorFactor: [], endErrorFactor: [], startNllOffset: [], endNllOffset: [] };
    for (let end = tickFrames; end <= 200; end += tickFrames) {
      const from = Math.max(0, end - windowFrames);
      const offline = frameLevelScores(sliceTerms(a, from, end), { ...calibration, edges }, { ...weights, edgeCorrection: false });
      expect(online.frameScores[end - 1]).toBeCloseTo(offline.frameScores[end - from - 1]!, 4);
    }
  });
});

describe('incremental scorer with the shipped model', () => {
  it('with streamingFlowEvery 2: the flow\'s NLL on every other frame of each avatar, held over the next; other terms unchanged', async () => {
    await initBackend('wasm');
    const loaded = await loadModel();
    const withFlowEvery = (n: number): LoadedModel => ({ ...loaded, config: { ...loaded.config, scoring: { ...loaded.config.scoring, streamingFlowEvery: n } } });
    const motions = [walkerMotion({ frames: 40 }), walkerMotion({ frames: 33, heading: 90 })];
    const every = await new IncrementalScorer(withFlowEvery(1)).streamedTerms(motions, 3); // ticks of 3: held frames start some ticks
    const held = await new IncrementalScorer(withFlowEvery(2)).streamedTerms(motions, 3);
    motions.forEach((motion, i) => {
      expect(Array.from(held[i]!.jointErrors)).toEqual(Array.from(every[i]!.jointErrors));
      for (let t = 0; t < motion.frameCount; t++) {
        expect(held[i]!.nll[t]).toBeCloseTo(every[i]!.nll[t - (t % 2)]!, 4);
      }
      expect(Array.from(held[i]!.nll)).not.toEqual(Array.from(every[i]!.nll));
    });
  });

  it('takes a backlog longer than the window in one call (in rounds) and scores every frame', async () => {
    await initBackend('wasm');
    const scorer = new IncrementalScorer(await loadModel());
    const motions = [walkerMotion({ frames: 300 }), walkerMotion({ frames: 300, heading: 40 })];
    const scores = await scorer.scoreNewFrames(motions.map((m, a) => ({ avatar: `b${a}`, frames: 300, positions: m.positions })));
    for (const s of scores) {
      expect(s.frameScores.length).toBe(300);
      expect(s.jointScores.length).toBe(300 * J);
      expect(s.frameScores.every(Number.isFinite)).toBe(true);
    }
    // ...and keeps streaming afterwards.
    const [next] = await scorer.scoreNewFrames([{ avatar: 'b0', frames: 3, positions: motions[0]!.positions.slice(0, 3 * J * 3) }]);
    expect(next!.frameScores.every(Number.isFinite)).toBe(true);
  });
});

describe('hold and body priors switched by the deployment', () => {
  it('off in the worker and in this thread alike: a stalled stream loses exactly the hold evidence', async () => {
    await initBackend('wasm');
    const shipped = await loadModel();
    expect(shipped.config.scoring.holdPrior).toBe(true);
    expect(shipped.config.scoring.bodyPrior).toBe(true);
    const off = withScoringOverrides(shipped, { holdPrior: false, bodyPrior: false });
    expect(off.config.scoring).toMatchObject({ holdPrior: false, bodyPrior: false });
    expect(withScoringOverrides(shipped, { holdPrior: undefined, bodyPrior: undefined })).toBe(shipped);
    const positions = walkerMotion({ frames: 60 }).positions.slice();
    const stride = J * 3;
    for (let t = 40; t < 60; t++) positions.copyWithin(t * stride, 39 * stride, 40 * stride); // the stream stalls at frame 39
    const local = { on: new IncrementalScorer(shipped), off: new IncrementalScorer(off) };
    const pool = new StreamingWorkerPool({ modelDir: shipped.dir, backend: 'wasm', workers: 1, fps: local.on.fps, windowFrames: local.on.windowFrames, thresholds: local.on.thresholds, scoring: { holdPrior: false, bodyPrior: false } });
    try {
      const batch = [{ avatar: 'stalled', frames: 60, positions }];
      const [on] = await local.on.scoreNewFrames(batch);
      const [offHere] = await local.off.scoreNewFrames(batch);
      const [offThere] = await pool.scoreNewFrames(batch);
      const foot = jointIndex('LeftFoot');
      // Frame 50: held for 11 frames, a long hold's evidence (2 x HOLD_UNITS), weighted by alpha in the joint score.
      expect(on!.jointScores[50 * J + foot]! - offHere!.jointScores[50 * J + foot]!).toBeCloseTo(shipped.config.scoring.alpha * 2 * HOLD_UNITS, 3);
      expect(Array.from(on!.frameScores.subarray(0, 40))).toEqual(Array.from(offHere!.frameScores.subarray(0, 40)));
      for (let t = 0; t < 60; t++) expect(offThere!.frameScores[t]).toBeCloseTo(offHere!.frameScores[t]!, 4);
    } finally {
      await pool.close();
    }
  });

  it('off: a teleported avatar loses the body evidence on every joint, from the jump on', async () => {
    await initBackend('wasm');
    const shipped = await loadModel();
    const positions = walkerMotion({ frames: 80 }).positions.slice();
    for (let t = 40; t < 80; t++) for (let j = 0; j < J; j++) positions[(t * J + j) * 3]! += 1; // 1 m sideways from frame 40
    const batch = [{ avatar: 'jumped', frames: 80, positions }];
    const [on] = await new IncrementalScorer(shipped).scoreNewFrames(batch);
    const [off] = await new IncrementalScorer(withScoringOverrides(shipped, { bodyPrior: false })).scoreNewFrames(batch);
    expect(Array.from(on!.frameScores.subarray(0, 40))).toEqual(Array.from(off!.frameScores.subarray(0, 40)));
    const gained = Array.from({ length: J }, (_, j) => on!.jointScores[60 * J + j]! - off!.jointScores[60 * J + j]!);
    expect(gained[0]).toBeGreaterThan(shipped.config.scoring.alpha * 10);
    for (const g of gained) expect(g).toBeCloseTo(gained[0]!, 3);
  });
});

describe('streaming worker pool', () => {
  it('gives the in-thread scorer\'s scores, each avatar kept on one worker', async () => {
    await initBackend('wasm');
    const shipped = await loadModel();
    const local = new IncrementalScorer(shipped);
    const pool = new StreamingWorkerPool({ modelDir: shipped.dir, backend: 'wasm', workers: 2, fps: local.fps, windowFrames: local.windowFrames, thresholds: local.thresholds });
    try {
      const motions = [walkerMotion({ frames: 45 }), rigidlyMovingPose(45, 4), walkerMotion({ frames: 45, cadence: 2.4, heading: 70 })];
      for (let from = 0; from < 45; from += 5) {
        const batch = motions.map((m, a) => ({ avatar: `a${a}`, frames: 5, positions: m.positions.slice(from * J * 3, (from + 5) * J * 3) }));
        const [expected, got] = await Promise.all([local.scoreNewFrames(batch), pool.scoreNewFrames(batch)]);
        got.forEach((g, a) => {
          expect(g.avatar).toBe(`a${a}`);
          for (let i = 0; i < 5; i++) expect(g.frameScores[i]).toBeCloseTo(expected[a]!.frameScores[i]!, 4);
        });
      }
      pool.forget(['a0']);
      const [again] = await pool.scoreNewFrames([{ avatar: 'a0', frames: 5, positions: motions[0]!.positions.slice(0, 5 * J * 3) }]);
      local.forget(['a0']);
      const [fresh] = await local.scoreNewFrames([{ avatar: 'a0', frames: 5, positions: motions[0]!.positions.slice(0, 5 * J * 3) }]);
      for (let i = 0; i < 5; i++) expect(again!.frameScores[i]).toBeCloseTo(fresh!.frameScores[i]!, 4);
    } finally {
      await pool.close();
    }
  });
});

/**
 * Offline training on normal motion only: (1) the masked autoencoder, (2) the
 * conditional flow on the frozen encoder's latents (the paper's two stages), then
 * (3) calibration of score scales and thresholds on held-out normal clips.
 * Seeded and reproducible; a checkpoint after every epoch; resumable.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { packBatch, windowPlan, type FeatureWindow } from '../model/batch.js';
import { trainingMask } from '../model/masks.js';
import { loadModel, saveModel, type LoadedModel } from '../model/model-dir.js';
import type { Motion } from '../model/motion.js';
import { NFlowAD } from '../model/nflowad.js';
import { FEATURE_SIZE, TOKEN_COUNT, fitNormalisation, motionFeatures, standardise, type NormalisationStats } from '../model/normalise.js';
import { seededRandom } from '../model/random.js';
import { MotionScorer } from '../model/scorer.js';
import type { ModelConfig } from '../model/types.js';
import { changeTempo, mirrorFeatures } from './augment.js';
import { DataParallelStep } from './data-parallel.js';
import { ProgressBar } from './progress.js';
import type { BackendName } from '../model/backend.js';
import { shuffled, splitByClip } from './split.js';

export interface TrainClip {
  readonly name: string;
  readonly motion: Motion;
}

export interface TrainOptions {
  readonly config: ModelConfig;
  readonly clips: readonly TrainClip[];
  readonly outDir: string;
  /** Continue from outDir/checkpoint when present. */
  readonly resume?: boolean;
  /** Tempo factors used as augmentation (1 = as recorded). */
  readonly tempos?: readonly number[];
  readonly log?: (line: string) => void;
  readonly progress?: boolean;
  /** 2 trains data-parallel on two cores (this thread + one worker replica); 1 stays in this thread. */
  readonly workers?: number;
  /** Recorded in training.json: where the data came from and what was left out. */
  readonly provenance?: Readonly<Record<string, unknown>>;
}

export interface EpochRecord {
  readonly phase: 'mae' | 'flow';
  readonly epoch: number;
  readonly trainLoss: number;
  readonly validationLoss: number;
  readonly learningRate: number;
  readonly framesPerSecond: number;
}

export interface TrainResult {
  readonly history: readonly EpochRecord[];
  readonly model: LoadedModel;
}

interface ClipFeatures {
  readonly frames: number;
  /** Unstandardised features, frames x FEATURE_SIZE. */
  readonly features: Float32Array;
}

interface PreparedClip {
  readonly name: string;
  /** As recorded. */
  readonly original: ClipFeatures;
  /** One per tempo factor (the original among them when 1 is listed). */
  readonly versions: readonly ClipFeatures[];
}

interface CheckpointState {
  readonly phase: 'mae' | 'flow';
  readonly epoch: number;
  readonly history: EpochRecord[];
  readonly trainClips: string[];
  readonly validationClips: string[];
}

const DEFAULT_TEMPOS = [0.8, 1, 1.25];

function features(motion: Motion): ClipFeatures {
  const { features, frameCount } = motionFeatures(motion);
  return { frames: frameCount, features };
}

function prepare(clips: readonly TrainClip[], tempos: readonly number[]): PreparedClip[] {
  return clips.map((clip) => {
    const original = features(clip.motion);
    const versions = tempos.map((tempo) => (tempo === 1 ? original : features(changeTempo(clip.motion, tempo))));
    return { name: clip.name, original, versions };
  });
}

/** One epoch's windows: random crops (about one per trainWindow frames), random tempo, random mirror. */
function sampleWindows(clips: readonly PreparedClip[], config: ModelConfig, stats: NormalisationStats, random: () => number): FeatureWindow[] {
  const size = config.training.trainWindow;
  const windows: FeatureWindow[] = [];
  for (const clip of clips) {
    const version = clip.versions[Math.floor(random() * clip.versions.length)]!;
    const crops = Math.max(1, Math.round(version.frames / size));
    for (let c = 0; c < crops; c++) {
      const frames = Math.min(size, version.frames);
      const start = Math.floor(random() * (version.frames - frames + 1));
      let features: Float32Array = version.features.slice(start * FEATURE_SIZE, (start + frames) * FEATURE_SIZE);
      if (random() < 0.5) features = mirrorFeatures(features, frames);
      windows.push({ frames, features: standardise(features, stats) });
    }
  }
  return shuffled(windows, random);
}

/** Validation windows: the recorded tempo, whole clips in model-sized windows, no mirroring. */
function validationWindows(clips: readonly PreparedClip[], config: ModelConfig, stats: NormalisationStats): FeatureWindow[] {
  const windows: FeatureWindow[] = [];
  for (const clip of clips) {
    const original = clip.original;
    const plan = windowPlan(original.frames, config.training.trainWindow);
    for (const start of plan.starts) {
      const frames = Math.min(config.training.trainWindow, original.frames - start);
      windows.push({ frames, features: standardise(original.features.slice(start * FEATURE_SIZE, (start + frames) * FEATURE_SIZE), stats) });
    }
  }
  return windows;
}

function masksFor(batch: { batch: number; frames: number }, ratio: number, random: () => number): Float32Array {
  const mask = new Float32Array(batch.batch * batch.frames * TOKEN_COUNT);
  for (let b = 0; b < batch.batch; b++) mask.set(trainingMask(random, batch.frames, ratio), b * batch.frames * TOKEN_COUNT);
  return mask;
}

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // tfjs reads the protected learningRate on every step; this is how its own schedulers change it.
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

async function saveOptimizer(dir: string, name: string, optimizer: tf.Optimizer): Promise<void> {
  const weights = await optimizer.getWeights();
  const arrays = await Promise.all(weights.map(async (w) => ({ shape: w.tensor.shape, values: Array.from(await w.tensor.data()) })));
  await writeFile(path.join(dir, `${name}.json`), JSON.stringify(arrays));
}

async function loadOptimizer(dir: string, name: string, optimizer: tf.Optimizer): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path.join(dir, `${name}.json`), 'utf8');
  } catch {
    return false;
  }
  const arrays = JSON.parse(text) as { shape: number[]; values: number[] }[];
  await optimizer.setWeights(arrays.map((a, i) => ({ name: `w${i}`, tensor: tf.tensor(a.values, a.shape) })));
  return true;
}

/** What every training stage shares: the model, the prepared data, the history and checkpointing. */
interface Run {
  readonly config: ModelConfig;
  readonly model: NFlowAD;
  readonly stats: NormalisationStats;
  readonly trainClips: readonly PreparedClip[];
  readonly validationClips: readonly PreparedClip[];
  readonly history: EpochRecord[];
  readonly checkpointDir: string;
  readonly log: (line: string) => void;
  readonly progress: boolean;
  checkpoint(phase: 'mae' | 'flow', epoch: number, optimizer: tf.Optimizer): Promise<void>;
}

/** Records an epoch, checkpoints it, then reports it (a crash after the report loses nothing). */
async function endEpoch(run: Run, bar: ProgressBar | null, record: EpochRecord, optimizer: tf.Optimizer, fields: Record<string, string>): Promise<void> {
  run.history.push(record);
  await run.checkpoint(record.phase, record.epoch - 1, optimizer);
  bar?.finish(fields);
  if (!bar) run.log(`${record.phase} epoch ${record.epoch}: ${Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' ')}`);
}

/** Masked-reconstruction loss on the validation windows, with fixed masks so epochs compare. */
function maeValidationLoss(run: Run, windows: readonly FeatureWindow[]): number {
  const tc = run.config.training;
  const random = seededRandom(tc.seed ^ 0xa11);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < windows.length; i += tc.batchSize) {
    const batch = packBatch(windows.slice(i, i + tc.batchSize));
    const mask = masksFor(batch, tc.maskRatio, random);
    const loss = tf.tidy(() => run.model.mae.loss(batch, mask));
    sum += loss.dataSync()[0]! * batch.batch;
    n += batch.batch;
    loss.dispose();
  }
  return n ? sum / n : Number.NaN;
}

/** Stage 1: the masked autoencoder, from epoch `start`, on one core or two (data-parallel). */
async function trainMaskedAutoencoder(run: Run, start: number, workers: number, resumeOptimizer: boolean): Promise<void> {
  const { config, model } = run;
  const tc = config.training;
  if (start >= tc.epochs) return;
  const vars = model.params.trainable('mae/');
  const optimizer = tf.train.adam(tc.learningRate);
  if (resumeOptimizer) await loadOptimizer(run.checkpointDir, 'optimizer-mae', optimizer);
  const validation = validationWindows(run.validationClips, config, run.stats);
  const parallel = workers >= 2 ? new DataParallelStep(model, tf.getBackend() as BackendName) : null;
  try {
    for (let epoch = start; epoch < tc.epochs; epoch++) {
      // Per-epoch random streams derived from the seed: a resumed run replays the same epochs.
      const random = seededRandom(tc.seed * 1000 + epoch);
      const lr = tc.learningRate * Math.pow(tc.lrDecay, epoch);
      setLearningRate(optimizer, lr);
      const windows = sampleWindows(run.trainClips, config, run.stats, random);
      const bar = run.progress ? new ProgressBar({ label: `mae ${epoch + 1}/${tc.epochs}`, total: windows.length }) : null;
      const t0 = performance.now();
      let frames = 0;
      let lossSum = 0;
      let lossCount = 0;
      for (let i = 0; i < windows.length; i += tc.batchSize) {
        const batch = packBatch(windows.slice(i, i + tc.batchSize));
        const mask = masksFor(batch, tc.maskRatio, random);
        const offset = Math.floor(random() * Math.max(1, config.windowFrames - batch.frames + 1));
        let value: number;
        if (parallel) {
          value = await parallel.step(optimizer, vars, batch, mask, offset, TOKEN_COUNT);
        } else {
          const cost = optimizer.minimize(() => model.mae.loss(batch, mask, offset), true, vars)!;
          value = (await cost.data())[0]!;
          cost.dispose();
        }
        if (!Number.isFinite(value)) throw new Error(`training diverged: loss ${value} at epoch ${epoch + 1}`);
        lossSum += value * batch.batch;
        lossCount += batch.batch;
        frames += batch.batch * batch.frames;
        bar?.tick(batch.batch, { loss: (lossSum / lossCount).toFixed(4), 'frames/s': ((frames / (performance.now() - t0)) * 1000).toFixed(0) });
      }
      const record: EpochRecord = {
        phase: 'mae',
        epoch: epoch + 1,
        trainLoss: lossSum / lossCount,
        validationLoss: maeValidationLoss(run, validation),
        learningRate: lr,
        framesPerSecond: (frames / (performance.now() - t0)) * 1000,
      };
      await endEpoch(run, bar, record, optimizer, { loss: record.trainLoss.toFixed(4), val: record.validationLoss.toFixed(4), 'frames/s': record.framesPerSecond.toFixed(0) });
    }
  } finally {
    await parallel?.close();
  }
}

interface LatentSet {
  /** count x d latents h_t and their pooled contexts c. */
  readonly latent: Float32Array;
  readonly context: Float32Array;
  readonly count: number;
}

/** Latents of the frozen encoder on unmasked input (recorded tempo; with mirrored copies when asked). */
function collectLatents(run: Run, clips: readonly PreparedClip[], mirror: boolean): LatentSet {
  const { config, model } = run;
  const windows: FeatureWindow[] = [];
  for (const clip of clips) {
    const original = clip.original;
    for (const flip of mirror ? [false, true] : [false]) {
      const raw = flip ? mirrorFeatures(original.features, original.frames) : original.features.slice();
      const plan = windowPlan(original.frames, config.windowFrames);
      const standardised = standardise(raw, run.stats);
      for (const start of plan.starts) {
        const frames = Math.min(config.windowFrames, original.frames - start);
        windows.push({ frames, features: standardised.subarray(start * FEATURE_SIZE, (start + frames) * FEATURE_SIZE) });
      }
    }
  }
  const d = config.encoder.dModel;
  const latents: Float32Array[] = [];
  const contexts: Float32Array[] = [];
  let count = 0;
  for (let i = 0; i < windows.length; i += config.training.batchSize) {
    const group = windows.slice(i, i + config.training.batchSize);
    const batch = packBatch(group);
    const [h, c] = tf.tidy(() => {
      const { latent, context } = model.latents(batch);
      return [latent, context];
    });
    const hv = h.dataSync() as Float32Array;
    const cv = c.dataSync() as Float32Array;
    h.dispose();
    c.dispose();
    group.forEach((w, b) => {
      latents.push(hv.slice(b * batch.frames * d, (b * batch.frames + w.frames) * d));
      contexts.push(cv.slice(b * batch.frames * d, (b * batch.frames + w.frames) * d));
      count += w.frames;
    });
  }
  const latent = new Float32Array(count * d);
  const context = new Float32Array(count * d);
  let offset = 0;
  latents.forEach((l, i) => {
    latent.set(l, offset);
    context.set(contexts[i]!, offset);
    offset += l.length;
  });
  return { latent, context, count };
}

/** Mean flow NLL of a latent set (in chunks, to bound memory). */
function meanNll(run: Run, set: LatentSet): number {
  const d = run.config.encoder.dModel;
  let sum = 0;
  for (let i = 0; i < set.count; i += 4096) {
    const n = Math.min(4096, set.count - i);
    const v = tf.tidy(() =>
      tf.sum(run.model.flow.nll(tf.tensor2d(set.latent.subarray(i * d, (i + n) * d), [n, d]), tf.tensor2d(set.context.subarray(i * d, (i + n) * d), [n, d]))),
    );
    sum += v.dataSync()[0]!;
    v.dispose();
  }
  return sum / Math.max(1, set.count);
}

/** Frames per flow step: the flow is small, so big batches are cheap and steady. */
const FLOW_BATCH = 1024;

/** Stage 2: the conditional flow on the frozen encoder's latents (the paper's second stage). */
async function trainFlow(run: Run, start: number): Promise<void> {
  const { config, model } = run;
  const tc = config.training;
  if (start >= tc.flowEpochs) return;
  run.log('collecting encoder latents for the flow...');
  const train = collectLatents(run, run.trainClips, true);
  const validation = collectLatents(run, run.validationClips, false);
  const d = config.encoder.dModel;
  const vars = model.params.trainable('flow/');
  const optimizer = tf.train.adam(tc.flowLearningRate);
  if (start > 0) await loadOptimizer(run.checkpointDir, 'optimizer-flow', optimizer);
  else tf.tidy(() => model.flow.initialiseFromData(tf.tensor2d(train.latent, [train.count, d])));
  const h = new Float32Array(FLOW_BATCH * d);
  const c = new Float32Array(FLOW_BATCH * d);
  for (let epoch = start; epoch < tc.flowEpochs; epoch++) {
    const random = seededRandom(tc.seed * 7919 + epoch);
    const lr = tc.flowLearningRate * Math.pow(tc.lrDecay, epoch);
    setLearningRate(optimizer, lr);
    const order = shuffled(
      Array.from({ length: train.count }, (_, i) => i),
      random,
    );
    const bar = run.progress ? new ProgressBar({ label: `flow ${epoch + 1}/${tc.flowEpochs}`, total: order.length }) : null;
    const t0 = performance.now();
    let lossSum = 0;
    let lossCount = 0;
    for (let i = 0; i < order.length; i += FLOW_BATCH) {
      const n = Math.min(FLOW_BATCH, order.length - i);
      for (let k = 0; k < n; k++) {
        const src = order[i + k]! * d;
        h.set(train.latent.subarray(src, src + d), k * d);
        c.set(train.context.subarray(src, src + d), k * d);
      }
      const cost = optimizer.minimize(
        () => tf.mean(model.flow.nll(tf.tensor2d(h.subarray(0, n * d), [n, d]), tf.tensor2d(c.subarray(0, n * d), [n, d]))) as tf.Scalar,
        true,
        vars,
      )!;
      const value = (await cost.data())[0]!;
      cost.dispose();
      if (!Number.isFinite(value)) throw new Error(`flow training diverged: NLL ${value} at epoch ${epoch + 1}`);
      lossSum += value * n;
      lossCount += n;
      bar?.tick(n, { nll: (lossSum / lossCount).toFixed(4) });
    }
    const record: EpochRecord = {
      phase: 'flow',
      epoch: epoch + 1,
      trainLoss: lossSum / lossCount,
      validationLoss: meanNll(run, validation),
      learningRate: lr,
      framesPerSecond: (lossCount / (performance.now() - t0)) * 1000,
    };
    await endEpoch(run, bar, record, optimizer, { nll: record.trainLoss.toFixed(4), val: record.validationLoss.toFixed(4) });
  }
}

async function readCheckpointState(checkpointDir: string, log: (line: string) => void): Promise<CheckpointState | null> {
  try {
    const state = JSON.parse(await readFile(path.join(checkpointDir, 'state.json'), 'utf8')) as CheckpointState;
    log(`resuming from ${checkpointDir}: ${state.phase} epoch ${state.epoch + 1} done`);
    return state;
  } catch {
    log(`no checkpoint in ${checkpointDir}: starting fresh`);
    return null;
  }
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config, outDir } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const tc = config.training;
  const checkpointDir = path.join(outDir, 'checkpoint');
  const state = options.resume ? await readCheckpointState(checkpointDir, log) : null;

  const split = state
    ? {
        train: options.clips.filter((c) => state.trainClips.includes(c.name)),
        validation: options.clips.filter((c) => state.validationClips.includes(c.name)),
      }
    : splitByClip(options.clips, tc.validationFraction, tc.seed);
  if (split.train.length === 0) throw new Error('no training clips');
  log(`clips: ${split.train.length} train, ${split.validation.length} validation (split by clip, seed ${tc.seed})`);
  const tempos = options.tempos ?? DEFAULT_TEMPOS;
  const trainClips = prepare(split.train, tempos);
  const validationClips = prepare(split.validation, [1]);
  const stats = fitNormalisation(trainClips.map((c) => ({ frameCount: c.original.frames, features: c.original.features, skeletonScale: 1 })));
  const model = state ? (await loadModel(checkpointDir, { ignoreCalibration: true })).model : new NFlowAD(config);
  const history: EpochRecord[] = state ? [...state.history] : [];
  await mkdir(checkpointDir, { recursive: true });
  const run: Run = {
    config,
    model,
    stats,
    trainClips,
    validationClips,
    history,
    checkpointDir,
    log,
    progress: options.progress !== false,
    async checkpoint(phase, epoch, optimizer) {
      await saveModel(checkpointDir, { model, normalisation: stats, calibration: null, training: { checkpoint: true } });
      await saveOptimizer(checkpointDir, `optimizer-${phase}`, optimizer);
      const next: CheckpointState = {
        phase,
        epoch,
        history,
        trainClips: split.train.map((c) => c.name),
        validationClips: split.validation.map((c) => c.name),
      };
      await writeFile(path.join(checkpointDir, 'state.json'), JSON.stringify(next));
    },
  };

  const maeStart = state ? (state.phase === 'mae' ? state.epoch + 1 : tc.epochs) : 0;
  await trainMaskedAutoencoder(run, maeStart, options.workers ?? 1, state !== null);
  await trainFlow(run, state?.phase === 'flow' ? state.epoch + 1 : 0);

  // Stage 3: calibration on the held-out normal clips.
  const training = {
    ...options.provenance,
    preset: config.preset,
    trainClips: split.train.length,
    validationClips: split.validation.length,
    trainFrames: trainClips.reduce((s, c) => s + c.original.frames, 0),
    tempos,
    seed: tc.seed,
    history,
    validationClipNames: split.validation.map((c) => c.name),
    trainedAt: new Date().toISOString(),
  };
  await saveModel(outDir, { model, normalisation: stats, calibration: null, training });
  model.dispose();
  const loaded = await loadModel(outDir);
  const calibrationClips = split.validation.length ? split.validation : split.train;
  const calibration = await new MotionScorer(loaded).calibrateOn(calibrationClips.map((c) => c.motion));
  await saveModel(outDir, { model: loaded.model, normalisation: stats, calibration, training });
  log(
    `calibrated on ${calibration.validationClips} clips / ${calibration.validationFrames} frames: ` +
      `frame threshold ${calibration.thresholds.frame.toFixed(3)}, spike ${calibration.thresholds.spike.toFixed(3)}`,
  );
  await rm(checkpointDir, { recursive: true, force: true });
  return { history, model: { ...loaded, calibration } };
}

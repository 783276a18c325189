/**
 * Offline model throughput on one tfjs backend, in a child process of its own (a tfjs
 * backend is process-wide, and a child keeps one backend's memory from another's timing).
 * Measures the plain 2D matMul rate (the machine's limit on this backend), the offline
 * window path (NFlowAD.windowTerms alone, and MotionScorer.scoreWindows with feature
 * preparation and calibrated scoring) on 250-frame windows, and the incremental streaming
 * step (IncrementalScorer.scoreNewFrames) with a few new frames per avatar.
 * Every figure is the median of repeated calls after a warm-up call.
 *
 * Driven over IPC: `config` in, one `result` (or `error`) out.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/model/backend.js';
import { packBatch } from '../src/model/batch.js';
import { IncrementalScorer } from '../src/model/incremental-scorer.js';
import { loadModel, type LoadedModel } from '../src/model/model-dir.js';
import type { Motion } from '../src/model/motion.js';
import { NFlowAD } from '../src/model/nflowad.js';
import { normaliseMotion } from '../src/model/normalise.js';
import { presetByName } from '../src/model/presets.js';
import { MotionScorer } from '../src/model/scorer.js';
import { walkerMotion } from '../src/synth/walker.js';
import { parameterCount, streamingCallFlops, windowCallFlops } from './flops.js';
import { median } from './stats.js';

export interface OfflinePresetPlan {
  /** 'default' = the shipped trained model; otherwise a preset with random weights. */
  readonly preset: string;
  readonly windowBatches: readonly number[];
  readonly incrementalAvatars: readonly number[];
  /** Also time MotionScorer.scoreWindows (default true). */
  readonly scoring?: boolean;
  /** An untimed warm-up call before each measurement (default true). */
  readonly warmup?: boolean;
  readonly maxReps?: number;
}

export interface OfflineConfig {
  readonly type: 'config';
  readonly backend: BackendName;
  readonly modelDir: string;
  readonly presets: readonly OfflinePresetPlan[];
  /** Square matMul sizes and model-shaped [rows, inner, cols] products. */
  readonly matmulSquare: readonly number[];
  readonly matmulShaped: readonly (readonly [number, number, number])[];
  /** Repeat each measurement until this much time has passed (after at least minReps calls). */
  readonly minTimeMs: number;
  readonly minReps: number;
  readonly maxReps: number;
  readonly newFramesPerCall: number;
  /** Frames each avatar is given before timing starts (in calls of WARMUP_CHUNK). */
  readonly warmupFrames: number;
}

export interface Timing {
  readonly medianMs: number;
  readonly minMs: number;
  readonly reps: number;
}

export interface MatmulResult {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly timing: Timing;
  readonly gflops: number;
}

export interface WindowResult {
  readonly batch: number;
  readonly frames: number;
  readonly flopsPerWindow: number;
  readonly model: Timing & { readonly framesPerSecond: number; readonly windowsPerSecond: number; readonly gflops: number };
  readonly scoring: Timing & { readonly framesPerSecond: number; readonly windowsPerSecond: number; readonly gflops: number };
}

export interface IncrementalResult {
  readonly avatars: number;
  readonly newFrames: number;
  readonly flopsPerFrame: number;
  readonly timing: Timing;
  readonly framesPerSecond: number;
  readonly callsPerSecond: number;
  /** Avatars at 30 fps this one thread could keep up with: framesPerSecond / 30. */
  readonly realtimeAvatars: number;
  readonly gflops: number;
}

export interface PresetResult {
  readonly preset: string;
  readonly weights: string;
  readonly architecture: string;
  readonly parameters: number;
  readonly causal: boolean;
  readonly window: WindowResult[];
  readonly incremental: IncrementalResult[];
  readonly incrementalSkipped: string | null;
}

export interface OfflineResult {
  readonly type: 'result';
  readonly backend: BackendName;
  readonly available: true;
  readonly initMs: number;
  readonly matmul: MatmulResult[];
  readonly presets: PresetResult[];
  /** CPU time of this child process, all threads. */
  readonly cpuSeconds: number;
}

export interface OfflineUnavailable {
  readonly type: 'result';
  readonly backend: BackendName;
  readonly available: false;
  readonly reason: string;
  readonly cpuSeconds: number;
}

interface Repeat {
  readonly minTimeMs: number;
  readonly minReps: number;
  readonly maxReps: number;
  readonly warmup?: boolean;
}

/** Frames per avatar per warm-up call of the incremental scorer. */
const WARMUP_CHUNK = 6;

async function time(fn: () => Promise<unknown>, config: Repeat): Promise<Timing> {
  if (config.warmup ?? true) await fn(); // kernels compiled, buffers allocated
  const times: number[] = [];
  const started = performance.now();
  while (times.length < config.minReps || (performance.now() - started < config.minTimeMs && times.length < config.maxReps)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), minMs: Math.min(...times), reps: times.length };
}

async function matmul(m: number, k: number, n: number, config: OfflineConfig): Promise<MatmulResult> {
  const a = tf.randomNormal([m, k]) as tf.Tensor2D;
  const b = tf.randomNormal([k, n]) as tf.Tensor2D;
  const timing = await time(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }, config);
  a.dispose();
  b.dispose();
  return { m, k, n, timing, gflops: (2 * m * k * n) / timing.medianMs / 1e6 };
}

function describe(loaded: LoadedModel): string {
  const { encoder, decoderHidden, flow } = loaded.config;
  return `d=${encoder.dModel}, ${encoder.layers} layers, ${encoder.heads} heads, ffn x${encoder.ffnMultiplier}, attention ${encoder.attentionRadius === null ? 'full' : `${encoder.causal ? 'causal ' : ''}radius ${encoder.attentionRadius}`}, decoder ${decoderHidden}, flow ${flow.blocks}x${flow.hidden}`;
}

async function openPreset(name: string, trained: LoadedModel): Promise<{ loaded: LoadedModel; weights: string }> {
  if (name === 'default') return { loaded: trained, weights: `trained (${trained.dir})` };
  const config = presetByName(name);
  const loaded: LoadedModel = { ...trained, dir: `random:${name}`, config, model: new NFlowAD(config) };
  return { loaded, weights: 'random (speed only; normalisation and calibration borrowed from the shipped model)' };
}

function planRepeat(plan: OfflinePresetPlan, config: OfflineConfig): Repeat {
  const maxReps = Math.min(plan.maxReps ?? config.maxReps, config.maxReps);
  return { minTimeMs: config.minTimeMs, minReps: Math.min(config.minReps, maxReps), maxReps, warmup: plan.warmup ?? true };
}

async function windowRuns(loaded: LoadedModel, motion: Motion, plan: OfflinePresetPlan, config: OfflineConfig): Promise<WindowResult[]> {
  const frames = loaded.config.windowFrames;
  const features = normaliseMotion(motion, loaded.normalisation).subarray(0, frames * 66);
  const scorer = new MotionScorer(loaded);
  const repeat = planRepeat(plan, config);
  const out: WindowResult[] = [];
  for (const batch of plan.windowBatches) {
    const windows = Array.from({ length: batch }, () => motion);
    const packed = packBatch(Array.from({ length: batch }, () => ({ frames, features })));
    const model = await time(() => loaded.model.windowTerms(packed), repeat);
    const scoring = (plan.scoring ?? true) ? await time(() => scorer.scoreWindows(windows), repeat) : { medianMs: Number.NaN, minMs: Number.NaN, reps: 0 };
    const flops = windowCallFlops(loaded.config, batch, frames);
    const rates = (t: Timing): { framesPerSecond: number; windowsPerSecond: number; gflops: number } => ({
      framesPerSecond: (batch * frames * 1000) / t.medianMs,
      windowsPerSecond: (batch * 1000) / t.medianMs,
      gflops: flops.call.total / t.medianMs / 1e6,
    });
    out.push({ batch, frames, flopsPerWindow: flops.perUnit, model: { ...model, ...rates(model) }, scoring: { ...scoring, ...rates(scoring) } });
  }
  return out;
}

async function incrementalRuns(loaded: LoadedModel, long: Motion, plan: OfflinePresetPlan, config: OfflineConfig): Promise<IncrementalResult[]> {
  const stride = 63;
  const n = config.newFramesPerCall;
  const out: IncrementalResult[] = [];
  for (const avatars of plan.incrementalAvatars) {
    const scorer = new IncrementalScorer(loaded);
    const ids = Array.from({ length: avatars }, (_, a) => `avatar-${a}`);
    const offsets = ids.map((_, a) => (a * 7) % 300);
    let seq = 0;
    const call = (frames: number): Promise<unknown> => {
      const from = seq;
      seq += frames;
      return scorer.scoreNewFrames(ids.map((avatar, a) => ({ avatar, frames, positions: long.positions.subarray((offsets[a]! + from) * stride, (offsets[a]! + from + frames) * stride) })));
    };
    // Warm-up in ticks of a few frames: one big burst would also be slow, and on wasm a burst
    // of tens of frames for hundreds of avatars exhausts the heap (see the README).
    for (let given = 0; given < config.warmupFrames; given += WARMUP_CHUNK) await call(Math.min(WARMUP_CHUNK, config.warmupFrames - given));
    await call(n);
    const repeat = planRepeat(plan, config);
    const timing = await time(() => call(n), { ...repeat, maxReps: Math.min(repeat.maxReps, Math.floor((long.frameCount - 300 - seq) / n) - 1) });
    const flops = streamingCallFlops(loaded.config, avatars, n);
    const framesPerSecond = (avatars * n * 1000) / timing.medianMs;
    out.push({
      avatars,
      newFrames: n,
      flopsPerFrame: flops.perUnit,
      timing,
      framesPerSecond,
      callsPerSecond: 1000 / timing.medianMs,
      realtimeAvatars: framesPerSecond / loaded.config.fps,
      gflops: flops.call.total / timing.medianMs / 1e6,
    });
    await scorer.close();
  }
  return out;
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

async function run(config: OfflineConfig): Promise<OfflineResult | OfflineUnavailable> {
  const t0 = performance.now();
  try {
    await initBackend(config.backend);
  } catch (error) {
    return { type: 'result', backend: config.backend, available: false, reason: (error as Error).message, cpuSeconds: cpuSeconds() };
  }
  const initMs = performance.now() - t0;
  const matmulResults: MatmulResult[] = [];
  for (const size of config.matmulSquare) matmulResults.push(await matmul(size, size, size, config));
  for (const [m, k, n] of config.matmulShaped) matmulResults.push(await matmul(m, k, n, config));
  const trained = await loadModel(config.modelDir);
  const motion = walkerMotion({ frames: 250 });
  const long = walkerMotion({ frames: 300 + config.warmupFrames + config.newFramesPerCall * (config.maxReps + 4) });
  const presets: PresetResult[] = [];
  for (const plan of config.presets) {
    const { loaded, weights } = await openPreset(plan.preset, trained);
    const causal = loaded.config.encoder.causal ?? false;
    const window = await windowRuns(loaded, motion, plan, config);
    const incremental = causal ? await incrementalRuns(loaded, long, plan, config) : [];
    presets.push({
      preset: plan.preset === 'default' ? `default (${loaded.config.preset})` : plan.preset,
      weights,
      architecture: describe(loaded),
      parameters: parameterCount(loaded.config),
      causal,
      window,
      incremental,
      incrementalSkipped: causal ? null : 'bidirectional (not causal): no streaming step; a server would use the full-window strategy',
    });
    if (loaded !== trained) loaded.model.dispose();
  }
  return { type: 'result', backend: config.backend, available: true, initMs, matmul: matmulResults, presets, cpuSeconds: cpuSeconds() };
}

process.on('message', (message: OfflineConfig) => {
  if (message.type !== 'config') return;
  void run(message).then(
    (result) => process.send!(result, undefined, {}, () => process.disconnect()),
    (error: unknown) => process.send!({ type: 'error', message: (error as Error).stack ?? String(error) }, undefined, {}, () => process.disconnect()),
  );
});

/**
 * The motionguard command line: train, calibrate, score, info, evaluate, demo, serve.
 * Every command prints data on stdout and messages on stderr, and returns an exit code.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { initBackend, resolveBackendName } from '../model/backend.js';
import { DEFAULT_MODEL_DIR, loadModel, saveModel } from '../model/model-dir.js';
import type { Motion } from '../model/motion.js';
import { presetByName, PRESETS } from '../model/presets.js';
import { MotionScorer } from '../model/scorer.js';
import { WorkerPoolTerms } from '../model/worker-pool.js';
import type { LoadedModel } from '../model/model-dir.js';
import type { BackendName } from '../model/backend.js';
import os from 'node:os';
import type { ModelConfig } from '../model/types.js';
import { listBvhFiles, loadBvhFile } from '../train/dataset.js';
import { evaluate, reportMarkdown, type ClipScorer } from '../eval/evaluate.js';
import { openStreamingScorer } from '../model/streaming.js';
import { fitPcaReconstruction, fitSpeedZScore } from '../eval/baselines.js';
import { isHeldOut } from '../train/holdout.js';
import { train } from '../train/trainer.js';
import { runDemo } from './demo.js';
import { scoreLine, type ErrorLine } from './score-output.js';
import { replayClips, runReplay } from './replay.js';
import { SERVE_USAGE, commandServe } from './serve.js';

const USAGE = `motionguard — anomalous human motion detection (NFlowAD)

Usage:
  motionguard train --data DIR|GLOB... [--preset NAME] [--epochs N] [--flow-epochs N] [--lr-decay F] [--out DIR] [--resume] [--seed N]
                    [--holdout FRACTION] [--exclude REGEX] [--workers 1|2] [--flow-latents unmasked|masked-mean|rotating]
  motionguard calibrate --model DIR --data DIR|GLOB... [--validation]
  motionguard score [--model DIR] [--workers N] --jsonl FILE.bvh...
  motionguard score --replay [--model DIR] [--workers N] [--tick-ms N] [--config FILE] --jsonl FILE.bvh...
                    the same lines, scored by the streaming server's online path (virtual clock)
  ${SERVE_USAGE}
                    the streaming server (WebSocket ingest and alerts, /metrics); see docs/protocol.md
  motionguard info [--model DIR]
  motionguard evaluate [--model DIR] --data DIR [--holdout 0.1] [--unseen REGEX] [--out report.json] [--replay]
  motionguard demo [--bvh FILE] [--kind KIND]   inject a fault into a clip and show how it scores

Common options:
  --backend wasm|cpu|tensorflow     inference/training backend (default: $MOTIONGUARD_BACKEND or wasm)
  --help

Presets: ${Object.keys(PRESETS).join(', ')}. Without --model, the shipped default model is used (${path.relative(process.cwd(), DEFAULT_MODEL_DIR) || DEFAULT_MODEL_DIR}).`;

class UsageError extends Error {}

/** Below this many clips, starting worker threads (each loads the model) costs more than it saves. */
const WORKERS_PAY_OFF_AT = 16;

/**
 * A scorer that uses every core when it pays: `--workers N` threads (each its own wasm
 * instance and model copy), 0 for this thread only; by default one per core for big jobs.
 */
function makeScorer(loaded: LoadedModel, backend: BackendName, workersOption: string | undefined, jobSize: number): { scorer: MotionScorer; close: () => Promise<void> } {
  const auto = jobSize >= WORKERS_PAY_OFF_AT ? Math.min(4, os.availableParallelism()) : 0;
  const workers = workersOption === undefined ? auto : intOption(workersOption, 'workers')!;
  if (workers === 0) return { scorer: new MotionScorer(loaded), close: async () => {} };
  const pool = new WorkerPoolTerms(loaded.dir, backend, workers);
  return { scorer: new MotionScorer(loaded, { terms: pool }), close: () => pool.close() };
}

function fail(message: string): number {
  process.stderr.write(`motionguard: ${message}\n`);
  return message.startsWith('usage') ? 2 : 1;
}

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} needs a non-negative integer, got '${value}'`);
  return n;
}

interface ClipFilter {
  /** Leave out the fixed held-out test set (see src/train/holdout.ts). */
  readonly holdout?: number;
  /** Leave out files whose name matches (e.g. a whole motion, to test unseen motion). */
  readonly exclude?: RegExp;
}

async function loadClips(inputs: string[], filter: ClipFilter = {}): Promise<{ name: string; motion: Motion }[]> {
  const all = await listBvhFiles(inputs);
  const files = all.filter((f) => !isHeldOut(f, filter.holdout ?? 0) && !(filter.exclude?.test(path.basename(f)) ?? false));
  process.stderr.write(`loading ${files.length} BVH files${files.length < all.length ? ` (${all.length - files.length} held out)` : ''}...\n`);
  const clips: { name: string; motion: Motion }[] = [];
  for (const file of files) clips.push({ name: path.basename(file), motion: await loadBvhFile(file) });
  return clips;
}

async function commandTrain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', multiple: true },
      preset: { type: 'string', default: 'tiny' },
      epochs: { type: 'string' },
      'flow-epochs': { type: 'string' },
      'lr-decay': { type: 'string' },
      out: { type: 'string', default: 'runs/model' },
      resume: { type: 'boolean', default: false },
      seed: { type: 'string' },
      backend: { type: 'string' },
      holdout: { type: 'string', default: '0' },
      exclude: { type: 'string' },
      workers: { type: 'string' },
      'flow-latents': { type: 'string' },
    },
  });
  if (!values.data?.length) throw new UsageError('train needs --data DIR|GLOB (normal motion only)');
  const flowLatents = values['flow-latents'];
  if (flowLatents !== undefined && flowLatents !== 'unmasked' && flowLatents !== 'masked-mean' && flowLatents !== 'rotating') {
    throw new UsageError(`--flow-latents needs 'unmasked', 'masked-mean' or 'rotating', got '${flowLatents}'`);
  }
  const holdout = Number(values.holdout);
  if (!(holdout >= 0 && holdout < 1)) throw new UsageError(`--holdout needs a fraction in [0, 1), got '${values.holdout}'`);
  await initBackend(resolveBackendName(values.backend));
  const preset = presetByName(values.preset!);
  const epochs = intOption(values.epochs, 'epochs');
  const flowEpochs = intOption(values['flow-epochs'], 'flow-epochs');
  const seed = intOption(values.seed, 'seed');
  const lrDecay = values['lr-decay'] === undefined ? undefined : Number(values['lr-decay']);
  if (lrDecay !== undefined && !(lrDecay > 0 && lrDecay <= 1)) throw new UsageError(`--lr-decay needs a factor in (0, 1], got '${values['lr-decay']}'`);
  const config: ModelConfig = {
    ...preset,
    ...(flowLatents === undefined ? {} : { flow: { ...preset.flow, latents: flowLatents } }),
    // One rotating pass per streamed frame needs a flow on masked latents (it has no unmasked one).
    scoring: { ...preset.scoring, ...(flowLatents === undefined ? {} : { streamingPasses: flowLatents === 'unmasked' ? 'all' : 'rotating' }) },
    training: {
      ...preset.training,
      ...(epochs === undefined ? {} : { epochs }),
      ...(flowEpochs === undefined ? {} : { flowEpochs }),
      ...(lrDecay === undefined ? {} : { lrDecay }),
      ...(seed === undefined ? {} : { seed }),
    },
  };
  const exclude = values.exclude ? new RegExp(values.exclude) : undefined;
  const clips = await loadClips(values.data, { holdout, exclude });
  const result = await train({
    config,
    clips,
    outDir: values.out!,
    resume: values.resume,
    workers: values.workers === undefined ? Math.min(2, os.availableParallelism()) : intOption(values.workers, 'workers'),
    provenance: { data: values.data, holdout, exclude: values.exclude ?? null },
  });
  process.stderr.write(`model written to ${values.out} (${result.model.model.params.count()} parameters)\n`);
  return 0;
}

async function commandCalibrate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string' }, data: { type: 'string', multiple: true }, backend: { type: 'string' }, validation: { type: 'boolean', default: false } },
  });
  if (!values.model || !values.data?.length) throw new UsageError('calibrate needs --model DIR and --data DIR|GLOB (normal motion only)');
  await initBackend(resolveBackendName(values.backend));
  const loaded = await loadModel(values.model, { ignoreCalibration: true });
  // --validation: only the clips training held out for calibration (listed in training.json).
  const listed = values.validation ? new Set((loaded.training.validationClipNames as string[] | undefined) ?? []) : null;
  if (listed && listed.size === 0) throw new UsageError(`${values.model}/training.json lists no validation clips`);
  const clips = (await loadClips(values.data)).filter((c) => !listed || listed.has(c.name));
  const calibration = await new MotionScorer(loaded).calibrateOn(clips.map((c) => c.motion));
  await saveModel(values.model, { model: loaded.model, normalisation: loaded.normalisation, calibration, training: loaded.training });
  process.stderr.write(`calibrated on ${calibration.validationClips} clips: ${JSON.stringify(calibration.thresholds)}\n`);
  return 0;
}

/** Files scored per model call: large enough to batch well (and to split across workers), small enough to stream output. */
const SCORE_CHUNK = 64;

async function commandScore(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      jsonl: { type: 'boolean', default: false },
      backend: { type: 'string' },
      workers: { type: 'string' },
      replay: { type: 'boolean', default: false },
      'tick-ms': { type: 'string' },
      config: { type: 'string' },
    },
  });
  if (!values.jsonl) throw new UsageError('score writes JSON lines: pass --jsonl');
  if (positionals.length === 0) throw new UsageError('score needs at least one BVH file');
  if (values.replay) {
    return runReplay({
      files: positionals,
      model: values.model,
      backend: values.backend === undefined ? undefined : resolveBackendName(values.backend),
      workers: intOption(values.workers, 'workers'),
      configFile: values.config,
      tickMs: values['tick-ms'],
    });
  }
  if (values['tick-ms'] !== undefined || values.config !== undefined) throw new UsageError('--tick-ms and --config go with --replay');
  const backend = await initBackend(resolveBackendName(values.backend));
  const loaded = await loadModel(values.model ?? DEFAULT_MODEL_DIR);
  const { scorer, close } = makeScorer(loaded, backend, values.workers, positionals.length);
  try {
    void scorer.thresholds; // fail early on an uncalibrated model
    return await scoreFiles(scorer, positionals);
  } finally {
    await close();
  }
}

async function scoreFiles(scorer: MotionScorer, positionals: readonly string[]): Promise<number> {
  let failures = 0;
  for (let i = 0; i < positionals.length; i += SCORE_CHUNK) {
    const files = positionals.slice(i, i + SCORE_CHUNK);
    type Loaded = { file: string; motion: Motion | undefined; error: string | undefined };
    const loadedClips: Loaded[] = await Promise.all(
      files.map(async (file) => {
        try {
          return { file, motion: await loadBvhFile(file), error: undefined };
        } catch (error) {
          return { file, motion: undefined, error: (error as Error).message };
        }
      }),
    );
    const scorable = (c: Loaded): c is Loaded & { motion: Motion } => c.motion !== undefined && c.motion.frameCount >= 2;
    const good = loadedClips.filter(scorable);
    const scores = good.length ? await scorer.scoreClips(good.map((c) => c.motion)) : [];
    const lines: string[] = [];
    let g = 0;
    for (const clip of loadedClips) {
      if (scorable(clip)) {
        lines.push(JSON.stringify(scoreLine(clip.file, scorer.fps, scores[g++]!)));
      } else {
        failures++;
        const error: ErrorLine = { file: clip.file, error: clip.error ?? 'too short to score (needs at least 2 frames)' };
        lines.push(JSON.stringify(error));
      }
    }
    await new Promise<void>((resolve) => process.stdout.write(`${lines.join('\n')}\n`, () => resolve()));
  }
  if (failures) process.stderr.write(`${failures} of ${positionals.length} files could not be scored\n`);
  return failures === positionals.length ? 1 : 0;
}

/** Clip results through exactly the online path (see src/cli/replay.ts). */
async function replayScorer(modelDir: string, backend: BackendName, workersOption: string | undefined): Promise<{ scorer: ClipScorer; close: () => Promise<void> }> {
  const streaming = await openStreamingScorer({ modelDir, backend, workers: workersOption === undefined ? undefined : intOption(workersOption, 'workers') });
  return { scorer: { scoreClips: (motions) => replayClips(streaming, motions) }, close: () => streaming.close() };
}

async function commandEvaluate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      data: { type: 'string', multiple: true },
      holdout: { type: 'string', default: '0.1' },
      unseen: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
      seed: { type: 'string', default: '1' },
      workers: { type: 'string' },
      replay: { type: 'boolean', default: false },
    },
  });
  if (!values.data?.length) throw new UsageError('evaluate needs --data DIR|GLOB (the normal data the model was trained from)');
  const backend = await initBackend(resolveBackendName(values.backend));
  const loaded = await loadModel(values.model ?? DEFAULT_MODEL_DIR);
  const holdout = Number(values.holdout);
  const unseenPattern = values.unseen ? new RegExp(values.unseen) : null;
  const files = await listBvhFiles(values.data);
  const heldOut: { name: string; motion: Motion }[] = [];
  const unseen: { name: string; motion: Motion }[] = [];
  const training: Motion[] = [];
  for (const file of files) {
    const name = path.basename(file);
    const motion = await loadBvhFile(file);
    if (unseenPattern?.test(name)) unseen.push({ name, motion });
    else if (isHeldOut(file, holdout)) heldOut.push({ name, motion });
    else training.push(motion);
  }
  if (heldOut.length === 0) throw new UsageError('no held-out clips: check --holdout and --data');
  process.stderr.write(`evaluating on ${heldOut.length} held-out clips and ${unseen.length} unseen-motion clips; baselines fitted on ${training.length} clips\n`);
  // --replay: judge the online path (every clip streamed through the streaming scorer and the online rule).
  const { scorer, close } = values.replay ? await replayScorer(loaded.dir, backend, values.workers) : makeScorer(loaded, backend, values.workers, heldOut.length * 16);
  const report = await evaluate({
    scorer,
    heldOut,
    unseen,
    baselines: [fitSpeedZScore(training), fitPcaReconstruction(training)],
    seed: Number(values.seed),
  }).finally(close);
  process.stdout.write(`${reportMarkdown(report)}\n`);
  if (values.out) await writeFile(values.out, `${JSON.stringify({ model: loaded.dir, preset: loaded.config.preset, ...report }, null, 1)}\n`);
  return 0;
}

async function commandDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string' }, bvh: { type: 'string' }, kind: { type: 'string' }, seed: { type: 'string' }, backend: { type: 'string' } },
  });
  await initBackend(resolveBackendName(values.backend));
  const loaded = await loadModel(values.model ?? DEFAULT_MODEL_DIR);
  const text = await runDemo(new MotionScorer(loaded), { file: values.bvh, kind: values.kind, seed: intOption(values.seed, 'seed') });
  process.stdout.write(`${text}\n`);
  return 0;
}

async function commandInfo(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const backend = await initBackend(resolveBackendName(values.backend));
  const loaded = await loadModel(values.model ?? DEFAULT_MODEL_DIR);
  const info = {
    dir: loaded.dir,
    backend,
    preset: loaded.config.preset,
    parameters: loaded.model.params.count(),
    windowFrames: loaded.config.windowFrames,
    fps: loaded.config.fps,
    encoder: loaded.config.encoder,
    flow: loaded.config.flow,
    scoring: loaded.config.scoring,
    thresholds: loaded.calibration?.thresholds ?? null,
    calibratedOn: loaded.calibration ? { clips: loaded.calibration.validationClips, frames: loaded.calibration.validationFrames } : null,
    training: Object.fromEntries(Object.entries(loaded.training).filter(([k]) => k !== 'history' && k !== 'validationClipNames')),
  };
  process.stdout.write(`${JSON.stringify(info, null, values.json ? 0 : 2)}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'train':
        return await commandTrain(rest);
      case 'calibrate':
        return await commandCalibrate(rest);
      case 'score':
        return await commandScore(rest);
      case 'info':
        return await commandInfo(rest);
      case 'evaluate':
        return await commandEvaluate(rest);
      case 'demo':
        return await commandDemo(rest);
      case 'serve':
        return await commandServe(rest);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        return fail(`usage: unknown command '${command}'\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      return fail(`usage: ${(error as Error).message}\n(see 'motionguard --help')`);
    }
    return fail((error as Error).message);
  }
}


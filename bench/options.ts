/**
 * The benchmark's flags, merged over the defaults of a full or a quick run, validated once
 * (pure: no I/O).
 */
import { parseArgs } from 'node:util';
import type { BackendName } from '../src/model/backend.js';
import type { StreamingStrategy } from '../src/model/streaming.js';
import { ANOMALY_KINDS, type AnomalyKind } from '../src/synth/anomalies.js';

export const PHASES = ['offline', 'capacity', 'side-by-side', 'false-alerts'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  readonly mode: 'quick' | 'full';
  readonly phases: readonly Phase[];
  readonly backends: readonly BackendName[];
  readonly presets: readonly string[];
  /** Streaming trials: seconds measured, after warm-up seconds; drain: wait for the last scores. */
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly drainSeconds: number;
  readonly tickMs: number;
  /** Avatar counts of the side-by-side trials; empty = chosen from the capacities found. */
  readonly avatars: readonly number[];
  readonly workers: readonly number[];
  readonly strategies: readonly StreamingStrategy[];
  readonly budgetMs: number;
  readonly maxAvatars: number;
  /** First count of the incremental ramp; null = from the offline figure. */
  readonly rampStart: number | null;
  readonly rampTrials: number;
  readonly avatarsPerConnection: number;
  readonly avatarsPerGenerator: number;
  readonly latencySample: number;
  readonly anomalyFraction: number;
  readonly anomalyKinds: readonly AnomalyKind[];
  readonly anomalySeconds: number;
  /** The false-alert trial: this many avatars of normal motion for this many seconds each. */
  readonly falseAlertAvatars: number;
  readonly falseAlertSeconds: number;
  readonly dataDir: string;
  readonly modelDir: string | null;
  readonly streamBackend: BackendName;
  /** Node options for the server process (a profiler, heap limits); none by default. */
  readonly serverNodeArgs: readonly string[];
  readonly seed: number;
  readonly out: string | null;
}

export const USAGE = `npm run bench -- [--quick] [flags]
npm run bench -- --report bench/results/FILE.json   (prints the report of an earlier run)

  --quick                  fewer points and shorter trials (under 2 minutes)
  --only LIST              phases: offline,capacity,side-by-side,false-alerts (default all)
  --backends LIST          offline backends: wasm,cpu,tensorflow (default all three)
  --presets LIST           offline presets: default,tiny,small,paper (default all; quick: default,small)
  --duration S             measured seconds per streaming trial (full 12, quick 4)
  --warmup S               seconds streamed before measuring (full 5, quick 2.5)
  --drain S                seconds waited for the last scores (full 1.5, quick 1)
  --tick-ms N              the server's tick period (default 100)
  --avatars LIST           avatar counts of the side-by-side trials (default: from the capacities found)
  --workers LIST           inference workers to ramp (default 1,2)
  --strategies LIST        incremental,full-window (default both)
  --budget-ms N            p99 frame-to-score budget of the capacity search (default 250)
  --max-avatars N          the capacity search never goes above (default 3000)
  --ramp-start N           first avatar count of the incremental ramps (default: from the offline figure)
  --ramp-trials N          trials per capacity search (full 6, quick 3)
  --avatars-per-connection N  avatars multiplexed on one publisher connection (default 50)
  --avatars-per-generator N   avatars per load generator process (default 1000)
  --latency-sample N       avatars whose every frame's latency is measured (default 64)
  --anomaly-fraction F     avatars with an injected anomaly (default 0.1)
  --anomaly-kinds LIST     (default trackingJitter,boneStretch,limbSwap,mirroredPose)
  --anomaly-seconds S      length of each injected anomaly (default 3)
  --false-alert-avatars N  avatars of the false-alert trial, normal motion only (default 100)
  --false-alert-seconds S  seconds each of them streams (full 60, quick 20)
  --data DIR               real BVH clips (default ../shared/data/bandai-namco-2/train; walker if absent)
  --model DIR              model directory (default: the shipped model)
  --stream-backend B       the server's backend (default wasm)
  --server-node-args="A B" Node options for the server under test, e.g. --server-node-args="--cpu-prof
                           --cpu-prof-dir=prof" (every thread writes a profile); shown in the report
  --seed N                 (default 1)
  --out FILE               results JSON (default bench/results/<date>-<mode>.json)
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function list(text: string | undefined, name: string): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`--${name}: empty list`);
  return items;
}

function numberFlag(text: string | undefined, name: string, min: number, max: number, integer = false): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name}: must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got '${text}'`);
  }
  return value;
}

function oneOf<T extends string>(items: string[] | undefined, allowed: readonly T[], name: string): T[] | undefined {
  if (items === undefined) return undefined;
  for (const item of items) if (!(allowed as readonly string[]).includes(item)) throw new UsageError(`--${name}: unknown '${item}' (known: ${allowed.join(', ')})`);
  return items as T[];
}

export function parseOptions(argv: readonly string[], defaultDataDir: string): BenchOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
        only: { type: 'string' },
        backends: { type: 'string' },
        presets: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        drain: { type: 'string' },
        'tick-ms': { type: 'string' },
        avatars: { type: 'string' },
        workers: { type: 'string' },
        strategies: { type: 'string' },
        'budget-ms': { type: 'string' },
        'max-avatars': { type: 'string' },
        'ramp-start': { type: 'string' },
        'ramp-trials': { type: 'string' },
        'avatars-per-connection': { type: 'string' },
        'avatars-per-generator': { type: 'string' },
        'latency-sample': { type: 'string' },
        'anomaly-fraction': { type: 'string' },
        'anomaly-kinds': { type: 'string' },
        'anomaly-seconds': { type: 'string' },
        'false-alert-avatars': { type: 'string' },
        'false-alert-seconds': { type: 'string' },
        data: { type: 'string' },
        model: { type: 'string' },
        'stream-backend': { type: 'string' },
        'server-node-args': { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const ints = (text: string | undefined, name: string, min: number, max: number): number[] | undefined =>
    list(text, name)?.map((item) => numberFlag(item, name, min, max, true)!);
  const warmupSeconds = numberFlag(values.warmup, 'warmup', 0, 600) ?? (quick ? 2.5 : 5);
  const durationSeconds = numberFlag(values.duration, 'duration', 1, 3600) ?? (quick ? 4 : 12);
  if (warmupSeconds + durationSeconds < 4) throw new UsageError('--warmup + --duration must be at least 4 s (anomalies start 1.5-3 s into each stream)');
  return {
    mode: quick ? 'quick' : 'full',
    phases: oneOf(list(values.only, 'only'), PHASES, 'only') ?? PHASES,
    backends: oneOf(list(values.backends, 'backends'), ['wasm', 'cpu', 'tensorflow'] as const, 'backends') ?? ['wasm', 'cpu', 'tensorflow'],
    // 'tiny' is the shipped default's architecture: a quick run measures it once, with the trained weights.
    presets: oneOf(list(values.presets, 'presets'), ['default', 'tiny', 'small', 'paper'] as const, 'presets') ?? (quick ? ['default', 'small'] : ['default', 'tiny', 'small', 'paper']),
    durationSeconds,
    warmupSeconds,
    drainSeconds: numberFlag(values.drain, 'drain', 0.2, 60) ?? (quick ? 1 : 1.5),
    tickMs: numberFlag(values['tick-ms'], 'tick-ms', 5, 60_000, true) ?? 100,
    avatars: ints(values.avatars, 'avatars', 1, 100_000) ?? [],
    workers: ints(values.workers, 'workers', 1, 64) ?? [1, 2],
    strategies: oneOf(list(values.strategies, 'strategies'), ['incremental', 'full-window'] as const, 'strategies') ?? ['incremental', 'full-window'],
    budgetMs: numberFlag(values['budget-ms'], 'budget-ms', 1, 60_000) ?? 250,
    maxAvatars: numberFlag(values['max-avatars'], 'max-avatars', 1, 100_000, true) ?? 3000,
    rampStart: numberFlag(values['ramp-start'], 'ramp-start', 1, 100_000, true) ?? null,
    rampTrials: numberFlag(values['ramp-trials'], 'ramp-trials', 1, 50, true) ?? (quick ? 3 : 6),
    avatarsPerConnection: numberFlag(values['avatars-per-connection'], 'avatars-per-connection', 1, 1024, true) ?? 50,
    avatarsPerGenerator: numberFlag(values['avatars-per-generator'], 'avatars-per-generator', 1, 100_000, true) ?? 1000,
    latencySample: numberFlag(values['latency-sample'], 'latency-sample', 1, 100_000, true) ?? 64,
    anomalyFraction: numberFlag(values['anomaly-fraction'], 'anomaly-fraction', 0, 1) ?? 0.1,
    anomalyKinds: oneOf(list(values['anomaly-kinds'], 'anomaly-kinds'), ANOMALY_KINDS, 'anomaly-kinds') ?? ['trackingJitter', 'boneStretch', 'limbSwap', 'mirroredPose'],
    anomalySeconds: numberFlag(values['anomaly-seconds'], 'anomaly-seconds', 0.1, 60) ?? 3,
    falseAlertAvatars: numberFlag(values['false-alert-avatars'], 'false-alert-avatars', 1, 100_000, true) ?? 100,
    falseAlertSeconds: numberFlag(values['false-alert-seconds'], 'false-alert-seconds', 4, 3600) ?? (quick ? 20 : 60),
    dataDir: values.data ?? defaultDataDir,
    modelDir: values.model ?? null,
    streamBackend: oneOf(list(values['stream-backend'], 'stream-backend'), ['wasm', 'cpu', 'tensorflow'] as const, 'stream-backend')?.[0] ?? 'wasm',
    serverNodeArgs: nodeArgs(values['server-node-args']),
    seed: numberFlag(values.seed, 'seed', 0, 2 ** 31 - 1, true) ?? 1,
    out: values.out ?? null,
  };
}

/** "--a --b=c" -> ["--a", "--b=c"]: options only, so that nothing but Node flags reaches the server's command line. */
function nodeArgs(value: string | undefined): string[] {
  const args = (value ?? '').split(/\s+/).filter((a) => a.length > 0);
  const bad = args.find((a) => !a.startsWith('-'));
  if (bad !== undefined) throw new UsageError(`--server-node-args takes Node options (each starting with '-'), got '${bad}'`);
  return args;
}

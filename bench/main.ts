/**
 * `npm run bench`: what one machine can do with motionguard, measured in one run. Phases:
 * offline model throughput per backend and preset (child process per backend), the
 * capacity search per strategy and worker count (end-to-end trials: server process, load
 * generator processes, loopback WebSockets), and the streaming and naive strategies side
 * by side under the same load. Progress goes to stderr; the report (markdown) to stdout;
 * every figure, with the machine's state, to bench/results/*.json.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BackendName } from '../src/model/backend.js';
import type { StreamingStrategy } from '../src/model/streaming.js';
import { startChild } from './children.js';
import { formatReport } from './format.js';
import { codeState, machineInfo } from './machine.js';
import type { OfflineConfig, OfflinePresetPlan, OfflineResult, OfflineUnavailable } from './offline.js';
import { USAGE, UsageError, parseOptions, type BenchOptions } from './options.js';
import { machineBusy, readMachineCpu } from './proc.js';
import { findCapacity } from './ramp.js';
import { RESULTS_SCHEMA, type BenchResults, type CapacityResult, type FalseAlertResult, type OfflineBackend, type PhaseConditions, type SideBySide } from './results.js';
import { REPO_ROOT } from './server-process.js';
import { failedTrial, joinSecondsFor, runTrial, type TrialResult, type TrialSettings } from './trial.js';

const DEFAULT_MODEL_DIR = path.join(REPO_ROOT, 'models', 'default');
const DEFAULT_DATA_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'data', 'bandai-namco-2', 'train');

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function round(x: number, digits = 2): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

/** Measures a phase's wall time, the load average around it, and the cores other processes kept busy meanwhile. */
async function withConditions<T>(run: () => Promise<{ value: T; childCpuSeconds: number }>): Promise<{ value: T; conditions: PhaseConditions }> {
  const loadAverageStart = os.loadavg().map((x) => round(x));
  const machineBefore = readMachineCpu();
  const own = process.cpuUsage();
  const t0 = performance.now();
  const { value, childCpuSeconds } = await run();
  const wallSeconds = (performance.now() - t0) / 1000;
  const machineAfter = readMachineCpu();
  const ownCpu = process.cpuUsage(own);
  const busy = machineBefore && machineAfter ? machineBusy(machineBefore, machineAfter, wallSeconds, childCpuSeconds + (ownCpu.user + ownCpu.system) / 1e6) : null;
  return { value, conditions: { loadAverageStart, loadAverageEnd: os.loadavg().map((x) => round(x)), otherCores: busy ? round(busy.otherCores) : null, wallSeconds: round(wallSeconds, 1) } };
}

function offlinePlans(options: BenchOptions, backend: BackendName): { config: Omit<OfflineConfig, 'type' | 'backend' | 'modelDir'>; skipped: string[] } {
  const quick = options.mode === 'quick';
  const skipped: string[] = [];
  if (backend === 'cpu') {
    // The pure-JS backend is 30-90x slower: one small point per path, default model only.
    for (const p of options.presets) if (p !== 'default') skipped.push(`cpu backend: preset ${p} not run (kept tiny on purpose)`);
    return {
      config: {
        presets: options.presets.includes('default') ? [{ preset: 'default', windowBatches: [1], incrementalAvatars: [4], scoring: false, warmup: false }] : [],
        matmulSquare: [256],
        matmulShaped: [[1000, 64, 64]],
        minTimeMs: 0,
        minReps: 1,
        maxReps: 1,
        newFramesPerCall: 3,
        warmupFrames: 30,
      },
      skipped,
    };
  }
  const presets: OfflinePresetPlan[] = [];
  for (const preset of options.presets) {
    if (preset === 'default') presets.push(quick ? { preset, windowBatches: [1, 16], incrementalAvatars: [10, 300] } : { preset, windowBatches: [1, 4, 16, 32], incrementalAvatars: [1, 10, 100, 300, 1000] });
    else if (preset === 'paper') presets.push({ preset, windowBatches: [1], incrementalAvatars: [], scoring: false, maxReps: 2 });
    else presets.push(quick ? { preset, windowBatches: [4], incrementalAvatars: [100] } : { preset, windowBatches: [1, 16], incrementalAvatars: [10, 300] });
  }
  return {
    config: {
      presets,
      matmulSquare: quick ? [512] : [256, 512, 1024],
      matmulShaped: [[4000, 64, 64], [4000, 64, 128]],
      minTimeMs: quick ? 300 : 1500,
      minReps: quick ? 2 : 3,
      maxReps: 30,
      newFramesPerCall: 3,
      warmupFrames: 60,
    },
    skipped,
  };
}

async function runOffline(options: BenchOptions, modelDir: string, notes: string[]): Promise<OfflineBackend[]> {
  const out: OfflineBackend[] = [];
  for (const backend of options.backends) {
    progress(`offline: ${backend} backend...`);
    const { config, skipped } = offlinePlans(options, backend);
    notes.push(...skipped);
    const { value, conditions } = await withConditions(async () => {
      const child = startChild<OfflineConfig, OfflineResult | OfflineUnavailable>('offline');
      try {
        child.send({ type: 'config', backend, modelDir, ...config });
        const result = await child.next(900_000);
        return { value: result, childCpuSeconds: result.cpuSeconds };
      } catch (error) {
        const failed: OfflineUnavailable = { type: 'result', backend, available: false, reason: `the offline run failed: ${(error as Error).message.split('\n')[0]}`, cpuSeconds: 0 };
        return { value: failed, childCpuSeconds: 0 };
      } finally {
        await Promise.race([child.exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
        child.kill();
      }
    });
    const peakGflops = value.available ? Math.max(...value.matmul.map((m) => m.gflops)) : null;
    out.push({ ...value, peakGflops, conditions });
    progress(value.available ? `offline: ${backend} done in ${conditions.wallSeconds} s (matMul peak ${peakGflops?.toFixed(1)} GFLOP/s)` : `offline: ${backend} unavailable: ${value.reason}`);
  }
  return out;
}

function trialSettings(options: BenchOptions, strategy: StreamingStrategy, workers: number, avatars: number): TrialSettings {
  return {
    strategy,
    workers,
    avatars,
    tickMs: options.tickMs,
    backend: options.streamBackend,
    modelDir: options.modelDir,
    serverNodeArgs: options.serverNodeArgs,
    modelDirForData: options.modelDir ?? DEFAULT_MODEL_DIR,
    warmupSeconds: options.warmupSeconds,
    measureSeconds: options.durationSeconds,
    drainSeconds: options.drainSeconds,
    avatarsPerConnection: options.avatarsPerConnection,
    avatarsPerGenerator: options.avatarsPerGenerator,
    latencySample: options.latencySample,
    anomalyFraction: options.anomalyFraction,
    anomalyKinds: options.anomalyKinds,
    anomalySeconds: options.anomalySeconds,
    anomalySeverity: 1,
    dataDir: options.dataDir,
    maxClips: 20,
    seed: options.seed,
    budgetMs: options.budgetMs,
    minDelivered: 0.97,
  };
}

/** A failed trial is repeated once when other processes kept more cores than this busy during it. */
const BUSY_RETRY_CORES = 0.3;

class TrialRunner {
  readonly trials: TrialResult[] = [];

  constructor(private readonly options: BenchOptions) {}

  /**
   * Runs a trial; one that fails while other processes kept more than BUSY_RETRY_CORES busy
   * is run once more after a pause, and the second verdict counts (both stay in the report).
   */
  async run(strategy: StreamingStrategy, workers: number, avatars: number, overrides: Partial<TrialSettings> = {}): Promise<TrialResult> {
    const first = await this.runOnce(strategy, workers, avatars, null, overrides);
    // Quick runs have no time for second chances; the report shows how busy the machine was.
    if (this.options.mode === 'quick' || first.verdict.pass || (first.machine.otherCores ?? 0) <= BUSY_RETRY_CORES) return first;
    progress(`${first.id}: other processes kept ${first.machine.otherCores} cores busy; running it again`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    return this.runOnce(strategy, workers, avatars, first.id, overrides);
  }

  private async runOnce(strategy: StreamingStrategy, workers: number, avatars: number, retryOf: string | null, overrides: Partial<TrialSettings>): Promise<TrialResult> {
    const id = `T${this.trials.length + 1}`;
    const settings = { ...trialSettings(this.options, strategy, workers, avatars), ...overrides };
    progress(`${id}: ${strategy}, ${workers} worker(s), ${avatars} avatars...`);
    let result: TrialResult;
    try {
      result = await runTrial(id, settings);
    } catch (error) {
      result = failedTrial(id, settings, error);
    }
    if (retryOf !== null) result = { ...result, retryOf };
    this.trials.push(result);
    const p = result.latencyMs;
    progress(
      `${id}: p50 ${p.p50 ?? '-'} / p99 ${result.latencyP99WithUnscoredMs ?? (p.count > 0 ? 'inf' : '-')} ms, ${result.meanFramesPerAvatarPerTick ?? '-'} frames/avatar/tick, ` +
        `server ${result.server.cpuCores ?? '-'} cores, other ${result.machine.otherCores ?? '-'} cores: ${result.verdict.pass ? 'holds' : `fails (${result.verdict.reasons.join('; ')})`}`,
    );
    return result;
  }

  /** The trial that decided for this configuration (a retry when there was one). */
  find(strategy: StreamingStrategy, workers: number, avatars: number): TrialResult | undefined {
    return this.trials.filter((t) => t.strategy === strategy && t.workers === workers && t.avatars === avatars).at(-1);
  }
}

/** Avatars one thread keeps up with at 30 fps, from the offline incremental figure (wasm, default model). */
function offlinePerThread(offline: readonly OfflineBackend[] | null, backend: BackendName): { incremental: number | null; windowsPerSecond: number | null } {
  const b = offline?.find((x) => x.backend === backend);
  if (!b || !b.available) return { incremental: null, windowsPerSecond: null };
  const preset = b.presets.find((p) => p.preset.startsWith('default'));
  const incremental = preset && preset.incremental.length > 0 ? Math.max(...preset.incremental.map((s) => s.realtimeAvatars)) : null;
  const windowsPerSecond = preset && preset.window.length > 0 ? Math.max(...preset.window.map((w) => (w.scoring.windowsPerSecond > 0 ? w.scoring.windowsPerSecond : w.model.windowsPerSecond))) : null;
  return { incremental, windowsPerSecond };
}

async function runStreaming(options: BenchOptions, offline: readonly OfflineBackend[] | null, notes: string[]): Promise<NonNullable<BenchResults['streaming']>> {
  const runner = new TrialRunner(options);
  const quick = options.mode === 'quick';
  const cores = os.availableParallelism();
  const perThread = offlinePerThread(offline, options.streamBackend);
  const capacity: CapacityResult[] = [];
  const maxWorkers = Math.max(...options.workers);
  if (options.phases.includes('capacity')) {
    for (const strategy of options.strategies) {
      // The naive strategy's ramps are cheap in avatars but not in time: quick runs do its largest worker count only.
      const workerCounts = strategy === 'full-window' && quick ? [maxWorkers] : options.workers;
      for (const workers of workerCounts) {
        let start: number;
        let factor: number;
        if (strategy === 'incremental') {
          const predicted = perThread.incremental !== null ? perThread.incremental * Math.min(workers, cores) : 100 * workers;
          // End to end the server holds well below the offline rate (it shares the cores, and see the README on backlogs).
          start = options.rampStart ?? Math.max(10, Math.round((0.4 * predicted) / 10) * 10);
          factor = 1.5;
        } else {
          // One window per avatar per tick: a worker keeps up with about windows/s x tick seconds avatars.
          const predicted = perThread.windowsPerSecond !== null ? (perThread.windowsPerSecond * options.tickMs * Math.min(workers, cores)) / 1000 : workers;
          start = Math.max(1, Math.round(0.75 * predicted));
          factor = 2;
        }
        progress(`capacity: ${strategy}, ${workers} worker(s), starting at ${start} avatars`);
        const ids: string[] = [];
        const found = await findCapacity(
          async (avatars) => {
            const trial = await runner.run(strategy, workers, avatars);
            ids.push(trial.id);
            return trial.verdict.pass;
          },
          { start, factor, max: options.maxAvatars, resolution: quick ? 0.25 : 0.1, minStep: 1, maxTrials: quick && strategy === 'full-window' ? Math.min(options.rampTrials, 2) : options.rampTrials },
        );
        const failure = found.firstFailure === null ? undefined : runner.find(strategy, workers, found.firstFailure);
        capacity.push({
          strategy,
          workers,
          capacity: found.capacity,
          firstFailure: found.firstFailure,
          firstFailureReasons: failure?.verdict.reasons ?? [],
          capped: found.capped,
          nonMonotonic: found.nonMonotonic,
          steps: found.steps,
          trialIds: ids,
        });
        progress(`capacity: ${strategy}, ${workers} worker(s): ${found.capacity} avatars${found.firstFailure !== null ? ` (fails at ${found.firstFailure})` : ''}`);
      }
    }
  }

  const capacityOf = (strategy: string, workers: number): number | null => capacity.find((c) => c.strategy === strategy && c.workers === workers)?.capacity ?? null;
  const sideBySide: SideBySide[] = [];
  if (options.phases.includes('side-by-side') && options.strategies.includes('incremental') && options.strategies.includes('full-window')) {
    let counts = options.avatars;
    if (counts.length === 0) {
      const fw = Math.max(1, capacityOf('full-window', maxWorkers) ?? 2);
      const inc = capacityOf('incremental', maxWorkers);
      counts = quick || inc === null || inc <= fw ? [fw] : [fw, inc];
    }
    for (const avatars of counts) {
      const inc = runner.find('incremental', maxWorkers, avatars) ?? (await runner.run('incremental', maxWorkers, avatars));
      const full = runner.find('full-window', maxWorkers, avatars) ?? (await runner.run('full-window', maxWorkers, avatars));
      const div = (a: number | null, b: number | null): number | null => (a !== null && b !== null && b > 0 ? round(a / b) : null);
      sideBySide.push({
        avatars,
        workers: maxWorkers,
        incrementalTrial: inc.id,
        fullWindowTrial: full.id,
        cpuPerAvatarRatio: div(full.server.cpuMsPerAvatarSecond, inc.server.cpuMsPerAvatarSecond),
        p99Ratio: div(full.latencyP99WithUnscoredMs, inc.latencyP99WithUnscoredMs),
      });
    }
  }

  let falseAlerts: FalseAlertResult | null = null;
  if (options.phases.includes('false-alerts')) {
    // Normal motion only, each avatar streaming at least falseAlertSeconds: every start is false.
    const avatars = options.falseAlertAvatars;
    progress(`false alerts: ${avatars} avatars of normal motion, ${options.falseAlertSeconds} s each`);
    const trial = await runner.run('incremental', maxWorkers, avatars, { anomalyFraction: 0, measureSeconds: options.falseAlertSeconds });
    falseAlerts = falseAlertResult(trial, options.falseAlertSeconds + options.warmupSeconds - joinSecondsFor(options.warmupSeconds));
    progress(`false alerts: ${falseAlerts.falseStarts} on ${falseAlerts.avatarsWithFalseStarts} of ${avatars} avatars`);
  }

  const capacityRatios = options.workers
    .map((workers) => ({ workers, incremental: capacityOf('incremental', workers), fullWindow: capacityOf('full-window', workers) }))
    .filter((c): c is { workers: number; incremental: number; fullWindow: number } => c.incremental !== null && c.fullWindow !== null)
    .map((c) => {
      // What an avatar costs each strategy when the machine is as full as it holds.
      const cpuInc = c.incremental > 0 ? (runner.find('incremental', c.workers, c.incremental)?.server.cpuMsPerAvatarSecond ?? null) : null;
      const cpuFull = c.fullWindow > 0 ? (runner.find('full-window', c.workers, c.fullWindow)?.server.cpuMsPerAvatarSecond ?? null) : null;
      return {
        ...c,
        ratio: c.fullWindow > 0 && c.incremental > 0 ? round(c.incremental / c.fullWindow, 1) : null,
        cpuMsPerAvatarSecondAtCapacity: { incremental: cpuInc, fullWindow: cpuFull },
        cpuRatioAtCapacity: cpuInc !== null && cpuFull !== null && cpuInc > 0 ? round(cpuFull / cpuInc, 1) : null,
      };
    });

  const trials = runner.trials;
  const busy = trials.filter((t) => (t.machine.otherCores ?? 0) > 0.2);
  if (busy.length > 0) notes.push(`other processes kept ${busy.map((t) => `${t.machine.otherCores} cores busy in ${t.id}`).join(', ')}: those trials had less machine than the others`);
  const generatorCores = trials.map((t) => t.loadGenerators.cpuCores).filter((x): x is number => x !== null);
  if (generatorCores.length > 0) {
    notes.push(
      `the load generators share the machine with the server (${cores} cores): they used ${Math.min(...generatorCores).toFixed(2)}-${Math.max(...generatorCores).toFixed(2)} cores; a server on a dedicated machine would have that much more`,
    );
  }
  const lagging = trials.filter((t) => t.loadGenerators.eventLoopDelayP99Ms > 20);
  if (lagging.length > 0) notes.push(`load generator event loop delay p99 > 20 ms in ${lagging.map((t) => `${t.id} (${t.loadGenerators.eventLoopDelayP99Ms} ms)`).join(', ')}: latencies there may be overstated by up to that much`);
  const errors = trials.filter((t) => Object.keys(t.loadGenerators.errorsByCode).length > 0);
  if (errors.length > 0) notes.push(`server error replies or closes seen by the generators: ${errors.map((t) => `${t.id} ${JSON.stringify(t.loadGenerators.errorsByCode)}`).join(', ')}`);
  const scoreDrops = trials.filter((t) => t.server.subscriberMessagesDropped > 0);
  if (scoreDrops.length > 0) notes.push(`the server skipped scores messages to the latency subscriber (full send buffer) in ${scoreDrops.map((t) => t.id).join(', ')}: frames without a score there count as infinitely late`);
  return {
    motionSource: trials.map((t) => t.loadGenerators.motionSource).find((s) => s) ?? 'none (no trial ran)',
    budgetMs: options.budgetMs,
    trials,
    capacity,
    sideBySide,
    capacityRatios,
    falseAlerts,
  };
}

function falseAlertResult(trial: TrialResult, secondsPerAvatar: number): FalseAlertResult {
  const starts = trial.alerts.falseStarts;
  return {
    trial: trial.id,
    avatars: trial.avatars,
    secondsPerAvatar: round(secondsPerAvatar, 1),
    falseStarts: trial.alerts.falseStartsOnNormalAvatars,
    avatarsWithFalseStarts: new Set(starts.map((s) => s.avatar)).size,
    causes: trial.alerts.falseStartCauses,
    starts: starts.map((s) => ({ clip: s.clip, atSeconds: s.atSeconds })),
  };
}

async function modelInfo(modelDir: string): Promise<BenchResults['model']> {
  try {
    const config = JSON.parse(await readFile(path.join(modelDir, 'config.json'), 'utf8')) as { preset: string };
    const calibration = JSON.parse(await readFile(path.join(modelDir, 'calibration.json'), 'utf8')) as { thresholds: unknown; streaming?: { thresholds: unknown } };
    return { dir: path.relative(REPO_ROOT, modelDir) || modelDir, preset: config.preset, streamingThresholds: calibration.streaming?.thresholds ?? calibration.thresholds };
  } catch (error) {
    return { dir: modelDir, preset: 'unknown', streamingThresholds: `unreadable: ${(error as Error).message}` };
  }
}

function defaultOut(startedAt: Date, mode: string): string {
  const stamp = startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  return path.join(REPO_ROOT, 'bench', 'results', `${stamp}-${mode}.json`);
}

export async function main(argv: string[]): Promise<number> {
  // Re-renders the report of an earlier run without measuring anything.
  if (argv[0] === '--report') {
    if (!argv[1]) {
      process.stderr.write('bench: --report needs a results file (bench/results/*.json)\n');
      return 2;
    }
    process.stdout.write(formatReport(JSON.parse(await readFile(argv[1], 'utf8')) as BenchResults));
    return 0;
  }
  let options: BenchOptions;
  try {
    const parsed = parseOptions(argv, DEFAULT_DATA_DIR);
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    options = parsed;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\nusage: ${USAGE}`);
      return 2;
    }
    throw error;
  }
  const startedAt = new Date();
  const t0 = performance.now();
  const modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
  const notes: string[] = [];
  const results: BenchResults = {
    schema: RESULTS_SCHEMA,
    mode: options.mode,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    wallSeconds: 0,
    argv,
    options,
    machine: machineInfo(),
    code: codeState(),
    model: await modelInfo(modelDir),
    offline: null,
    streaming: null,
    notes,
  };
  progress(`${options.mode} run; load average ${results.machine.loadAverageAtStart.join(' ')} on ${results.machine.cores} cores`);
  if (options.phases.includes('offline')) {
    results.offline = { backends: await runOffline(options, modelDir, notes) };
    if (options.presets.some((p) => p !== 'default')) notes.push("presets other than 'default' run with random weights: their speed is real, their scores are meaningless");
    if (options.presets.includes('default') && !options.presets.includes('tiny')) notes.push("preset 'tiny' is the shipped default's architecture, measured here as 'default (tiny)' (run --presets tiny for random weights)");
    notes.push('incremental step: each avatar is first given 60 frames (cpu: 30) in calls of 6, then timed calls of 3 new frames each; its history is shorter than a full window, which the end-to-end trials do have');
  }
  if (options.phases.some((phase) => phase !== 'offline')) {
    results.streaming = await runStreaming(options, results.offline?.backends ?? null, notes);
  }
  results.machine.loadAverageAtEnd = os.loadavg().map((x) => round(x));
  results.finishedAt = new Date().toISOString();
  results.wallSeconds = round((performance.now() - t0) / 1000, 1);
  const out = options.out ? path.resolve(options.out) : defaultOut(startedAt, options.mode);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(`${out}.tmp`, `${JSON.stringify(results, null, 1)}\n`);
  await rename(`${out}.tmp`, out);
  const report = formatReport(results);
  await writeFile(out.replace(/\.json$/, '.md'), report);
  process.stdout.write(report);
  progress(`results: ${path.relative(process.cwd(), out)} (and .md)`);
  return 0;
}

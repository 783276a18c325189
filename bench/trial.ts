/**
 * One end-to-end trial: a fresh server process, load generator processes streaming N
 * avatars at 30 Hz over loopback WebSockets, then what it all measured: per-frame latency
 * (from the generators), alert outcomes, the server's own counters and histograms (from two
 * /metrics scrapes that bracket the measured window), and CPU and memory of every process
 * involved and of the machine as a whole (from /proc).
 */
import os from 'node:os';
import type { StreamingStrategy } from '../src/model/streaming.js';
import type { AnomalyKind } from '../src/synth/anomalies.js';
import { startChild, type Child } from './children.js';
import { type LoadGenConfig, type LoadGenGo, type LoadGenMessage, type LoadGenResult } from './messages.js';
import { machineBusy, readMachineCpu, readProcessCpu, readProcessMemory, type MachineCpu } from './proc.js';
import { counterDelta, histogram, histogramDelta, histogramQuantile, metricByLabel, metricSum, type Histogram, type Scrape } from './prometheus.js';
import { judgeTrial, type Verdict } from './ramp.js';
import { jsonSummary, summarize, type JsonSummary } from './stats.js';
import { planAnomalies, shareOut } from './trial-plan.js';
import { startServer, type RunningServer } from './server-process.js';

export interface TrialSettings {
  readonly strategy: StreamingStrategy;
  readonly workers: number;
  readonly avatars: number;
  readonly tickMs: number;
  readonly backend: string;
  readonly modelDir: string | null;
  readonly serverNodeArgs: readonly string[];
  /** The model directory the generators read the held-out fraction from. */
  readonly modelDirForData: string;
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
  readonly drainSeconds: number;
  readonly avatarsPerConnection: number;
  readonly avatarsPerGenerator: number;
  readonly latencySample: number;
  readonly anomalyFraction: number;
  readonly anomalyKinds: readonly AnomalyKind[];
  readonly anomalySeconds: number;
  readonly anomalySeverity: number;
  readonly dataDir: string | null;
  readonly maxClips: number;
  readonly seed: number;
  readonly budgetMs: number;
  readonly minDelivered: number;
}

export interface TrialResult {
  readonly id: string;
  /** Set when this trial repeats one that failed while the machine was busy with other work. */
  readonly retryOf?: string;
  readonly strategy: StreamingStrategy;
  readonly workers: number;
  readonly avatars: number;
  readonly tickMs: number;
  readonly startedAt: string;
  readonly serverCommand: string;
  readonly verdict: Verdict;
  /** Client-measured frame-to-score latency (ms) of the sampled avatars' measured frames that got a score. */
  readonly latencyMs: JsonSummary;
  /** p99 over the same frames with unscored ones counted as infinitely late (null = infinite). */
  readonly latencyP99WithUnscoredMs: number | null;
  readonly latencyAvatars: number;
  readonly unscoredFrames: number;
  /** The server's histogram motionguard_frame_to_score_latency_seconds over the window (receipt to score, ms): interpolated estimate and bucket upper bound. */
  readonly serverHistogramMs: { readonly p50: number | null; readonly p99: number | null; readonly p99UpperBound: number | null; readonly count: number };
  readonly inferenceMs: { readonly mean: number | null; readonly p99UpperBound: number | null; readonly calls: number };
  readonly ticks: { readonly scored: number; readonly coalesced: number; readonly idle: number; readonly failed: number; readonly meanTickMs: number | null };
  readonly meanBatchAvatars: number | null;
  /** New frames per avatar per scored tick: tick period x 30 fps (3 at 100 ms) when the server keeps up, more when it falls behind. */
  readonly meanFramesPerAvatarPerTick: number | null;
  readonly frames: {
    readonly scheduled: number;
    readonly sent: number;
    readonly deliveredOnTime: number;
    readonly acceptedInWindow: number;
    readonly scoredInWindow: number;
    /** Frames dropped in the measured window and the drain, by reason (shutdown excluded). */
    readonly dropped: Record<string, number>;
    readonly windowRestarts: Record<string, number>;
  };
  readonly alerts: {
    readonly anomalies: number;
    readonly detected: number;
    readonly missed: number;
    readonly alreadyAlerting: number;
    readonly latencyMs: JsonSummary;
    readonly byKind: Record<string, { readonly injected: number; readonly detected: number; readonly medianLatencyMs: number | null }>;
    readonly falseStartsOnNormalAvatars: number;
    /** Each of them: the avatar, the looped clip it played, and when (seconds after its first frame). */
    readonly falseStarts: { readonly avatar: string; readonly clip: string; readonly atSeconds: number }[];
    /** Of those: in the avatar's first MATURE_SECONDS, right after a loop seam of the benchmark's motion, or neither. */
    readonly falseStartCauses: { readonly joining: number; readonly nearSeam: number; readonly other: number };
    /** When the false starts came, seconds after each avatar's first frame. */
    readonly falseStartSeconds: JsonSummary;
    readonly falseStartsBeforeOnset: number;
    readonly normalAvatarMinutes: number;
    readonly falseStartsPerAvatarHour: number | null;
    /** Streamed minutes of normal avatars past their first MATURE_SECONDS and away from seams, and the rate of 'other' false starts there. */
    readonly cleanNormalAvatarMinutes: number;
    readonly otherFalseStartsPerAvatarHour: number | null;
  };
  readonly server: {
    readonly readyMs: number;
    readonly cpuCores: number | null;
    /** Server CPU ms per avatar per second of streaming (= milli-cores per avatar). */
    readonly cpuMsPerAvatarSecond: number | null;
    readonly rssIdleMB: number | null;
    readonly rssMB: number | null;
    readonly peakRssMB: number | null;
    readonly rssPerAvatarKB: number | null;
    readonly threads: number | null;
    readonly exitCode: number | null;
    readonly subscriberMessagesDropped: number;
  };
  readonly loadGenerators: {
    readonly processes: number;
    readonly cpuCores: number | null;
    readonly sendLatenessP99Ms: number | null;
    readonly eventLoopDelayP99Ms: number;
    readonly errorsByCode: Record<string, number>;
    readonly unexpectedCloses: number;
    readonly motionSource: string;
  };
  readonly machine: { readonly loadAverageStart: number[]; readonly loadAverageEnd: number[]; readonly busyCores: number | null; readonly otherCores: number | null };
  readonly error: string | null;
}

interface Snapshot {
  readonly at: number;
  readonly scrape: Scrape;
  readonly serverCpu: number | null;
  readonly generatorCpu: number | null;
  readonly ownCpu: number;
  readonly machine: MachineCpu | null;
}

/** Connections join one after another during the warm-up, all of them at least 1 s before measuring starts. */
export function joinSecondsFor(warmupSeconds: number): number {
  return Math.max(0, Math.min(warmupSeconds - 1, 0.8 * warmupSeconds));
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
const orNull = (x: number, digits = 1): number | null => (Number.isFinite(x) ? round(x, digits) : null);
const sleepUntil = (epochMs: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));

async function snapshot(server: RunningServer, generators: readonly Child<unknown, unknown>[]): Promise<Snapshot> {
  // CPU first: the scrape itself costs the server a little.
  const at = performance.now();
  const serverCpu = readProcessCpu(server.pid)?.cpuSeconds ?? null;
  const cpus = generators.map((g) => readProcessCpu(g.pid)?.cpuSeconds);
  const generatorCpu = cpus.every((c) => c !== undefined) ? cpus.reduce<number>((a, b) => a + b!, 0) : null;
  const own = process.cpuUsage();
  const machine = readMachineCpu();
  const scrape = await server.scrape();
  return { at, scrape, serverCpu, generatorCpu, ownCpu: (own.user + own.system) / 1e6, machine };
}

function histogramMs(h: Histogram): { p50: number | null; p99: number | null; p99UpperBound: number | null; count: number } {
  const p50 = histogramQuantile(h, 0.5);
  const p99 = histogramQuantile(h, 0.99);
  return { p50: orNull(p50.estimate * 1000), p99: orNull(p99.estimate * 1000), p99UpperBound: orNull(p99.upperBound * 1000), count: h.count };
}

export async function runTrial(id: string, settings: TrialSettings): Promise<TrialResult> {
  const startedAt = new Date().toISOString();
  const loadAverageStart = os.loadavg().map((x) => round(x, 2));
  const fps = 30;
  const streamSeconds = settings.warmupSeconds + settings.measureSeconds;
  const joinSeconds = joinSecondsFor(settings.warmupSeconds);
  // Onsets (counted from each avatar's first frame) leave every avatar 2 s to be caught before its stream ends.
  const latestOnset = streamSeconds - joinSeconds - 2;
  const anomalies = planAnomalies(settings.avatars, {
    fraction: settings.anomalyFraction,
    kinds: settings.anomalyKinds,
    seconds: settings.anomalySeconds,
    severity: settings.anomalySeverity,
    earliestSeconds: Math.min(3, Math.max(1.5, latestOnset)),
    latestSeconds: latestOnset,
    fps,
    seed: settings.seed,
  });
  const shares = shareOut(settings.avatars, settings.avatarsPerGenerator, anomalies, settings.latencySample);
  // Generators start (and load their motion) while the server loads its model.
  const generators = shares.map(() => startChild<LoadGenConfig | LoadGenGo, LoadGenMessage>('loadgen'));
  let server: RunningServer | null = null;
  try {
    server = await startServer({ strategy: settings.strategy, workers: settings.workers, tickMs: settings.tickMs, backend: settings.backend, modelDir: settings.modelDir, nodeArgs: settings.serverNodeArgs });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const rssIdle = readProcessMemory(server.pid)?.rssBytes ?? null;
    const url = server.url;
    shares.forEach((share, g) =>
      generators[g]!.send({
        type: 'config',
        url,
        generator: share.generator,
        avatars: share.avatars,
        avatarsPerConnection: settings.avatarsPerConnection,
        fps,
        anomalies: share.anomalies,
        latencyAvatars: share.latencyAvatars,
        dataDir: settings.dataDir,
        modelDir: settings.modelDirForData,
        maxClips: settings.maxClips,
        seed: settings.seed,
      }),
    );
    const readies = await Promise.all(generators.map((g) => g.next(120_000)));
    const motionSource = readies.map((r) => (r.type === 'ready' ? r.motionSource : '')).find((s) => s) ?? '';
    const startAt = Date.now() + 300;
    const go: LoadGenGo = { type: 'go', startAt, warmupSeconds: settings.warmupSeconds, measureSeconds: settings.measureSeconds, drainSeconds: settings.drainSeconds, joinSeconds };
    for (const g of generators) g.send(go);
    const results = Promise.all(generators.map((g) => g.next(120_000 + 1000 * (streamSeconds + settings.drainSeconds))));
    results.catch(() => undefined);

    await sleepUntil(startAt + settings.warmupSeconds * 1000);
    const before = await snapshot(server, generators);
    let peakRss = 0;
    const measureEnd = startAt + streamSeconds * 1000;
    while (Date.now() < measureEnd - 250) {
      peakRss = Math.max(peakRss, readProcessMemory(server.pid)?.rssBytes ?? 0);
      await new Promise((resolve) => setTimeout(resolve, Math.min(500, measureEnd - Date.now())));
    }
    await sleepUntil(measureEnd);
    const after = await snapshot(server, generators);
    const memory = readProcessMemory(server.pid);
    peakRss = Math.max(peakRss, memory?.rssBytes ?? 0);
    const loadResults = (await results) as LoadGenResult[];
    const drained = await server.scrape();
    const diedEarly = server.exited();
    const exitCode = await server.stop(3000);

    // What the server counted over the measured window (and the drain, for drops).
    const dropped = counterDelta(metricByLabel(before.scrape, 'motionguard_frames_dropped_total', 'reason'), metricByLabel(drained, 'motionguard_frames_dropped_total', 'reason'));
    delete dropped.shutdown;
    const restarts = counterDelta(metricByLabel(before.scrape, 'motionguard_window_restarts_total', 'reason'), metricByLabel(drained, 'motionguard_window_restarts_total', 'reason'));
    const ticks = counterDelta(metricByLabel(before.scrape, 'motionguard_ticks_total', 'result'), metricByLabel(after.scrape, 'motionguard_ticks_total', 'result'));
    const failedTicks = counterDelta(metricByLabel(before.scrape, 'motionguard_ticks_total', 'result'), metricByLabel(drained, 'motionguard_ticks_total', 'result')).failed ?? 0;
    const latencyHistogram = histogramDelta(histogram(before.scrape, 'motionguard_frame_to_score_latency_seconds'), histogram(drained, 'motionguard_frame_to_score_latency_seconds'));
    const inference = histogramDelta(histogram(before.scrape, 'motionguard_inference_duration_seconds'), histogram(after.scrape, 'motionguard_inference_duration_seconds'));
    const tickDuration = histogramDelta(histogram(before.scrape, 'motionguard_tick_duration_seconds'), histogram(after.scrape, 'motionguard_tick_duration_seconds'));
    const batchAvatars = histogramDelta(histogram(before.scrape, 'motionguard_batch_avatars'), histogram(after.scrape, 'motionguard_batch_avatars'));
    const batchFrames = histogramDelta(histogram(before.scrape, 'motionguard_batch_frames'), histogram(after.scrape, 'motionguard_batch_frames'));
    const accepted = metricSum(after.scrape, 'motionguard_frames_received_total', { result: 'accepted' }) - metricSum(before.scrape, 'motionguard_frames_received_total', { result: 'accepted' });
    const scored = metricSum(after.scrape, 'motionguard_frames_scored_total') - metricSum(before.scrape, 'motionguard_frames_scored_total');
    const subscriberDrops = metricSum(drained, 'motionguard_subscriber_messages_dropped_total') - metricSum(before.scrape, 'motionguard_subscriber_messages_dropped_total');

    // Latency, from the generators.
    const latencies = loadResults.flatMap((r) => r.latenciesMs);
    const unscored = loadResults.reduce((s, r) => s + r.unscoredFrames, 0);
    const scoredSummary = summarize(latencies);
    const withUnscored = summarize([...latencies, ...new Array<number>(unscored).fill(Number.POSITIVE_INFINITY)]);
    const scheduled = loadResults.reduce((s, r) => s + r.framesScheduled, 0);
    const sent = loadResults.reduce((s, r) => s + r.framesSent, 0);
    const delivered = loadResults.length > 0 ? Math.min(...loadResults.map((r) => r.deliveredFraction)) : 0;

    // Alerts.
    const outcomes = loadResults.flatMap((r) => r.alerts.anomalies);
    const detected = outcomes.filter((o) => o.outcome === 'detected');
    const alertLatencies = detected.map((o) => o.latencyMs).filter((x): x is number => x !== null);
    const byKind: TrialResult['alerts']['byKind'] = {};
    for (const kind of new Set(outcomes.map((o) => o.kind))) {
      const ofKind = outcomes.filter((o) => o.kind === kind);
      const hits = ofKind.filter((o) => o.outcome === 'detected');
      const lat = hits.map((o) => o.latencyMs).filter((x): x is number => x !== null);
      byKind[kind] = { injected: ofKind.length, detected: hits.length, medianLatencyMs: lat.length > 0 ? round(summarize(lat).p50) : null };
    }
    const falseAt = loadResults.flatMap((r) => r.falseStartCauses.atSeconds);
    const falseNormal = falseAt.length;
    const falseCauses = {
      joining: loadResults.reduce((s, r) => s + r.falseStartCauses.joining, 0),
      nearSeam: loadResults.reduce((s, r) => s + r.falseStartCauses.nearSeam, 0),
      other: loadResults.reduce((s, r) => s + r.falseStartCauses.other, 0),
    };
    const normalMinutes = loadResults.reduce((s, r) => s + r.normalAvatarSeconds / 60, 0);
    const cleanMinutes = loadResults.reduce((s, r) => s + r.cleanNormalAvatarSeconds / 60, 0);

    // CPU and memory.
    const wall = (after.at - before.at) / 1000;
    const serverCpu = before.serverCpu !== null && after.serverCpu !== null ? after.serverCpu - before.serverCpu : null;
    const generatorCpu = before.generatorCpu !== null && after.generatorCpu !== null ? after.generatorCpu - before.generatorCpu : null;
    const busy =
      before.machine && after.machine ? machineBusy(before.machine, after.machine, wall, (serverCpu ?? 0) + (generatorCpu ?? 0) + (after.ownCpu - before.ownCpu)) : null;
    const rssMB = memory ? memory.rssBytes / 2 ** 20 : null;

    const verdict = judgeTrial(
      {
        latencyP99Ms: withUnscored.p99,
        latencySamples: withUnscored.count,
        framesDropped: dropped,
        deliveredFraction: delivered,
        ticksFailed: failedTicks,
        serverExited: diedEarly,
      },
      { p99Ms: settings.budgetMs, minDelivered: settings.minDelivered },
    );
    return {
      id,
      strategy: settings.strategy,
      workers: settings.workers,
      avatars: settings.avatars,
      tickMs: settings.tickMs,
      startedAt,
      serverCommand: server.command,
      verdict,
      latencyMs: jsonSummary({ ...scoredSummary, mean: round(scoredSummary.mean), p50: round(scoredSummary.p50), p95: round(scoredSummary.p95), p99: round(scoredSummary.p99), min: round(scoredSummary.min), max: round(scoredSummary.max) }),
      latencyP99WithUnscoredMs: orNull(withUnscored.p99),
      latencyAvatars: shares.reduce((s, share) => s + share.latencyAvatars.length, 0),
      unscoredFrames: unscored,
      serverHistogramMs: histogramMs(latencyHistogram),
      inferenceMs: { mean: inference.count > 0 ? round((1000 * inference.sum) / inference.count) : null, p99UpperBound: orNull(histogramQuantile(inference, 0.99).upperBound * 1000), calls: inference.count },
      ticks: {
        scored: ticks.scored ?? 0,
        coalesced: ticks.coalesced ?? 0,
        idle: ticks.idle ?? 0,
        failed: failedTicks,
        meanTickMs: tickDuration.count > 0 ? round((1000 * tickDuration.sum) / tickDuration.count) : null,
      },
      meanBatchAvatars: batchAvatars.count > 0 ? round(batchAvatars.sum / batchAvatars.count) : null,
      meanFramesPerAvatarPerTick: batchAvatars.sum > 0 ? round(batchFrames.sum / batchAvatars.sum, 2) : null,
      frames: { scheduled, sent, deliveredOnTime: round(delivered, 4), acceptedInWindow: accepted, scoredInWindow: scored, dropped, windowRestarts: restarts },
      alerts: {
        anomalies: outcomes.length,
        detected: detected.length,
        missed: outcomes.filter((o) => o.outcome === 'missed').length,
        alreadyAlerting: outcomes.filter((o) => o.outcome === 'already_alerting').length,
        latencyMs: jsonSummary(summarize(alertLatencies.map((x) => round(x)))),
        byKind,
        falseStartsOnNormalAvatars: falseNormal,
        falseStarts: loadResults.flatMap((r) =>
          r.alerts.falseStarts.map((start, i) => ({ avatar: start.avatar, clip: r.falseStartCauses.clips[i] ?? '?', atSeconds: round(start.seq / fps, 2) })),
        ),
        falseStartCauses: falseCauses,
        falseStartSeconds: jsonSummary(summarize(falseAt.map((x) => round(x, 2)))),
        falseStartsBeforeOnset: loadResults.reduce((s, r) => s + r.alerts.falseStartsBeforeOnset, 0),
        normalAvatarMinutes: round(normalMinutes, 2),
        falseStartsPerAvatarHour: normalMinutes > 0 ? round((60 * falseNormal) / normalMinutes, 2) : null,
        cleanNormalAvatarMinutes: round(cleanMinutes, 2),
        otherFalseStartsPerAvatarHour: cleanMinutes > 0 ? round((60 * falseCauses.other) / cleanMinutes, 2) : null,
      },
      server: {
        readyMs: Math.round(server.readyMs),
        cpuCores: serverCpu !== null ? round(serverCpu / wall, 3) : null,
        cpuMsPerAvatarSecond: serverCpu !== null ? round((1000 * serverCpu) / wall / settings.avatars, 3) : null,
        rssIdleMB: rssIdle !== null ? round(rssIdle / 2 ** 20) : null,
        rssMB: rssMB !== null ? round(rssMB) : null,
        peakRssMB: peakRss > 0 ? round(peakRss / 2 ** 20) : null,
        rssPerAvatarKB: memory && rssIdle !== null ? round((memory.rssBytes - rssIdle) / 1024 / settings.avatars) : null,
        threads: memory?.threads ?? null,
        exitCode,
        subscriberMessagesDropped: subscriberDrops,
      },
      loadGenerators: {
        processes: generators.length,
        cpuCores: generatorCpu !== null ? round(generatorCpu / wall, 3) : null,
        sendLatenessP99Ms: orNull(Math.max(...loadResults.map((r) => r.sendLateness.p99))),
        eventLoopDelayP99Ms: round(Math.max(...loadResults.map((r) => r.eventLoopDelay.p99))),
        errorsByCode: loadResults.reduce<Record<string, number>>((acc, r) => {
          for (const [code, n] of Object.entries(r.errorsByCode)) acc[code] = (acc[code] ?? 0) + n;
          return acc;
        }, {}),
        unexpectedCloses: loadResults.reduce((s, r) => s + r.unexpectedCloses, 0),
        motionSource,
      },
      machine: {
        loadAverageStart,
        loadAverageEnd: os.loadavg().map((x) => round(x, 2)),
        busyCores: busy ? round(busy.busyCores, 2) : null,
        otherCores: busy ? round(busy.otherCores, 2) : null,
      },
      error: null,
    };
  } finally {
    for (const g of generators) g.kill();
    if (server && !server.exited()) await server.stop(2000);
  }
}

/** A trial that could not run at all (the server would not start, a generator failed): a failed verdict with the reason. */
export function failedTrial(id: string, settings: TrialSettings, error: unknown): TrialResult {
  const message = (error as Error).message ?? String(error);
  const empty = jsonSummary(summarize([]));
  return {
    id,
    strategy: settings.strategy,
    workers: settings.workers,
    avatars: settings.avatars,
    tickMs: settings.tickMs,
    startedAt: new Date().toISOString(),
    serverCommand: '',
    verdict: { pass: false, reasons: [`trial failed: ${message.split('\n')[0]}`] },
    latencyMs: empty,
    latencyP99WithUnscoredMs: null,
    latencyAvatars: 0,
    unscoredFrames: 0,
    serverHistogramMs: { p50: null, p99: null, p99UpperBound: null, count: 0 },
    inferenceMs: { mean: null, p99UpperBound: null, calls: 0 },
    ticks: { scored: 0, coalesced: 0, idle: 0, failed: 0, meanTickMs: null },
    meanBatchAvatars: null,
    meanFramesPerAvatarPerTick: null,
    frames: { scheduled: 0, sent: 0, deliveredOnTime: 0, acceptedInWindow: 0, scoredInWindow: 0, dropped: {}, windowRestarts: {} },
    alerts: {
      anomalies: 0,
      detected: 0,
      missed: 0,
      alreadyAlerting: 0,
      latencyMs: empty,
      byKind: {},
      falseStartsOnNormalAvatars: 0,
      falseStarts: [],
      falseStartCauses: { joining: 0, nearSeam: 0, other: 0 },
      falseStartSeconds: empty,
      falseStartsBeforeOnset: 0,
      normalAvatarMinutes: 0,
      falseStartsPerAvatarHour: null,
      cleanNormalAvatarMinutes: 0,
      otherFalseStartsPerAvatarHour: null,
    },
    server: { readyMs: 0, cpuCores: null, cpuMsPerAvatarSecond: null, rssIdleMB: null, rssMB: null, peakRssMB: null, rssPerAvatarKB: null, threads: null, exitCode: null, subscriberMessagesDropped: 0 },
    loadGenerators: { processes: 0, cpuCores: null, sendLatenessP99Ms: null, eventLoopDelayP99Ms: 0, errorsByCode: {}, unexpectedCloses: 0, motionSource: '' },
    machine: { loadAverageStart: os.loadavg(), loadAverageEnd: os.loadavg(), busyCores: null, otherCores: null },
    error: message,
  };
}

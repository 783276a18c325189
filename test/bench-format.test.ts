import { describe, expect, it } from 'vitest';
import { auto, formatReport, num, percent, ratio, table, TRIAL_HEADERS } from '../bench/format.js';
import { parseOptions, UsageError } from '../bench/options.js';
import { RESULTS_SCHEMA, type BenchResults } from '../bench/results.js';
import { failedTrial, type TrialResult, type TrialSettings } from '../bench/trial.js';

describe('bench number formatting', () => {
  it('groups thousands, keeps digits, shows missing figures as a dash and infinity as ∞', () => {
    expect(num(1234567.891, 1)).toBe('1,234,567.9');
    expect(num(-1234, 0)).toBe('-1,234');
    expect(num(-0.01, 1)).toBe('0.0');
    expect(num(null)).toBe('–');
    expect(num(Number.NaN)).toBe('–');
    expect(num(Infinity)).toBe('∞');
    expect(auto(1234.5)).toBe('1,235');
    expect(auto(12.345)).toBe('12.3');
    expect(auto(1.2345)).toBe('1.23');
    expect(auto(0.012345)).toBe('0.012');
    expect(percent(0.1234)).toBe('12.3%');
    expect(percent(null)).toBe('–');
    expect(ratio(81.23)).toBe('81.2x');
    expect(ratio(null)).toBe('–');
  });

  it('writes markdown tables with aligned columns and escaped pipes', () => {
    expect(table(['a', 'b'], [['x|y', '1']], ['l', 'r'])).toBe('| a | b |\n| --- | ---: |\n| x\\|y | 1 |');
  });
});

const settings: TrialSettings = {
  strategy: 'incremental',
  workers: 2,
  avatars: 300,
  tickMs: 100,
  backend: 'wasm',
  modelDir: null,
  serverNodeArgs: [],
  modelDirForData: 'models/default',
  warmupSeconds: 2,
  measureSeconds: 4,
  drainSeconds: 1,
  avatarsPerConnection: 50,
  avatarsPerGenerator: 1000,
  latencySample: 64,
  anomalyFraction: 0.1,
  anomalyKinds: ['boneStretch'],
  anomalySeconds: 3,
  anomalySeverity: 1,
  dataDir: null,
  maxClips: 4,
  seed: 1,
  budgetMs: 250,
  minDelivered: 0.97,
};

function trial(id: string, overrides: Partial<TrialResult>): TrialResult {
  return { ...failedTrial(id, settings, new Error('x')), error: null, ...overrides };
}

function results(): BenchResults {
  const options = parseOptions(['--quick'], '/data');
  if (options === 'help') throw new Error('unexpected');
  const ok = trial('T1', {
    verdict: { pass: true, reasons: [] },
    latencyMs: { count: 1000, min: 20, mean: 80, p50: 75, p95: 150, p99: 190, max: 240 },
    latencyP99WithUnscoredMs: 190,
    server: { readyMs: 1800, cpuCores: 1.6, cpuMsPerAvatarSecond: 5.3, rssIdleMB: 200, rssMB: 450, peakRssMB: 460, rssPerAvatarKB: 850, threads: 16, exitCode: 0, subscriberMessagesDropped: 0 },
  });
  const bad = trial('T2', { strategy: 'full-window', avatars: 4, latencyMs: { count: 10, min: 1, mean: 1, p50: 900, p95: 1500, p99: 2000, max: 2000 }, latencyP99WithUnscoredMs: null, unscoredFrames: 5 });
  return {
    schema: RESULTS_SCHEMA,
    mode: 'quick',
    startedAt: '2026-11-23T10:00:00.000Z',
    finishedAt: '2026-11-23T10:01:40.000Z',
    wallSeconds: 100,
    argv: ['--quick'],
    options,
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      availableParallelism: 2,
      memoryBytes: 8 * 2 ** 30,
      freeMemoryBytesAtStart: 4 * 2 ** 30,
      loadAverageAtStart: [0.5, 0.4, 0.3],
      loadAverageAtEnd: [1.5, 0.9, 0.5],
      platform: 'linux',
      node: 'v20.0.0',
      v8: '11',
      tfjs: '4.22.0',
    },
    code: { commit: 'abc123', uncommitted: [] },
    model: { dir: 'models/default', preset: 'tiny', streamingThresholds: {} },
    offline: {
      backends: [
        { type: 'result', backend: 'tensorflow', available: false, reason: 'not installed', cpuSeconds: 0, peakGflops: null, conditions: { loadAverageStart: [1], loadAverageEnd: [1], otherCores: 0, wallSeconds: 1 } },
        {
          type: 'result',
          backend: 'wasm',
          available: true,
          initMs: 50,
          cpuSeconds: 10,
          peakGflops: 20,
          conditions: { loadAverageStart: [0.5], loadAverageEnd: [0.6], otherCores: 0.1, wallSeconds: 12 },
          matmul: [{ m: 512, k: 512, n: 512, timing: { medianMs: 13.4, minMs: 13, reps: 5 }, gflops: 20 }],
          presets: [
            {
              preset: 'default (tiny)',
              weights: 'trained',
              architecture: 'd=64',
              parameters: 180188,
              causal: true,
              window: [{ batch: 16, frames: 250, flopsPerWindow: 212e6, model: { medianMs: 800, minMs: 790, reps: 3, framesPerSecond: 5000, windowsPerSecond: 20, gflops: 4.2 }, scoring: { medianMs: 900, minMs: 890, reps: 3, framesPerSecond: 4444, windowsPerSecond: 17.8, gflops: 3.8 } }],
              incremental: [{ avatars: 500, newFrames: 3, flopsPerFrame: 823e3, timing: { medianMs: 190, minMs: 180, reps: 5 }, framesPerSecond: 7895, callsPerSecond: 5.3, realtimeAvatars: 263, gflops: 6.5 }],
              incrementalSkipped: null,
            },
          ],
        },
      ],
    },
    streaming: {
      motionSource: 'synthetic walker',
      budgetMs: 250,
      trials: [ok, bad],
      capacity: [{ strategy: 'incremental', workers: 2, capacity: 300, firstFailure: 450, firstFailureReasons: ['p99 400 ms > 250 ms'], capped: false, nonMonotonic: false, steps: [{ avatars: 300, pass: true }, { avatars: 450, pass: false }], trialIds: ['T1'] }],
      sideBySide: [{ avatars: 4, workers: 2, incrementalTrial: 'T1', fullWindowTrial: 'T2', cpuPerAvatarRatio: 40, p99Ratio: null }],
      capacityRatios: [{ workers: 2, incremental: 300, fullWindow: 4, ratio: 75, cpuMsPerAvatarSecondAtCapacity: { incremental: 5.3, fullWindow: 420 }, cpuRatioAtCapacity: 79.2 }],
      falseAlerts: {
        trial: 'T1',
        avatars: 100,
        secondsPerAvatar: 61,
        falseStarts: 3,
        avatarsWithFalseStarts: 2,
        causes: { joining: 1, nearSeam: 0, other: 2 },
        starts: [
          { clip: 'walk_a.bvh', atSeconds: 0.97 },
          { clip: 'walk_a.bvh', atSeconds: 20.5 },
          { clip: 'wave_b.bvh', atSeconds: 33 },
        ],
      },
    },
    notes: ['a note'],
  };
}

describe('bench report', () => {
  const report = formatReport(results());

  it('starts with the machine, its load and the code measured', () => {
    expect(report).toMatch(/^# motionguard benchmark \(quick\) 2026-11-23T10:00:00.000Z/);
    expect(report).toContain('Test CPU, 2 cores (2 usable), 8.0 GiB memory');
    expect(report).toContain('0.50 / 0.40 / 0.30 at start, 1.50 / 0.90 / 0.50 at end');
    expect(report).toContain('code: abc123, clean');
    expect(report).toContain('tick 100 ms, p99 budget 250 ms');
  });

  it('reports unavailable backends with their reason and rates as a share of the matMul peak', () => {
    expect(report).toContain('**tensorflow: unavailable** (not installed)');
    expect(report).toMatch(/\| wasm \| default \(tiny\) \| 16 \| 800 \| 5,000 \| 20\.0 \| 4\.20 \| 21\.0% \| 4,444 \| 17\.8 \| 212 \|/);
    expect(report).toMatch(/\| wasm \| default \(tiny\) \| 500 \| 3 \| 190 \| 7,895 \| 263 \| 6\.50 \| 32\.5% \| 823 \|/);
  });

  it('has one row per trial with every column, unscored tails as ∞, and the capacity and ratio lines', () => {
    const rows = report.split('\n').filter((line) => /^\| T\d/.test(line));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.split(' | ')).toHaveLength(TRIAL_HEADERS.length);
    expect(rows[0]).toContain('| holds |');
    expect(rows[1]).toContain('∞ (5 unscored)');
    expect(rows[1]).toContain('fails: trial failed: x');
    expect(report).toMatch(/\| incremental \| 2 \| 300 \| 450 \| p99 400 ms > 250 ms \| 300: ok, 450: fail \|/);
    expect(report).toContain('incremental 300 vs full-window 4 avatars: **75.0x**; server CPU per avatar at those loads 420 vs 5.30 ms/s (**79.2x**)');
    expect(report).toContain('full-window / incremental **40.0x**');
    expect(report).toContain('- a note');
  });

  it('reports the false-alert trial with the clips that alerted', () => {
    expect(report).toContain('### False alerts on normal motion (T1)');
    expect(report).toContain('100 avatars of looped held-out real motion, no injected anomaly, 61.0 s or more each: **3 false alert(s)** on 2 avatar(s) (joining 1 / after a loop seam 0 / other 2)');
    expect(report).toContain('- walk_a.bvh: 2 (at 1.0 s, 20.5 s)');
    expect(report).toContain('- wave_b.bvh: 1 (at 33.0 s)');
  });
});

describe('bench options', () => {
  it('defaults a quick run to short trials and fewer presets, a full run to more', () => {
    const quick = parseOptions(['--quick'], '/data');
    const full = parseOptions([], '/data');
    if (quick === 'help' || full === 'help') throw new Error('unexpected');
    expect(quick.mode).toBe('quick');
    expect(quick.durationSeconds).toBeLessThan(full.durationSeconds);
    expect(quick.presets).not.toContain('paper');
    expect(full.presets).toContain('paper');
    expect(full.workers).toEqual([1, 2]);
    expect(full.dataDir).toBe('/data');
  });

  it('parses lists and numbers and refuses nonsense with the flag named', () => {
    const o = parseOptions(['--avatars', '8, 64', '--tick-ms', '50', '--only', 'capacity', '--duration', '20'], '/d');
    if (o === 'help') throw new Error('unexpected');
    expect(o.avatars).toEqual([8, 64]);
    expect(o.tickMs).toBe(50);
    expect(o.phases).toEqual(['capacity']);
    expect(parseOptions(['--help'], '/d')).toBe('help');
    expect(() => parseOptions(['--tick-ms', 'fast'], '/d')).toThrow(/--tick-ms: must be an integer/);
    expect(() => parseOptions(['--backends', 'gpu'], '/d')).toThrow(/unknown 'gpu'/);
    expect(() => parseOptions(['--frobnicate'], '/d')).toThrow(UsageError);
    expect(() => parseOptions(['--warmup', '0', '--duration', '1'], '/d')).toThrow(/at least 4 s/);
  });

  it('passes Node options to the server under test, and nothing else', () => {
    const o = parseOptions(['--server-node-args= --cpu-prof  --cpu-prof-dir=prof '], '/d');
    if (o === 'help') throw new Error('unexpected');
    expect(o.serverNodeArgs).toEqual(['--cpu-prof', '--cpu-prof-dir=prof']);
    const plain = parseOptions([], '/d');
    if (plain === 'help') throw new Error('unexpected');
    expect(plain.serverNodeArgs).toEqual([]);
    expect(() => parseOptions(['--server-node-args=--cpu-prof evil.js'], '/d')).toThrow(/starting with '-'.*'evil.js'/);
  });
});

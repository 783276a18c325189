/** The markdown report of a run (pure: results in, text out). */
import type { BenchResults, OfflineBackend } from './results.js';
import type { TrialResult } from './trial.js';

const DASH = '–';

/** Fixed digits with thousands separators; null, NaN and undefined as a dash, Infinity as ∞. */
export function num(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  const fixed = Math.abs(value).toFixed(digits);
  const [whole, fraction] = fixed.split('.') as [string, string | undefined];
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${value < 0 && Number(fixed) !== 0 ? '-' : ''}${grouped}${fraction !== undefined ? `.${fraction}` : ''}`;
}

/** Significant-figure-ish: enough digits for small numbers, none for large ones. */
export function auto(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return num(value);
  const magnitude = Math.abs(value);
  return num(value, magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3);
}

export function percent(fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return DASH;
  return `${(100 * fraction).toFixed(digits)}%`;
}

export function ratio(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return `${auto(value)}x`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A markdown table; `align` per column ('l' or 'r'; numbers right). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const rule = headers.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  const line = (cells: readonly string[]): string => `| ${headers.map((_, i) => cell(cells[i] ?? '')).join(' | ')} |`;
  return [line(headers), `| ${rule.join(' | ')} |`, ...rows.map(line)].join('\n');
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function loads(values: readonly number[]): string {
  return values.length > 0 ? values.map((v) => v.toFixed(2)).join(' / ') : DASH;
}

function header(r: BenchResults): string {
  const m = r.machine;
  const o = r.options;
  return [
    `# motionguard benchmark (${r.mode}) ${r.startedAt}`,
    '',
    `- machine: ${m.cpuModel}, ${m.cores} cores (${m.availableParallelism} usable), ${gib(m.memoryBytes)} memory (${gib(m.freeMemoryBytesAtStart)} free at start), ${m.platform}`,
    `- load average (1/5/15 min): ${loads(m.loadAverageAtStart)} at start, ${loads(m.loadAverageAtEnd)} at end`,
    `- Node ${m.node}, tfjs ${m.tfjs}; server backend ${o.streamBackend}; model ${r.model.dir} (preset ${r.model.preset})`,
    `- code: ${r.code.commit ?? 'unknown commit'}${r.code.uncommitted.length > 0 ? `, uncommitted changes measured as they were in: ${r.code.uncommitted.join(', ')}` : ', clean'}`,
    `- streaming trials: ${o.warmupSeconds} s warm-up + ${o.durationSeconds} s measured + ${o.drainSeconds} s drain, tick ${o.tickMs} ms, p99 budget ${o.budgetMs} ms, ${o.avatarsPerConnection} avatars per publisher connection, latency sampled on ${o.latencySample} avatars`,
    `- run took ${num(r.wallSeconds)} s; command: \`npm run bench --${r.argv.length > 0 ? ` ${r.argv.join(' ')}` : ''}\``,
  ].join('\n');
}

function offlineSection(backends: readonly OfflineBackend[]): string {
  const parts: string[] = ['## Offline model throughput (one thread)'];
  const unavailable = backends.filter((b) => !b.available);
  const available = backends.filter((b): b is Extract<OfflineBackend, { available: true }> => b.available);
  parts.push(
    table(
      ['backend', 'matMul m x k x n', 'ms', 'GFLOP/s', 'load avg (start)', 'other cores busy'],
      available.flatMap((b) =>
        b.matmul.map((mm) => [b.backend, `${mm.m} x ${mm.k} x ${mm.n}`, auto(mm.timing.medianMs), auto(mm.gflops), loads(b.conditions.loadAverageStart.slice(0, 1)), auto(b.conditions.otherCores)]),
      ),
      ['l', 'l', 'r', 'r', 'r', 'r'],
    ),
  );
  for (const b of unavailable) if (!b.available) parts.push(`- **${b.backend}: unavailable** (${b.reason})`);
  const windowRows = available.flatMap((b) =>
    b.presets.flatMap((p) =>
      p.window.map((w) => [
        b.backend,
        p.preset,
        String(w.batch),
        auto(w.model.medianMs),
        num(w.model.framesPerSecond),
        auto(w.model.windowsPerSecond),
        auto(w.model.gflops),
        percent(b.peakGflops ? w.model.gflops / b.peakGflops : null),
        num(w.scoring.framesPerSecond),
        auto(w.scoring.windowsPerSecond),
        num(w.flopsPerWindow / 1e6),
      ]),
    ),
  );
  parts.push(
    '### Window path (250-frame windows, K+1 = 4 passes + flow per window)',
    table(
      ['backend', 'preset', 'windows/call', 'model ms/call', 'model frames/s', 'model windows/s', 'GFLOP/s', 'of matMul peak', 'scoreWindows frames/s', 'scoreWindows windows/s', 'MFLOP/window'],
      windowRows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  const stepRows = available.flatMap((b) =>
    b.presets.flatMap((p) =>
      p.incremental.length > 0
        ? p.incremental.map((s) => [
            b.backend,
            p.preset,
            String(s.avatars),
            String(s.newFrames),
            auto(s.timing.medianMs),
            num(s.framesPerSecond),
            num(s.realtimeAvatars),
            auto(s.gflops),
            percent(b.peakGflops ? s.gflops / b.peakGflops : null),
            num(s.flopsPerFrame / 1e3),
          ])
        : [[b.backend, p.preset, DASH, DASH, DASH, DASH, DASH, DASH, DASH, p.incrementalSkipped ?? '']],
    ),
  );
  parts.push(
    '### Incremental streaming step (IncrementalScorer.scoreNewFrames)',
    table(['backend', 'preset', 'avatars/call', 'new frames/avatar', 'ms/call', 'frames/s', 'avatars at 30 fps (1 thread)', 'GFLOP/s', 'of matMul peak', 'kFLOP/frame'], stepRows, [
      'l',
      'l',
      'r',
      'r',
      'r',
      'r',
      'r',
      'r',
      'r',
      'r',
    ]),
  );
  const presets = available.flatMap((b) => b.presets).filter((p, i, all) => all.findIndex((q) => q.preset === p.preset) === i);
  parts.push(presets.map((p) => `- ${p.preset}: ${p.architecture}; ${num(p.parameters)} parameters; weights ${p.weights}`).join('\n'));
  return parts.join('\n\n');
}

function failures(t: TrialResult): string {
  return t.verdict.pass ? 'holds' : `fails: ${t.verdict.reasons.join('; ')}`;
}

/** detected/injected, and why the rest were not: an episode already open at the onset, or missed. */
function alertCounts(t: TrialResult): string {
  const why = [t.alerts.alreadyAlerting > 0 ? `${t.alerts.alreadyAlerting} open at onset` : '', t.alerts.missed > 0 ? `${t.alerts.missed} missed` : ''].filter((x) => x);
  return `${t.alerts.detected}/${t.alerts.anomalies}${why.length > 0 ? ` (${why.join(', ')})` : ''}`;
}

function trialRow(t: TrialResult): string[] {
  const dropped = Object.values(t.frames.dropped).reduce((a, b) => a + b, 0);
  return [
    t.retryOf ? `${t.id} (repeats ${t.retryOf})` : t.id,
    t.strategy,
    String(t.workers),
    num(t.avatars),
    auto(t.latencyMs.p50),
    auto(t.latencyMs.p95),
    t.latencyP99WithUnscoredMs === null && t.unscoredFrames > 0 ? `∞ (${num(t.unscoredFrames)} unscored)` : auto(t.latencyP99WithUnscoredMs),
    t.serverHistogramMs.p99UpperBound === null ? DASH : `≤ ${auto(t.serverHistogramMs.p99UpperBound)}`,
    auto(t.inferenceMs.mean),
    auto(t.meanFramesPerAvatarPerTick),
    num(dropped),
    percent(t.frames.deliveredOnTime),
    auto(t.server.cpuCores),
    auto(t.server.cpuMsPerAvatarSecond),
    auto(t.server.rssMB),
    auto(t.server.rssPerAvatarKB),
    alertCounts(t),
    auto(t.alerts.latencyMs.p50),
    auto(t.alerts.latencyMs.p95),
    `${t.alerts.falseStartCauses.joining} / ${t.alerts.falseStartCauses.nearSeam} / ${t.alerts.falseStartCauses.other}`,
    auto(t.alerts.otherFalseStartsPerAvatarHour),
    auto(t.loadGenerators.cpuCores),
    auto(t.machine.otherCores),
    failures(t),
  ];
}

export const TRIAL_HEADERS = [
  'trial',
  'strategy',
  'workers',
  'avatars',
  'latency p50 ms',
  'p95 ms',
  'p99 ms',
  'server hist p99 ms',
  'inference ms/tick',
  'frames/avatar/tick',
  'frames dropped',
  'load delivered',
  'server cores',
  'server CPU ms/avatar·s',
  'server RSS MB',
  'RSS KB/avatar',
  'alerts detected',
  'alert latency p50 ms',
  'alert p95 ms',
  'false alerts joining / seam / other',
  'other per avatar-hour',
  'load gen cores',
  'other cores busy',
  'verdict',
] as const;

function streamingSection(s: NonNullable<BenchResults['streaming']>): string {
  const parts: string[] = ['## End-to-end streaming', `Motion: ${s.motionSource}.`];
  if (s.capacity.length > 0) {
    parts.push(
      `### Capacity (largest avatar count with p99 frame-to-score ≤ ${s.budgetMs} ms, no frame dropped, full load delivered)`,
      table(
        ['strategy', 'workers', 'capacity (avatars)', 'first failure', 'why it failed', 'trials (avatars: verdict)'],
        s.capacity.map((c) => [
          c.strategy,
          String(c.workers),
          c.capped ? `≥ ${num(c.capacity)} (search cap)` : `${num(c.capacity)}${c.nonMonotonic ? ' (non-monotonic, see trials)' : ''}`,
          c.firstFailure === null ? DASH : num(c.firstFailure),
          c.firstFailureReasons.join('; ') || DASH,
          c.steps.map((step) => `${step.avatars}: ${step.pass ? 'ok' : 'fail'}`).join(', '),
        ]),
        ['l', 'r', 'r', 'r', 'l', 'l'],
      ),
    );
  }
  if (s.capacityRatios.length > 0 || s.sideBySide.length > 0) {
    const lines = s.capacityRatios.map(
      (c) =>
        `- capacity, ${c.workers} worker(s): incremental ${num(c.incremental)} vs full-window ${num(c.fullWindow)} avatars: **${ratio(c.ratio)}**; ` +
        `server CPU per avatar at those loads ${auto(c.cpuMsPerAvatarSecondAtCapacity.fullWindow)} vs ${auto(c.cpuMsPerAvatarSecondAtCapacity.incremental)} ms/s (**${ratio(c.cpuRatioAtCapacity)}**)`,
    );
    lines.push(
      ...s.sideBySide.map((x) => {
        const inc = s.trials.find((t) => t.id === x.incrementalTrial);
        const full = s.trials.find((t) => t.id === x.fullWindowTrial);
        const verdict = (t: TrialResult | undefined): string => (t ? (t.verdict.pass ? 'holds' : 'fails') : '?');
        const p99 = (t: TrialResult | undefined): string => (t && t.latencyP99WithUnscoredMs === null && t.unscoredFrames > 0 ? '∞' : auto(t?.latencyP99WithUnscoredMs));
        return (
          `- same load, ${num(x.avatars)} avatars, ${x.workers} worker(s) (full-window ${verdict(full)}, incremental ${verdict(inc)}): ` +
          `server CPU per avatar ${auto(full?.server.cpuMsPerAvatarSecond)} vs ${auto(inc?.server.cpuMsPerAvatarSecond)} ms/s (full-window / incremental **${ratio(x.cpuPerAvatarRatio)}**), ` +
          `p99 ${p99(full)} vs ${p99(inc)} ms (**${ratio(x.p99Ratio)}**) [${x.fullWindowTrial} vs ${x.incrementalTrial}]`
        );
      }),
    );
    parts.push('### Streaming (incremental) vs naive (full-window)', lines.join('\n'));
  }
  if (s.falseAlerts) {
    const f = s.falseAlerts;
    const byClip = new Map<string, number>();
    for (const start of f.starts) byClip.set(start.clip, (byClip.get(start.clip) ?? 0) + 1);
    parts.push(
      `### False alerts on normal motion (${f.trial})`,
      `${num(f.avatars)} avatars of looped held-out real motion, no injected anomaly, ${auto(f.secondsPerAvatar)} s or more each: ` +
        `**${f.falseStarts} false alert(s)** on ${f.avatarsWithFalseStarts} avatar(s) (joining ${f.causes.joining} / after a loop seam ${f.causes.nearSeam} / other ${f.causes.other}).` +
        (byClip.size > 0 ? `\n\n${[...byClip].map(([clip, n]) => `- ${clip}: ${n} (at ${f.starts.filter((x) => x.clip === clip).map((x) => `${x.atSeconds.toFixed(1)} s`).join(', ')})`).join('\n')}` : ''),
    );
  }
  parts.push(
    '### Every trial',
    'Latency: client-measured, frame handed to the socket → its score received by a subscriber, every frame of the sampled avatars (p99 counts frames that never got a score as ∞). ' +
      'Server hist: the server\'s own `motionguard_frame_to_score_latency_seconds` (receipt → score), bucket upper bound. ' +
      'Alert latency: onset frame sent → `start` alert received. False alerts: `start`s on avatars without an injected anomaly, in their first 5 s (joining) / within 2 s after a loop seam of the benchmark\'s own motion (seam) / otherwise (other; rate per avatar-hour of that exposure).',
    table(
      TRIAL_HEADERS,
      s.trials.map(trialRow),
      TRIAL_HEADERS.map((_, i) => (i === 0 || i === 1 || i === TRIAL_HEADERS.length - 1 ? 'l' : 'r')),
    ),
  );
  return parts.join('\n\n');
}

export function formatReport(r: BenchResults): string {
  const parts = [header(r)];
  if (r.offline) parts.push(offlineSection(r.offline.backends));
  if (r.streaming) parts.push(streamingSection(r.streaming));
  if (r.notes.length > 0) parts.push(`## Notes\n\n${r.notes.map((n) => `- ${n}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}

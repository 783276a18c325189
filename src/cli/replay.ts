/**
 * `motionguard score --replay`: runs clips through exactly the online path of the server
 * (the Detector: online resampling, batched scorer calls at fixed ticks, the online rule)
 * on a virtual clock, many clips at once as separate avatars, and prints the `score` JSONL
 * contract with the online scores and decisions.
 */
import { peakScore } from '../model/clip-rule.js';
import type { Motion } from '../model/motion.js';
import { sequenceScore } from '../model/scoring.js';
import { openStreamingScorer } from '../model/streaming.js';
import type { StreamingScorer } from '../model/streaming-scorer.js';
import type { BackendName } from '../model/backend.js';
import type { ClipDecision, ClipScores } from '../model/types.js';
import { scoringOverrides, loadConfig, type ServerConfig } from '../stream/config.js';
import { Detector, detectorSettingsFrom, type DetectorOptions } from '../stream/detector.js';
import type { AlertMessage } from '../stream/protocol.js';
import { loadBvhFile } from '../train/dataset.js';
import { scoreLine, type ErrorLine } from './score-output.js';

export type ReplayOptions = Omit<DetectorOptions, 'scorer' | 'clock' | 'metrics' | 'logger'> & {
  /** Virtual milliseconds between ticks, as in the server. Default 100. */
  readonly tickMs?: number;
  /** Sees every alert the replay raises (clip index, alert with virtual time). */
  readonly onAlert?: (clip: number, alert: AlertMessage) => void;
};

/** Counts replay calls, so avatar ids never repeat on a shared scorer. */
let replayRun = 0;

interface ClipResult {
  readonly parts: { frameScores: Float32Array; jointScores: Float32Array }[];
  frames: number;
  peakFraction: number;
  starts: number;
  sustained: boolean;
  spike: boolean;
}

/**
 * Replays clips (canonical joints, each at its own fps) as avatars streaming in real time on a
 * virtual clock: frame i of a clip arrives at i / fps seconds, a tick runs every tickMs. Returns
 * each clip's online scores and decision, in input order.
 */
export async function replayClips(scorer: StreamingScorer, clips: readonly Motion[], options: ReplayOptions = {}): Promise<ClipScores[]> {
  const tickMs = options.tickMs ?? 100;
  let now = 0;
  const { tickMs: _tickMs, onAlert, ...detectorOptions } = options;
  const detector = new Detector({ ...detectorOptions, scorer, clock: () => now });
  // Unique per call, so a scorer shared between calls never mixes two clips' state.
  const prefix = `replay-${replayRun++}-`;
  const index = new Map(clips.map((_, i) => [`${prefix}${i}`, i]));
  const results: ClipResult[] = clips.map(() => ({ parts: [], frames: 0, peakFraction: 0, starts: 0, sustained: false, spike: false }));
  const scored = detector.scoredFrames$.subscribe((e) => {
    const r = results[index.get(e.avatar)!]!;
    r.parts.push({ frameScores: e.frameScores, jointScores: e.jointScores });
    r.frames += e.frames;
    r.peakFraction = e.peakFraction;
  });
  const alerts = detector.alerts$.subscribe((alert) => {
    const clip = index.get(alert.avatar)!;
    onAlert?.(clip, alert);
    const r = results[clip]!;
    if (alert.state === 'start') r.starts++;
    if (alert.reason !== 'spike') r.sustained = true;
    if (alert.reason !== 'sustained') r.spike = true;
  });
  try {
    const stride = scorer.jointNames.length * 3;
    const cursors = clips.map(() => 0);
    for (;;) {
      let remaining = 0;
      clips.forEach((clip, i) => {
        const msPerFrame = 1000 / clip.fps;
        let f = cursors[i]!;
        while (f < clip.frameCount && f * msPerFrame <= now) {
          detector.ingest(`${prefix}${i}`, f, clip.positions, clip.fps, f * msPerFrame, f * stride);
          f++;
        }
        cursors[i] = f;
        remaining += clip.frameCount - f;
      });
      await detector.tick(now);
      if (remaining === 0 && detector.pendingFrames === 0) break;
      now += tickMs;
    }
  } finally {
    scored.unsubscribe();
    alerts.unsubscribe();
    detector.close();
    scorer.forget([...index.keys()]);
  }
  const J = scorer.jointNames.length;
  return results.map((r) => {
    const frameScores = new Float32Array(r.frames);
    const jointScores = new Float32Array(r.frames * J);
    let at = 0;
    for (const part of r.parts) {
      frameScores.set(part.frameScores, at);
      jointScores.set(part.jointScores, at * J);
      at += part.frameScores.length;
    }
    const clip: ClipDecision = {
      anomalous: r.starts > 0,
      fraction: r.peakFraction,
      maxFrameScore: peakScore(frameScores),
      reason: r.sustained && r.spike ? 'both' : r.sustained ? 'sustained' : r.spike ? 'spike' : 'none',
    };
    return {
      frameCount: r.frames,
      jointNames: scorer.jointNames,
      frameScores,
      jointScores,
      sequenceScore: r.frames > 0 ? sequenceScore(frameScores) : 0,
      clip,
      thresholds: scorer.thresholds,
    };
  });
}

/** Detector settings of a server configuration, so a replay decides as that server would. */
export function replayOptionsFrom(config: ServerConfig): ReplayOptions {
  return { tickMs: config.tickMs, ...detectorSettingsFrom(config) };
}

/** Clips replayed together (one avatar each); bounds memory and lets output stream. */
const REPLAY_CHUNK = 64;
/** Below this many clips, worker threads (each loads the model) cost more than they save. */
const WORKERS_PAY_OFF_AT = 16;

export interface ReplayCommand {
  readonly files: readonly string[];
  readonly model?: string;
  readonly backend?: BackendName;
  readonly workers?: number;
  readonly configFile?: string;
  readonly tickMs?: string;
}

/** Prints one JSON line per file, in input order; returns the exit code. */
export async function runReplay(command: ReplayCommand): Promise<number> {
  const config = await loadConfig({ configFile: command.configFile, flags: { tickMs: command.tickMs } });
  const options = replayOptionsFrom(config);
  const workers = command.workers ?? config.workers ?? (command.files.length >= WORKERS_PAY_OFF_AT ? undefined : 0);
  const scorer = await openStreamingScorer({
    modelDir: command.model ?? config.model ?? undefined,
    backend: command.backend ?? config.backend ?? undefined,
    workers,
    strategy: config.strategy ?? undefined,
    scoring: scoringOverrides(config),
  });
  let failures = 0;
  try {
    for (let i = 0; i < command.files.length; i += REPLAY_CHUNK) {
      const files = command.files.slice(i, i + REPLAY_CHUNK);
      const loaded = await Promise.all(
        files.map(async (file) => {
          try {
            const motion = await loadBvhFile(file, { fps: null });
            return motion.frameCount >= 2 ? { file, motion } : { file, error: 'too short to score (needs at least 2 frames)' };
          } catch (error) {
            return { file, error: (error as Error).message };
          }
        }),
      );
      const good = loaded.filter((c): c is { file: string; motion: Motion } => 'motion' in c);
      const scores = good.length > 0 ? await replayClips(scorer, good.map((c) => c.motion), options) : [];
      let g = 0;
      const lines = loaded.map((c) => {
        if ('motion' in c) return JSON.stringify(scoreLine(c.file, scorer.fps, scores[g++]!));
        failures++;
        const line: ErrorLine = { file: c.file, error: c.error! };
        return JSON.stringify(line);
      });
      await new Promise<void>((resolve) => process.stdout.write(`${lines.join('\n')}\n`, () => resolve()));
    }
  } finally {
    await scorer.close();
  }
  if (failures) process.stderr.write(`${failures} of ${command.files.length} files could not be scored\n`);
  return failures === command.files.length ? 1 : 0;
}

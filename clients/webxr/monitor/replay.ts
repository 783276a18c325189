/**
 * Motion to replay without an XR device: the procedural walker (src/synth/walker.ts) or a BVH
 * file parsed in the browser (src/model/bvh.ts, forward-kinematics.ts), resampled to 30 fps,
 * optionally corrupted with one of the synthetic faults (src/synth/anomalies.ts). The Player
 * publishes each replay in real time, frame n at n / 30 s after the publisher is ready.
 */
import { parseBvh } from '../../../src/model/bvh.js';
import { bvhToMotion, detectMapping } from '../../../src/model/forward-kinematics.js';
import type { Motion } from '../../../src/model/motion.js';
import { resampleMotion } from '../../../src/model/resample.js';
import { injectAnomaly, type AnomalyKind, type AnomalyLabel } from '../../../src/synth/anomalies.js';
import { walkerMotion } from '../../../src/synth/walker.js';
import type { MotionguardClient } from '../src/client.js';
import { FRAME_VALUES } from '../src/joints.js';

export const REPLAY_FPS = 30;

export interface AnomalyChoice {
  readonly kind: AnomalyKind;
  readonly startSeconds: number;
  readonly frames: number;
  /** 0..1 */
  readonly severity: number;
  readonly seed: number;
}

export type MotionSource = { readonly kind: 'walker'; readonly seconds: number; readonly heading: number } | { readonly kind: 'bvh'; readonly name: string; readonly text: string };

export interface PreparedMotion {
  readonly motion: Motion;
  readonly label: AnomalyLabel | null;
  readonly description: string;
}

/** The canonical 30 fps motion of `source`, with the anomaly injected. Throws with a readable message on a bad file or span. */
export function prepareMotion(source: MotionSource, anomaly: AnomalyChoice | null): PreparedMotion {
  let motion: Motion;
  let description: string;
  if (source.kind === 'walker') {
    if (!(source.seconds >= 1 && source.seconds <= 3600)) throw new Error('the length must be between 1 and 3600 seconds');
    if (!Number.isFinite(source.heading)) throw new Error('the heading must be a number of degrees');
    const frames = Math.max(2, Math.round(source.seconds * REPLAY_FPS));
    motion = walkerMotion({ frames, heading: source.heading });
    description = `walker ${source.seconds} s`;
  } else {
    const clip = parseBvh(source.text, source.name);
    motion = resampleMotion(bvhToMotion(clip, detectMapping(clip)), REPLAY_FPS);
    description = `${source.name} (${(motion.frameCount / REPLAY_FPS).toFixed(1)} s)`;
  }
  if (!anomaly) return { motion, label: null, description };
  if (!(anomaly.startSeconds >= 0) || !(anomaly.frames >= 1) || !Number.isInteger(anomaly.seed) || anomaly.seed < 0) {
    throw new Error('the fault needs a start (s) >= 0, at least 1 frame and a whole seed >= 0');
  }
  if (!(anomaly.severity >= 0 && anomaly.severity <= 1)) throw new Error('the severity must be between 0 and 1');
  const startFrame = Math.round(anomaly.startSeconds * REPLAY_FPS);
  const frameCount = Math.min(Math.round(anomaly.frames), motion.frameCount - startFrame);
  if (startFrame < 0 || frameCount < 1) throw new Error(`the fault must start inside the clip (it is ${(motion.frameCount / REPLAY_FPS).toFixed(1)} s long)`);
  const injected = injectAnomaly(motion, { kind: anomaly.kind, startFrame, frameCount, severity: anomaly.severity, seed: anomaly.seed });
  const { label } = injected;
  return {
    motion: injected.motion,
    label,
    description: `${description}, ${anomaly.kind} (${label.variant}) frames ${label.startFrame}-${label.endFrame - 1}`,
  };
}

export interface Replay {
  readonly avatar: string;
  readonly motion: Motion;
  readonly description: string;
  /** Frames published so far. */
  sent: number;
  state: 'waiting' | 'streaming' | 'done' | 'stopped';
  startedAt: number | null;
}

export interface PlayerListener {
  pose(avatar: string, pose: Float32Array): void;
  changed(replay: Replay): void;
}

export class Player {
  private readonly replays = new Map<string, Replay>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly client: MotionguardClient,
    private readonly listener: PlayerListener,
  ) {}

  /** Starts streaming `motion` as `avatar` (replacing a replay of the same avatar). */
  start(avatar: string, prepared: PreparedMotion): Replay {
    const replay: Replay = { avatar, motion: prepared.motion, description: prepared.description, sent: 0, state: 'waiting', startedAt: null };
    const previous = this.replays.get(avatar);
    if (previous && previous.state !== 'done') previous.state = 'stopped';
    this.replays.set(avatar, replay);
    this.listener.changed(replay);
    this.timer ??= setInterval(() => this.tick(), 15);
    this.tick();
    return replay;
  }

  stop(avatar: string): void {
    const replay = this.replays.get(avatar);
    if (!replay || replay.state === 'done' || replay.state === 'stopped') return;
    replay.state = 'stopped';
    this.listener.changed(replay);
  }

  get active(): Replay[] {
    return [...this.replays.values()].filter((r) => r.state === 'waiting' || r.state === 'streaming');
  }

  private tick(): void {
    const now = performance.now();
    const ready = this.client.ready !== null;
    for (const replay of this.replays.values()) {
      if (replay.state !== 'waiting' && replay.state !== 'streaming') continue;
      if (replay.startedAt === null) {
        if (!ready) continue;
        replay.startedAt = now;
        replay.state = 'streaming';
        this.listener.changed(replay);
      }
      // Every frame that is due, none skipped: a page that stalls catches up in one burst.
      const due = Math.min(replay.motion.frameCount, Math.floor(((now - replay.startedAt) * REPLAY_FPS) / 1000) + 1);
      let pose: Float32Array | null = null;
      for (; replay.sent < due; replay.sent++) {
        pose = replay.motion.positions.subarray(replay.sent * FRAME_VALUES, (replay.sent + 1) * FRAME_VALUES);
        this.client.publish(replay.avatar, pose);
      }
      if (pose) this.listener.pose(replay.avatar, pose);
      if (replay.sent >= replay.motion.frameCount) {
        replay.state = 'done';
        this.listener.changed(replay);
      }
    }
    if (this.active.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/**
 * A deterministic StreamingScorer for stream tests: a frame's score is how far its marker joint
 * (LeftHand) is from the Hips, in metres, and each joint's score is its own distance from the
 * Hips divided by 10 (the marker's undivided). Per frame and context-free, so the same frames
 * score the same however they are batched: replay and server must then decide identically.
 */
import type { AvatarFrames, AvatarScores, StreamingScorer } from '../../src/model/streaming-scorer.js';
import { CANONICAL_JOINTS, jointIndex } from '../../src/model/skeleton.js';
import type { Thresholds } from '../../src/model/types.js';

export const J = CANONICAL_JOINTS.length;
export const MARKER = jointIndex('LeftHand');
const HIPS = jointIndex('Hips');

/** Frame score over 1 m is over the frame threshold; over 5 m is a spike. */
export const FAKE_THRESHOLDS: Thresholds = { frame: 1, sequence: 1, fraction: 0.1, spike: 5 };

export interface FakeScorerOptions {
  readonly windowFrames?: number;
  readonly fps?: number;
  /** Milliseconds each scoreNewFrames call waits (real time) before answering. */
  readonly delayMs?: number;
}

export class FakeScorer implements StreamingScorer {
  readonly jointNames = CANONICAL_JOINTS;
  readonly fps: number;
  readonly windowFrames: number;
  readonly thresholds = FAKE_THRESHOLDS;
  /** Every call: the avatars and frame counts it carried. */
  readonly calls: { avatar: string; frames: number }[][] = [];
  readonly forgotten: string[][] = [];
  /** Frames per avatar received so far. */
  readonly received = new Map<string, number>();
  closed = false;
  /** Throw on the next call (once). */
  failNext = false;
  private running = 0;
  maxConcurrency = 0;

  constructor(private readonly options: FakeScorerOptions = {}) {
    this.fps = options.fps ?? 30;
    this.windowFrames = options.windowFrames ?? 250;
  }

  async scoreNewFrames(batch: readonly AvatarFrames[]): Promise<AvatarScores[]> {
    this.running++;
    this.maxConcurrency = Math.max(this.maxConcurrency, this.running);
    try {
      this.calls.push(batch.map((b) => ({ avatar: b.avatar, frames: b.frames })));
      if (this.options.delayMs) await new Promise((resolve) => setTimeout(resolve, this.options.delayMs));
      if (this.failNext) {
        this.failNext = false;
        throw new Error('fake scorer failure');
      }
      return batch.map((entry) => {
        if (entry.positions.length !== entry.frames * J * 3) throw new Error(`bad positions length for ${entry.avatar}`);
        this.received.set(entry.avatar, (this.received.get(entry.avatar) ?? 0) + entry.frames);
        return { avatar: entry.avatar, ...fakeScores(entry.positions, entry.frames) };
      });
    } finally {
      this.running--;
    }
  }

  forget(avatars: readonly string[]): void {
    this.forgotten.push([...avatars]);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The fake scores of frames x J x 3 positions. */
export function fakeScores(positions: ArrayLike<number>, frames: number): { frameScores: Float32Array; jointScores: Float32Array } {
  const frameScores = new Float32Array(frames);
  const jointScores = new Float32Array(frames * J);
  for (let f = 0; f < frames; f++) {
    const base = f * J * 3;
    const hx = positions[base + HIPS * 3]!;
    const hy = positions[base + HIPS * 3 + 1]!;
    const hz = positions[base + HIPS * 3 + 2]!;
    for (let j = 0; j < J; j++) {
      const d = Math.hypot(positions[base + j * 3]! - hx, positions[base + j * 3 + 1]! - hy, positions[base + j * 3 + 2]! - hz);
      jointScores[f * J + j] = j === MARKER ? d : d / 10;
    }
    frameScores[f] = jointScores[f * J + MARKER]!;
  }
  return { frameScores, jointScores };
}

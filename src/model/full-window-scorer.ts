/**
 * The naive streaming strategy: every call re-scores each avatar's whole recent window
 * (up to windowFrames frames) offline and keeps the scores of the new frames. Exact with
 * respect to the offline path at the window's newest end, but its cost per call grows with
 * the window, not with the new frames; the benchmark runs it side by side with the
 * incremental scorer to measure the difference.
 */
import { createMotion } from './motion.js';
import { PositionHistory } from './position-history.js';
import type { MotionScorer } from './scorer.js';
import { CANONICAL_JOINTS } from './skeleton.js';
import type { AvatarFrames, AvatarScores, StreamingScorer } from './streaming-scorer.js';
import type { Thresholds } from './types.js';

const J = CANONICAL_JOINTS.length;

export class FullWindowScorer implements StreamingScorer {
  readonly jointNames = CANONICAL_JOINTS;
  readonly fps: number;
  readonly windowFrames: number;
  private readonly histories = new Map<string, PositionHistory>();

  constructor(
    private readonly scorer: MotionScorer,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    this.fps = scorer.fps;
    this.windowFrames = scorer.windowFrames;
  }

  get thresholds(): Thresholds {
    return this.scorer.thresholds;
  }

  async scoreNewFrames(batch: readonly AvatarFrames[]): Promise<AvatarScores[]> {
    const seen = new Set<string>();
    const windows = batch.map((entry) => {
      if (seen.has(entry.avatar)) throw new Error(`avatar '${entry.avatar}' appears twice in one batch`);
      seen.add(entry.avatar);
      if (entry.positions.length !== entry.frames * J * 3) {
        throw new Error(`avatar '${entry.avatar}': ${entry.positions.length} numbers for ${entry.frames} frames of ${J} joints`);
      }
      let history = this.histories.get(entry.avatar);
      if (!history) {
        history = new PositionHistory(this.windowFrames);
        this.histories.set(entry.avatar, history);
      }
      history.append(entry.positions, entry.frames);
      return history;
    });
    // The offline scorer needs two frames; a lone first frame waits for company.
    const scorable = windows.map((h) => h.frames >= 2);
    const motions = windows.filter((_, i) => scorable[i]).map((h) => createMotion(this.fps, CANONICAL_JOINTS, h.snapshot()));
    const scored = motions.length > 0 ? await this.scorer.scoreWindows(motions) : [];
    let next = 0;
    return batch.map((entry, i) => {
      const n = entry.frames;
      if (!scorable[i]) return { avatar: entry.avatar, frameScores: new Float32Array(n), jointScores: new Float32Array(n * J) };
      const { frameScores, jointScores } = scored[next++]!;
      const T = frameScores.length;
      const fresh = Math.min(n, T);
      // New frames older than the window (a burst longer than it) get no score of their own.
      const frameOut = new Float32Array(n);
      const jointOut = new Float32Array(n * J);
      frameOut.set(frameScores.subarray(T - fresh), n - fresh);
      jointOut.set(jointScores.subarray((T - fresh) * J), (n - fresh) * J);
      return { avatar: entry.avatar, frameScores: frameOut, jointScores: jointOut };
    });
  }

  forget(avatars: readonly string[]): void {
    for (const avatar of avatars) this.histories.delete(avatar);
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

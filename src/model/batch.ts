/** Packing variable-length feature windows into one padded batch (pure). */
import { FEATURE_SIZE } from './normalise.js';
import type { WindowBatch } from './mae.js';

/** A window of standardised features, frames x FEATURE_SIZE. */
export interface FeatureWindow {
  readonly frames: number;
  readonly features: Float32Array;
}

/**
 * Pads windows to the longest one with zeros and marks real frames in `valid`:
 * short clips are padded and masked out of attention, never repeated (repetition
 * would fake motion the avatar never made).
 */
export function packBatch(windows: readonly FeatureWindow[]): WindowBatch {
  if (windows.length === 0) throw new Error('cannot pack an empty batch');
  const frames = Math.max(...windows.map((w) => w.frames));
  const features = new Float32Array(windows.length * frames * FEATURE_SIZE);
  const valid = new Float32Array(windows.length * frames);
  windows.forEach((w, b) => {
    features.set(w.features.subarray(0, w.frames * FEATURE_SIZE), b * frames * FEATURE_SIZE);
    valid.fill(1, b * frames, b * frames + w.frames);
  });
  return { batch: windows.length, frames, features, valid };
}

/**
 * Covers a clip of `total` frames with windows of at most `size` frames, overlapping by
 * half. Each frame is owned by the window in which it sits farthest from an edge, so
 * scores never come from a window's edge when a better-placed window exists.
 */
export function windowPlan(total: number, size: number): { starts: number[]; owner: Int32Array } {
  if (total <= size) return { starts: [0], owner: new Int32Array(total) };
  const hop = Math.max(1, Math.floor(size / 2));
  const starts: number[] = [];
  for (let s = 0; ; s += hop) {
    if (s + size >= total) {
      starts.push(total - size);
      break;
    }
    starts.push(s);
  }
  const owner = new Int32Array(total);
  for (let t = 0; t < total; t++) {
    let best = 0;
    let bestMargin = -Infinity;
    starts.forEach((s, w) => {
      if (t < s || t >= s + size) return;
      const margin = Math.min(t - s, s + size - 1 - t);
      if (margin > bestMargin) {
        bestMargin = margin;
        best = w;
      }
    });
    owner[t] = best;
  }
  return { starts, owner };
}

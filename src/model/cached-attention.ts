/**
 * Causal local attention of a stream's NEW frames over its cached past, in plain JS.
 *
 * A streaming step has a few new frames per stream, each attending to itself and the
 * `radius` frames before it: 2 (radius+1) d multiply-adds per frame, a few percent of the
 * dense layers' work. As tensor ops on wasm it cost about as much time as those layers
 * (broadcast products and per-head sums have no fast kernel), every call uploaded every
 * stream's cached keys and values, and one avatar with a backlog padded every stream to
 * its length. Here the cache never leaves JS, rows are packed without padding, and only
 * the new frames' queries, keys and values come back from the dense layer that made them.
 * Pure apart from the caches it is given to advance.
 */

const LOG2E = Math.LOG2E;
const LN2 = Math.LN2;
/** 2^n for n in [-126, 0]. */
const POW2 = Float64Array.from({ length: 127 }, (_, i) => Math.pow(2, -i));

/**
 * e^x for x <= 0, to about 1e-7 relative (float32 precision); cheaper than Math.exp in the
 * softmax, which calls it for every score. x = n ln2 + y with |y| <= ln2/2, then a degree-6
 * Taylor polynomial for e^y.
 */
export function expNonPositive(x: number): number {
  if (!(x > -87)) return 0; // below float32's range (and NaN)
  const n = Math.round(x * LOG2E);
  const y = x - n * LN2;
  const p = 1 + y * (1 + y * (1 / 2 + y * (1 / 6 + y * (1 / 24 + y * (1 / 120 + y / 720)))));
  return p * POW2[-n]!;
}

/** Keys and values of one stream's last `radius` frames, per encoder layer (a ring: frame t in slot t mod radius). */
export class StreamCache {
  /** Frames this stream has been given so far (the absolute index of its next frame). */
  framesSeen = 0;
  readonly keys: Float32Array[];
  readonly values: Float32Array[];

  constructor(
    layers: number,
    readonly radius: number,
    readonly d: number,
  ) {
    this.keys = Array.from({ length: layers }, () => new Float32Array(radius * d));
    this.values = Array.from({ length: layers }, () => new Float32Array(radius * d));
  }
}

/** One stream's rows in a step: `frames` consecutive rows from `rowStart`. */
export interface StreamRows {
  readonly cache: StreamCache;
  readonly rowStart: number;
  readonly frames: number;
}

export interface AttentionLayout {
  readonly d: number;
  readonly heads: number;
  readonly radius: number;
  readonly layer: number;
  /**
   * Learned bias per head and offset, heads x (radius+1): offset o looks back radius-o
   * frames (the layout of the layer's `relative` parameter).
   */
  readonly relative: Float32Array;
}

/**
 * Attention context of every new row, rows x d, from qkv (rows x 3d: query | key | value,
 * as the layer's fused projection gives them; queries not yet scaled). Frame t attends to
 * frames max(0, t-radius)..t of its own stream: new ones from qkv, older ones from the
 * cache. Then each stream's cache takes its new keys and values.
 */
export function attendCached(qkv: Float32Array, streams: readonly StreamRows[], layout: AttentionLayout, out: Float32Array): void {
  const { d, heads: H, radius: r, layer, relative } = layout;
  const dh = d / H;
  const scale = 1 / Math.sqrt(dh);
  const stride = 3 * d;
  const offsets = r + 1;
  const most = streams.reduce((m, s) => Math.max(m, s.frames), 0);
  // One stream's keys and values, oldest first: r cached rows, then its new rows. Copying
  // them into one contiguous block keeps the inner loops plain (and fast in V8).
  const windowKeys = new Float32Array((r + most) * d);
  const windowValues = new Float32Array((r + most) * d);
  const scores = new Float64Array(H * offsets);
  const acc = new Float64Array(d);
  const rowOf = new Int32Array(offsets);
  for (const stream of streams) {
    const { cache, rowStart, frames } = stream;
    const first = cache.framesSeen;
    const cachedKeys = cache.keys[layer]!;
    const cachedValues = cache.values[layer]!;
    // Rows 0..r-1: the cache as it lies (frame f in row f mod r); rows r+q: the new frames.
    windowKeys.set(cachedKeys);
    windowValues.set(cachedValues);
    for (let q = 0; q < frames; q++) {
      const from = (rowStart + q) * stride;
      const to = (r + q) * d;
      for (let c = 0; c < d; c++) {
        windowKeys[to + c] = qkv[from + d + c]!;
        windowValues[to + c] = qkv[from + 2 * d + c]!;
      }
    }
    for (let q = 0; q < frames; q++) {
      const row = rowStart + q;
      const span = Math.min(r, first + q) + 1; // frames t-span+1..t, newest last
      // Window row of the frame `back` frames before this one.
      for (let back = 0; back < span; back++) rowOf[back] = back <= q ? r + q - back : (first + q - back) % r;
      const qAt = row * stride;
      // Scores of every head, one pass over each key row.
      for (let w = 0; w < span; w++) {
        const k = rowOf[span - 1 - w]! * d;
        for (let h = 0; h < H; h++) {
          const hd = h * dh;
          let dot = 0;
          for (let i = hd; i < hd + dh; i++) dot += qkv[qAt + i]! * windowKeys[k + i]!;
          scores[h * offsets + w] = dot * scale + relative[h * offsets + r - (span - 1 - w)]!;
        }
      }
      acc.fill(0);
      for (let h = 0; h < H; h++) {
        const at = h * offsets;
        let max = -Infinity;
        for (let w = 0; w < span; w++) max = Math.max(max, scores[at + w]!);
        let sum = 0;
        for (let w = 0; w < span; w++) {
          const e = expNonPositive(scores[at + w]! - max);
          scores[at + w] = e;
          sum += e;
        }
        for (let w = 0; w < span; w++) scores[at + w]! /= sum;
      }
      // Weighted values, one pass over each value row.
      for (let w = 0; w < span; w++) {
        const v = rowOf[span - 1 - w]! * d;
        for (let h = 0; h < H; h++) {
          const weight = scores[h * offsets + w]!;
          const hd = h * dh;
          for (let i = hd; i < hd + dh; i++) acc[i]! += weight * windowValues[v + i]!;
        }
      }
      const o = row * d;
      for (let i = 0; i < d; i++) out[o + i] = acc[i]!;
    }
    // Only now: a new frame's slot may hold a cached frame that earlier queries needed.
    for (let q = Math.max(0, frames - r); q < frames; q++) {
      const slot = ((first + q) % r) * d;
      cachedKeys.set(windowKeys.subarray((r + q) * d, (r + q + 1) * d), slot);
      cachedValues.set(windowValues.subarray((r + q) * d, (r + q + 1) * d), slot);
    }
  }
}

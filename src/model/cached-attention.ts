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
  if (dh % 4 !== 0) throw new Error(`attendCached: head width ${dh} is not a multiple of 4`);
  const scale = 1 / Math.sqrt(dh);
  const stride = 3 * d;
  const offsets = r + 1;
  // Scores, then weights, of every head over the query's span: heads x (radius+1).
  const weights = new Float64Array(H * offsets);
  const maxima = new Float64Array(H);
  const query = new Float64Array(d);
  const acc = new Float64Array(d);
  // Where each frame of a query's span lies, oldest first: a new frame's key in qkv (its
  // value d further on), or a cached frame's slot in the cache's keys (and values). Reading
  // them in place spares copying every stream's cache into one block per layer.
  const isNew = new Uint8Array(offsets);
  const keyAt = new Int32Array(offsets);
  for (const stream of streams) {
    const { cache, rowStart, frames } = stream;
    const first = cache.framesSeen;
    const cachedKeys = cache.keys[layer]!;
    const cachedValues = cache.values[layer]!;
    for (let q = 0; q < frames; q++) {
      const row = rowStart + q;
      const span = Math.min(r, first + q) + 1; // frames t-span+1..t, newest last
      for (let w = 0; w < span; w++) {
        const back = span - 1 - w;
        if (back <= q) {
          isNew[w] = 1;
          keyAt[w] = (row - back) * stride + d;
        } else {
          isNew[w] = 0;
          keyAt[w] = ((first + q - back) % r) * d;
        }
      }
      const qAt = row * stride;
      for (let i = 0; i < d; i++) query[i] = qkv[qAt + i]! * scale;
      // Every head's scores in one pass over each key row; four partial sums keep V8's
      // loop short and its multiplies independent.
      maxima.fill(-Infinity);
      for (let w = 0; w < span; w++) {
        const keys = isNew[w] ? qkv : cachedKeys;
        let k = keyAt[w]!;
        for (let h = 0, hd = 0; h < H; h++, hd += dh) {
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let i = hd; i < hd + dh; i += 4, k += 4) {
            s0 += query[i]! * keys[k]!;
            s1 += query[i + 1]! * keys[k + 1]!;
            s2 += query[i + 2]! * keys[k + 2]!;
            s3 += query[i + 3]! * keys[k + 3]!;
          }
          const score = s0 + s1 + s2 + s3 + relative[h * offsets + r - span + 1 + w]!;
          weights[h * offsets + w] = score;
          if (score > maxima[h]!) maxima[h] = score;
        }
      }
      for (let h = 0; h < H; h++) {
        const at = h * offsets;
        const max = maxima[h]!;
        let sum = 0;
        for (let w = 0; w < span; w++) {
          const e = expNonPositive(weights[at + w]! - max);
          weights[at + w] = e;
          sum += e;
        }
        const inverse = 1 / sum;
        for (let w = 0; w < span; w++) weights[at + w]! *= inverse;
      }
      // Weighted values, one pass over each value row.
      acc.fill(0);
      for (let w = 0; w < span; w++) {
        const fresh = isNew[w] === 1;
        const values = fresh ? qkv : cachedValues;
        let v = keyAt[w]! + (fresh ? d : 0);
        for (let h = 0, hd = 0; h < H; h++, hd += dh) {
          const weight = weights[h * offsets + w]!;
          for (let i = hd; i < hd + dh; i += 4, v += 4) {
            acc[i]! += weight * values[v]!;
            acc[i + 1]! += weight * values[v + 1]!;
            acc[i + 2]! += weight * values[v + 2]!;
            acc[i + 3]! += weight * values[v + 3]!;
          }
        }
      }
      const o = row * d;
      for (let i = 0; i < d; i++) out[o + i] = acc[i]!;
    }
    // Only now: a new frame's slot may hold a cached frame that earlier queries needed.
    for (let q = Math.max(0, frames - r); q < frames; q++) {
      const slot = ((first + q) % r) * d;
      const from = (rowStart + q) * stride;
      cachedKeys.set(qkv.subarray(from + d, from + 2 * d), slot);
      cachedValues.set(qkv.subarray(from + 2 * d, from + 3 * d), slot);
    }
  }
}

import { describe, expect, it } from 'vitest';
import { attendCached, expNonPositive, StreamCache } from '../src/model/cached-attention.js';

/** Plain causal local attention over a whole stream (the reference): rows x d from rows x 3d. */
function reference(qkv: Float32Array, rows: number, d: number, heads: number, radius: number, relative: Float32Array): Float64Array {
  const dh = d / heads;
  const out = new Float64Array(rows * d);
  for (let t = 0; t < rows; t++) {
    for (let h = 0; h < heads; h++) {
      const scores: number[] = [];
      for (let back = 0; back <= Math.min(radius, t); back++) {
        let dot = 0;
        for (let i = 0; i < dh; i++) dot += qkv[t * 3 * d + h * dh + i]! * qkv[(t - back) * 3 * d + d + h * dh + i]!;
        scores.push(dot / Math.sqrt(dh) + relative[h * (radius + 1) + radius - back]!);
      }
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let back = 0; back < e.length; back++) {
        for (let i = 0; i < dh; i++) out[t * d + h * dh + i]! += (e[back]! / sum) * qkv[(t - back) * 3 * d + 2 * d + h * dh + i]!;
      }
    }
  }
  return out;
}

describe('cached attention', () => {
  it('expNonPositive is e^x to float32 precision, and 0 far below', () => {
    for (let x = 0; x > -80; x -= 0.0137) expect(Math.abs(expNonPositive(x) / Math.exp(x) - 1)).toBeLessThan(2e-7);
    expect(expNonPositive(-1000)).toBe(0);
    expect(expNonPositive(Number.NaN)).toBe(0);
  });

  it('gives whole-stream causal attention however the stream is cut into steps, streams side by side', () => {
    const d = 8;
    const heads = 2;
    const radius = 3;
    const layers = 2;
    let s = 9;
    const random = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
    const relative = Float32Array.from({ length: heads * (radius + 1) }, random);
    const lengths = [11, 7];
    const streams = lengths.map((rows) => Float32Array.from({ length: rows * 3 * d }, random));
    const expected = streams.map((qkv, i) => reference(qkv, lengths[i]!, d, heads, radius, relative));
    for (const steps of [[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [2, 5, 4], [11], [4, 1, 6]]) {
      const caches = lengths.map(() => new StreamCache(layers, radius, d));
      const got = lengths.map((rows) => new Float64Array(rows * d));
      let done = [0, 0];
      for (const step of steps) {
        // Both streams in one call, packed: stream 0's rows then stream 1's (which may have fewer left).
        const take = lengths.map((rows, i) => Math.min(step, rows - done[i]!));
        const qkv = new Float32Array((take[0]! + take[1]!) * 3 * d);
        qkv.set(streams[0]!.subarray(done[0]! * 3 * d, (done[0]! + take[0]!) * 3 * d), 0);
        qkv.set(streams[1]!.subarray(done[1]! * 3 * d, (done[1]! + take[1]!) * 3 * d), take[0]! * 3 * d);
        const rows = [
          { cache: caches[0]!, rowStart: 0, frames: take[0]! },
          { cache: caches[1]!, rowStart: take[0]!, frames: take[1]! },
        ];
        for (let layer = 0; layer < layers; layer++) {
          const out = new Float32Array((take[0]! + take[1]!) * d);
          attendCached(qkv, rows, { d, heads, radius, layer, relative }, out);
          if (layer === 1) {
            got[0]!.set(out.subarray(0, take[0]! * d), done[0]! * d);
            got[1]!.set(out.subarray(take[0]! * d), done[1]! * d);
          }
        }
        caches.forEach((c, i) => (c.framesSeen += take[i]!));
        done = done.map((n, i) => n + take[i]!);
      }
      for (let i = 0; i < 2; i++) for (let k = 0; k < expected[i]!.length; k++) expect(got[i]![k]).toBeCloseTo(expected[i]![k]!, 5);
    }
  });
});

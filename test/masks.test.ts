import { describe, expect, it } from 'vitest';
import { TOKEN_DEPTH, carryRotatingErrors, scoringCellMask, scoringMaskGroups, trainingMask } from '../src/model/masks.js';
import { ROOT_TOKEN, TOKEN_COUNT } from '../src/model/normalise.js';
import { seededRandom } from '../src/model/random.js';
import { PARENT_INDEX } from '../src/model/skeleton.js';

describe('masks', () => {
  it('scoring groups hide every token exactly once', () => {
    for (const passes of [2, 3, 4]) {
      const groups = scoringMaskGroups(passes);
      for (let token = 0; token < TOKEN_COUNT; token++) expect(groups.reduce((s, g) => s + g[token]!, 0)).toBe(1);
    }
  });

  it('with three passes, a hidden joint always keeps its parent visible', () => {
    const groups = scoringMaskGroups(3);
    for (const group of groups) {
      for (let token = 0; token < TOKEN_COUNT; token++) {
        if (!group[token]) continue;
        const parent = token === ROOT_TOKEN ? 0 : PARENT_INDEX[token]!;
        if (parent >= 0) expect(group[parent]).toBe(0);
      }
    }
    expect(TOKEN_DEPTH[0]).toBe(0);
  });

  it('rejects fewer than two passes', () => {
    expect(() => scoringMaskGroups(1)).toThrow(/at least 2/);
  });

  it('training masks are 0/1 and hide about rho of the cells', () => {
    const random = seededRandom(3);
    let hidden = 0;
    let cells = 0;
    let other = 0;
    for (let i = 0; i < 400; i++) {
      const mask = trainingMask(random, 50, 0.3);
      for (const v of mask) {
        if (v !== 0 && v !== 1) other++;
        hidden += v;
      }
      cells += mask.length;
    }
    expect(other).toBe(0);
    expect(hidden / cells).toBeGreaterThan(0.27);
    expect(hidden / cells).toBeLessThan(0.33);
  });

  it('rotating scoring keeps the errors pass 0 measured and carries each token\'s latest to the frames between', () => {
    const K = 3;
    const frames = 10;
    const firstFrame = 7;
    const hidden = scoringCellMask(0, K, firstFrame + frames).subarray(firstFrame * TOKEN_COUNT);
    // Pass 0's errors: where it hid a cell, a value that names the cell; elsewhere 0.
    const errors = Float32Array.from(hidden, (h, i) => (h ? 1 + i : 0));
    const latest = new Float32Array(TOKEN_COUNT);
    carryRotatingErrors(errors.subarray(0, 4 * TOKEN_COUNT), 4, firstFrame, K, latest);
    carryRotatingErrors(errors.subarray(4 * TOKEN_COUNT), frames - 4, firstFrame + 4, K, latest); // split across calls
    for (let q = 0; q < frames; q++) {
      for (let token = 0; token < TOKEN_COUNT; token++) {
        // The newest frame q' <= q whose pass 0 hid this token, at most K-1 frames back.
        let from = q;
        while (from >= 0 && hidden[from * TOKEN_COUNT + token] !== 1) from--;
        const expected = from < 0 ? 0 : 1 + from * TOKEN_COUNT + token;
        if (from >= 0) expect(q - from).toBeLessThan(K);
        expect(errors[q * TOKEN_COUNT + token]).toBe(expected);
      }
    }
    // Every token was measured within the first K frames, so from then on none is 0.
    expect(Array.from(errors.subarray(K * TOKEN_COUNT)).every((v) => v > 0)).toBe(true);
  });
});

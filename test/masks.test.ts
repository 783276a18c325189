import { describe, expect, it } from 'vitest';
import { TOKEN_DEPTH, scoringMaskGroups, trainingMask } from '../src/model/masks.js';
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
});

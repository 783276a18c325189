import { describe, expect, it } from 'vitest';
import { scoreStrip } from '../src/cli/demo.js';

describe('demo score strip', () => {
  it('draws one bar per frame group and marks frames over the threshold', () => {
    const scores = Float32Array.from({ length: 120 }, (_, i) => (i >= 60 && i < 70 ? 10 : 0.5));
    const strip = scoreStrip(scores, 2, 60);
    const ESC = String.fromCharCode(27);
    const plain = strip.split(`${ESC}[31m`).join('').split(`${ESC}[0m`).join('');
    expect(plain).toHaveLength(60);
    expect(strip.split(`${ESC}[31m`).length - 1).toBe(5);
  });
});

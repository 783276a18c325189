/**
 * A small seeded PRNG (mulberry32) for the synthetic anomaly generator, the
 * benchmark and the tests: the same seed always yields the same stream, on every
 * platform (only 32-bit integer arithmetic, no Math.random).
 */

import { seededRandom } from '../model/random.js';

export interface Rng {
  /** The seed this generator started from. */
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [a, b). */
  uniform(a: number, b: number): number;
  /** Uniform integer in [a, b], both ends included. */
  int(a: number, b: number): number;
  /** Gaussian with the given mean and standard deviation (Box-Muller). */
  normal(mean?: number, std?: number): number;
  /** True with probability p. */
  bool(p?: number): boolean;
  /** One element, uniformly; throws on an empty array. */
  pick<T>(items: readonly T[]): T;
  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[];
  /** A new generator seeded from this one: an independent, reproducible sub-stream. */
  fork(): Rng;
}

/** Largest seed int() hands out for sub-streams (fits a 31-bit positive integer). */
export const MAX_SEED = 0x7fffffff;

/** Scrambles a number into a 32-bit state so nearby seeds (0, 1, 2) give unrelated streams. */
function mixSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  // Fold the fractional part in so 0.5 and 0 differ; then a murmur3 finaliser.
  let h = (Math.trunc(seed) ^ Math.trunc((seed % 1) * 0x100000000)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function createRng(seed: number): Rng {
  const next = seededRandom(mixSeed(seed));
  let spare: number | undefined;

  const int = (a: number, b: number): number => {
    const lo = Math.ceil(Math.min(a, b));
    const hi = Math.floor(Math.max(a, b));
    if (hi < lo) throw new Error(`int(${a}, ${b}): no integer in range`);
    return lo + Math.floor(next() * (hi - lo + 1));
  };

  const rng: Rng = {
    seed,
    next,
    uniform: (a, b) => a + (b - a) * next(),
    int,
    normal(mean = 0, std = 1) {
      if (spare !== undefined) {
        const z = spare;
        spare = undefined;
        return mean + std * z;
      }
      // 1 - next() is in (0, 1], so the log is finite.
      const r = Math.sqrt(-2 * Math.log(1 - next()));
      const phi = 2 * Math.PI * next();
      spare = r * Math.sin(phi);
      return mean + std * r * Math.cos(phi);
    },
    bool: (p = 0.5) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick() from an empty array');
      return items[Math.floor(next() * items.length)] as T;
    },
    shuffle<T>(items: readonly T[]): T[] {
      const copy = items.slice();
      for (let i = copy.length - 1; i > 0; i--) {
        const k = Math.floor(next() * (i + 1));
        const tmp = copy[i] as T;
        copy[i] = copy[k] as T;
        copy[k] = tmp;
      }
      return copy;
    },
    fork: () => createRng(int(0, MAX_SEED)),
  };
  return rng;
}

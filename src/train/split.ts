/** Train/validation split by clip (pure): seeded, so a run is reproducible. */
import { seededRandom } from '../model/random.js';

export function splitByClip<T>(items: readonly T[], validationFraction: number, seed: number): { train: T[]; validation: T[] } {
  if (!(validationFraction >= 0 && validationFraction < 1)) throw new Error(`validation fraction must be in [0, 1), got ${validationFraction}`);
  const random = seededRandom(seed ^ 0x5eed);
  const order = items.map((_, i) => ({ i, key: random() })).sort((a, b) => a.key - b.key);
  const nValidation = items.length > 1 ? Math.max(1, Math.round(items.length * validationFraction)) : 0;
  const validationSet = new Set(order.slice(0, validationFraction > 0 ? nValidation : 0).map((o) => o.i));
  return {
    train: items.filter((_, i) => !validationSet.has(i)),
    validation: items.filter((_, i) => validationSet.has(i)),
  };
}

/** Fisher-Yates shuffle with the given random source; returns a new array. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

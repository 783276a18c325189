/**
 * A fixed held-out test set, chosen by a hash of the file name: the same clips on
 * every machine and every run, never trained or calibrated on, so evaluation figures
 * are honest and comparable between models.
 */
import path from 'node:path';

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** True for about `fraction` of all file names, decided by the base name alone. */
export function isHeldOut(file: string, fraction: number): boolean {
  if (fraction <= 0) return false;
  return (fnv1a(path.basename(file)) % 10_000) / 10_000 < fraction;
}

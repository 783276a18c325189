/**
 * The layout of raw clip terms (RawClipTerms): each term's name and numbers per frame, and
 * the operations that treat every term alike (slice, concatenate, build). A new term is
 * added here once, not in each place that copies terms.
 */
import { CANONICAL_JOINTS } from './skeleton.js';
import type { RawClipTerms } from './types.js';

const J = CANONICAL_JOINTS.length;

export type TermName = Exclude<keyof RawClipTerms, 'frameCount'>;

/** Numbers per frame of each term (exhaustive: a term missing here does not compile). */
export const TERM_WIDTH: Readonly<Record<TermName, number>> = {
  jointErrors: J,
  nll: 1,
  boneDeviations: J,
  limitViolations: J,
  accelerations: J,
  holds: J,
  body: 1,
};

export const TERM_NAMES = Object.keys(TERM_WIDTH) as readonly TermName[];

/** Terms of `frameCount` frames, each made by `make(name, width)`. */
export function buildTerms(frameCount: number, make: (name: TermName, width: number) => Float32Array): RawClipTerms {
  const terms = { frameCount } as { frameCount: number } & Record<TermName, Float32Array>;
  for (const name of TERM_NAMES) terms[name] = make(name, TERM_WIDTH[name]);
  return terms;
}

/** Frames [from, to) of the terms, as views (no copy). */
export function sliceTerms(terms: RawClipTerms, from: number, to: number): RawClipTerms {
  return buildTerms(to - from, (name, width) => terms[name].subarray(from * width, to * width));
}

/** Concatenates per-tick raw terms of one clip. */
export function concatTerms(parts: readonly RawClipTerms[]): RawClipTerms {
  const frameCount = parts.reduce((s, p) => s + p.frameCount, 0);
  return buildTerms(frameCount, (name, width) => {
    const out = new Float32Array(frameCount * width);
    let at = 0;
    for (const p of parts) {
      out.set(p[name], at);
      at += p.frameCount * width;
    }
    return out;
  });
}

/** The terms' buffers, to transfer between threads. */
export function termBuffers(terms: RawClipTerms): ArrayBuffer[] {
  return TERM_NAMES.map((name) => terms[name].buffer as ArrayBuffer);
}

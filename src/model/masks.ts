/**
 * Joint masks as 0/1 arrays (never gather: its gradient throws on wasm).
 *
 * Training mixes two kinds: whole tokens hidden across the window (the model must
 * infer a joint from its kinematic neighbours) and scattered (frame, token) cells
 * (it must also use the joint's own past and future). Scoring uses a few complementary
 * token groups, interleaved along each chain by depth, so every joint is scored while
 * hidden and its parent and child stay visible: reconstruction is then a kinematic
 * prediction, not a copy of the input.
 */
import { PARENT_INDEX } from './skeleton.js';
import { ROOT_TOKEN, TOKEN_COUNT } from './normalise.js';

/** Depth of each token in the kinematic tree; the Root token hangs below the Hips. */
export const TOKEN_DEPTH: readonly number[] = Array.from({ length: TOKEN_COUNT }, (_, token) => {
  if (token === ROOT_TOKEN) return 1;
  let depth = 0;
  for (let j = PARENT_INDEX[token]!; j >= 0; j = PARENT_INDEX[j]!) depth++;
  return depth;
});

/** groups[k][token] = 1 when the token is hidden in scoring pass k; each token hidden exactly once. */
export function scoringMaskGroups(passes: number): Uint8Array[] {
  if (!Number.isInteger(passes) || passes < 2) throw new Error(`scoring needs at least 2 mask passes, got ${passes}`);
  return Array.from({ length: passes }, (_, k) => Uint8Array.from(TOKEN_DEPTH, (depth) => (depth % passes === k ? 1 : 0)));
}

/**
 * One training mask for a window, frames x TOKEN_COUNT (1 = hidden). Half the windows hide
 * whole tokens, half hide scattered cells; either way about `ratio` of the cells.
 */
export function trainingMask(random: () => number, frames: number, ratio: number): Float32Array {
  const mask = new Float32Array(frames * TOKEN_COUNT);
  if (random() < 0.5) {
    for (let token = 0; token < TOKEN_COUNT; token++) {
      if (random() < ratio) for (let t = 0; t < frames; t++) mask[t * TOKEN_COUNT + token] = 1;
    }
  } else {
    for (let i = 0; i < mask.length; i++) if (random() < ratio) mask[i] = 1;
  }
  return mask;
}

/**
 * Scoring pass k hides cell (t, token) when (t + depth(token)) mod passes = k: every cell
 * is hidden once, and a hidden cell keeps the same joint in the neighbouring frames and
 * its parent and child in the same frame visible. Reconstruction is then local kinematic
 * and temporal consistency, which any human motion has, familiar or not.
 */
export function scoringCellMask(pass: number, passes: number, frames: number): Float32Array {
  const mask = new Float32Array(frames * TOKEN_COUNT);
  for (let t = 0; t < frames; t++) {
    for (let token = 0; token < TOKEN_COUNT; token++) {
      if (hidesCell(pass, passes, t, token)) mask[t * TOKEN_COUNT + token] = 1;
    }
  }
  return mask;
}

/** Whether scoring pass `pass` of `passes` hides token `token` in frame t (as scoringCellMask). */
export function hidesCell(pass: number, passes: number, t: number, token: number): boolean {
  return (t + TOKEN_DEPTH[token]!) % passes === pass;
}

/**
 * Rotating single-pass scoring (ScoringConfig.streamingPasses 'rotating'): only pass 0 runs,
 * so frame t has errors for the tokens pass 0 hides in it and none for the others. Fills
 * those with each token's latest error from a frame that hid it (at most passes-1 frames
 * old; 0 before the first), in place. tokenErrors: frames x TOKEN_COUNT for frames
 * firstFrame.., as pass 0 gave them (0 where not hidden); latest: TOKEN_COUNT, carried from
 * call to call. Causal: a frame only borrows from earlier frames.
 */
export function carryRotatingErrors(tokenErrors: Float32Array, frames: number, firstFrame: number, passes: number, latest: Float32Array): void {
  for (let q = 0; q < frames; q++) {
    const row = q * TOKEN_COUNT;
    for (let token = 0; token < TOKEN_COUNT; token++) {
      if (hidesCell(0, passes, firstFrame + q, token)) latest[token] = tokenErrors[row + token]!;
      else tokenErrors[row + token] = latest[token]!;
    }
  }
}

/**
 * Edge correction (pure). A hidden joint near a window's start or end has context on one
 * side only, so the model reconstructs it worse there even in normal motion (measured:
 * 4-5x the mid-window error at frame 0). Calibrated on normal data, the inflation is
 * divided out, so edges are judged like the middle. Streaming needs this most: the newest
 * frame always sits at the window's end.
 */
import { median } from './stats.js';
import type { EdgeProfile, RawClipTerms } from './types.js';

/** Frames from each edge with their own calibration (covers the receptive field of the CPU presets). */
export const EDGE_FRAMES = 32;

function frameMeanError(terms: RawClipTerms, t: number, joints: number): number {
  let s = 0;
  for (let j = 0; j < joints; j++) s += terms.jointErrors[t * joints + j]!;
  return s / joints;
}

export function fitEdgeProfile(clips: readonly RawClipTerms[], joints: number): EdgeProfile {
  const middleError: number[] = [];
  const middleNll: number[] = [];
  const start = Array.from({ length: EDGE_FRAMES }, () => ({ error: [] as number[], nll: [] as number[] }));
  const end = Array.from({ length: EDGE_FRAMES }, () => ({ error: [] as number[], nll: [] as number[] }));
  for (const clip of clips) {
    const T = clip.frameCount;
    for (let t = 0; t < T; t++) {
      const fromStart = t;
      const fromEnd = T - 1 - t;
      const error = frameMeanError(clip, t, joints);
      if (fromStart >= EDGE_FRAMES && fromEnd >= EDGE_FRAMES) {
        middleError.push(error);
        middleNll.push(clip.nll[t]!);
      } else if (fromStart <= fromEnd) {
        start[fromStart]!.error.push(error);
        start[fromStart]!.nll.push(clip.nll[t]!);
      } else {
        end[fromEnd]!.error.push(error);
        end[fromEnd]!.nll.push(clip.nll[t]!);
      }
    }
  }
  const baseError = median(middleError);
  const baseNll = median(middleNll);
  // No evidence (too few clips reach the middle or an edge distance): no correction.
  const factor = (values: number[]): number => (values.length >= 5 && baseError > 0 ? Math.max(1, median(values) / baseError) : 1);
  const offset = (values: number[]): number => (values.length >= 5 && Number.isFinite(baseNll) ? Math.max(0, median(values) - baseNll) : 0);
  return {
    startErrorFactor: start.map((s) => factor(s.error)),
    endErrorFactor: end.map((s) => factor(s.error)),
    startNllOffset: start.map((s) => offset(s.nll)),
    endNllOffset: end.map((s) => offset(s.nll)),
  };
}

/** Terms with the normal edge inflation divided out (a new object; the input is untouched). */
export function correctEdges(terms: RawClipTerms, profile: EdgeProfile, joints: number): RawClipTerms {
  const T = terms.frameCount;
  const jointErrors = terms.jointErrors.slice();
  const nll = terms.nll.slice();
  for (let t = 0; t < T; t++) {
    const fromStart = t;
    const fromEnd = T - 1 - t;
    let factor = 1;
    let offset = 0;
    if (fromStart < EDGE_FRAMES && fromStart <= fromEnd) {
      factor = profile.startErrorFactor[fromStart] ?? 1;
      offset = profile.startNllOffset[fromStart] ?? 0;
    } else if (fromEnd < EDGE_FRAMES) {
      factor = profile.endErrorFactor[fromEnd] ?? 1;
      offset = profile.endNllOffset[fromEnd] ?? 0;
    }
    if (factor !== 1) for (let j = 0; j < joints; j++) jointErrors[t * joints + j] = jointErrors[t * joints + j]! / factor;
    nll[t] = nll[t]! - offset;
  }
  return { ...terms, jointErrors, nll };
}

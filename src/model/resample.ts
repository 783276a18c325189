import type { Motion } from './motion.js';

/** Frames in a clip of `frameCount` frames at `sourceFps` once resampled to `targetFps` (same duration). */
export function resampledFrameCount(frameCount: number, sourceFps: number, targetFps: number): number {
  if (frameCount <= 1) return frameCount;
  // The epsilon keeps exact ratios (e.g. 24 -> 30 on 5 frames = 5.0) from flooring down on rounding error.
  return Math.floor(((frameCount - 1) * targetFps) / sourceFps + 1e-9) + 1;
}

/**
 * Resamples by linear interpolation in time: output frame k sits at k / targetFps seconds.
 * Equal rates return the input unchanged (same object, same data).
 */
export function resampleMotion(motion: Motion, targetFps: number): Motion {
  if (!(targetFps > 0) || !Number.isFinite(targetFps)) throw new Error(`target fps must be positive, got ${targetFps}`);
  if (targetFps === motion.fps) return motion;

  const stride = motion.jointNames.length * 3;
  const source = motion.positions;
  const lastFrame = motion.frameCount - 1;
  const outFrames = resampledFrameCount(motion.frameCount, motion.fps, targetFps);
  const out = new Float32Array(outFrames * stride);
  const step = motion.fps / targetFps;
  for (let k = 0; k < outFrames; k++) {
    const at = k * step;
    const i0 = Math.min(Math.floor(at + 1e-9), lastFrame);
    const i1 = Math.min(i0 + 1, lastFrame);
    const w = i1 === i0 ? 0 : Math.max(0, at - i0);
    const a = i0 * stride;
    const b = i1 * stride;
    const o = k * stride;
    for (let d = 0; d < stride; d++) {
      const va = source[a + d]!;
      out[o + d] = va + (source[b + d]! - va) * w;
    }
  }
  return { fps: targetFps, jointNames: motion.jointNames, frameCount: outFrames, positions: out };
}

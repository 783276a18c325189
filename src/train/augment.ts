/**
 * Training augmentations that stay inside normal human motion: left/right mirroring
 * (a mirrored walk is still a walk) and tempo changes (people move faster and slower
 * than the ten recorded motions). Both widen "normal" so that unfamiliar-but-human
 * motion is not taken for an anomaly.
 */
import { CHANNELS, FEATURE_SIZE, ROOT_TOKEN, TOKEN_COUNT } from '../model/normalise.js';
import { createMotion, type Motion } from '../model/motion.js';
import { resampleMotion } from '../model/resample.js';
import { CANONICAL_JOINTS, MIRROR_JOINT, jointIndex } from '../model/skeleton.js';

const MIRROR_TOKEN: readonly number[] = Array.from({ length: TOKEN_COUNT }, (_, token) =>
  token === ROOT_TOKEN ? ROOT_TOKEN : jointIndex(MIRROR_JOINT[CANONICAL_JOINTS[token]!]),
);

/** Mirrors unstandardised features across the body's sagittal plane (x -> -x, left <-> right). */
export function mirrorFeatures(features: Float32Array, frames: number): Float32Array {
  const out = new Float32Array(frames * FEATURE_SIZE);
  for (let t = 0; t < frames; t++) {
    const o = t * FEATURE_SIZE;
    for (let token = 0; token < TOKEN_COUNT; token++) {
      const src = o + MIRROR_TOKEN[token]! * CHANNELS;
      const dst = o + token * CHANNELS;
      out[dst] = -features[src]!;
      out[dst + 1] = features[src + 1]!;
      out[dst + 2] = features[src + 2]!;
    }
    // Root token is [vx, yaw rate, vz]: mirroring turns left turns into right turns.
    out[o + ROOT_TOKEN * CHANNELS + 1] = -features[o + ROOT_TOKEN * CHANNELS + 1]!;
  }
  return out;
}

/** The same motion played `factor` times faster, at the original frame rate. */
export function changeTempo(motion: Motion, factor: number): Motion {
  if (factor === 1) return motion;
  return resampleMotion(createMotion(motion.fps * factor, motion.jointNames, motion.positions), motion.fps);
}

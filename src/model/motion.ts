import type { JointName } from './skeleton.js';

/**
 * A motion clip as world joint positions: the one format every part of motionguard
 * exchanges. Positions are metres, Y up, right-handed, laid out frame-major:
 * positions[(t * J + j) * 3 + axis].
 */
export interface Motion {
  readonly fps: number;
  readonly jointNames: readonly JointName[];
  readonly frameCount: number;
  readonly positions: Float32Array;
}

export function createMotion(fps: number, jointNames: readonly JointName[], positions: Float32Array): Motion {
  const stride = jointNames.length * 3;
  if (stride === 0 || positions.length % stride !== 0) {
    throw new Error(`positions length ${positions.length} is not a multiple of ${jointNames.length} joints x 3`);
  }
  if (!(fps > 0)) throw new Error(`fps must be positive, got ${fps}`);
  return { fps, jointNames, frameCount: positions.length / stride, positions };
}

/**
 * Forward kinematics: BVH channel values -> world joint positions (canonical Motion).
 *
 * Standard BVH semantics: local = T * R_ch1 * R_ch2 * R_ch3 with the rotations in the
 * order the CHANNELS line lists them, angles in degrees; world = parentWorld * local.
 * Position channels, where present, replace the OFFSET as the local translation.
 */

import type { BvhChannel, BvhClip } from './bvh.js';
import type { Motion } from './motion.js';
import { CANONICAL_JOINTS, SOURCE_MAPPINGS, guessCanonicalName } from './skeleton.js';
import type { JointMapping, JointName } from './skeleton.js';

export interface ForwardKinematicsOptions {
  /** Source units -> metres; BVH is usually centimetres. */
  readonly unitScale?: number;
}

const DEG_TO_RAD = Math.PI / 180;

/** Axis of a rotation channel: 0 = X, 1 = Y, 2 = Z. */
const ROTATION_AXIS: Partial<Record<BvhChannel, number>> = { Xrotation: 0, Yrotation: 1, Zrotation: 2 };
const POSITION_AXIS: Partial<Record<BvhChannel, number>> = { Xposition: 0, Yposition: 1, Zposition: 2 };

/**
 * Per-joint channel layout resolved once per clip, so the per-frame loop only reads
 * flat typed arrays (no string compares, no allocation).
 */
export interface FkPlan {
  readonly jointCount: number;
  readonly parentIndex: Int32Array;
  /** Static local translation (OFFSET), 3 per joint. */
  readonly offset: Float64Array;
  /** Channel index per translation axis, -1 where the OFFSET is used; 3 per joint. */
  readonly positionChannel: Int32Array;
  /** Rotation channels per joint: rotationStart[j]..rotationStart[j+1] into the two arrays below. */
  readonly rotationStart: Int32Array;
  readonly rotationChannel: Int32Array;
  readonly rotationAxis: Uint8Array;
}

export function planForwardKinematics(clip: BvhClip): FkPlan {
  const J = clip.joints.length;
  const parentIndex = new Int32Array(J);
  const offset = new Float64Array(J * 3);
  const positionChannel = new Int32Array(J * 3).fill(-1);
  const rotationStart = new Int32Array(J + 1);
  const rotationChannel: number[] = [];
  const rotationAxis: number[] = [];
  clip.joints.forEach((joint, j) => {
    if (joint.parentIndex >= j) throw new Error(`joint ${joint.name}: parent must precede child`);
    parentIndex[j] = joint.parentIndex;
    offset.set(joint.offset, j * 3);
    rotationStart[j] = rotationChannel.length;
    joint.channels.forEach((channel, k) => {
      const index = joint.channelOffset + k;
      const position = POSITION_AXIS[channel];
      const rotation = ROTATION_AXIS[channel];
      if (position !== undefined) positionChannel[j * 3 + position] = index;
      if (rotation !== undefined) {
        rotationChannel.push(index);
        rotationAxis.push(rotation);
      }
    });
  });
  rotationStart[J] = rotationChannel.length;
  return {
    jointCount: J,
    parentIndex,
    offset,
    positionChannel,
    rotationStart,
    rotationChannel: Int32Array.from(rotationChannel),
    rotationAxis: Uint8Array.from(rotationAxis),
  };
}

/**
 * World transforms of every BVH joint for one frame, written into caller-owned buffers:
 * `rotations` (9 per joint, row-major 3x3) and `positions` (3 per joint, source units).
 * `frame` holds one frame's channel values starting at `frameStart`.
 */
export function forwardKinematicsFrame(
  plan: FkPlan,
  frame: ArrayLike<number>,
  frameStart: number,
  rotations: Float64Array,
  positions: Float64Array,
): void {
  const { jointCount, parentIndex, offset, positionChannel, rotationStart, rotationChannel, rotationAxis } = plan;
  for (let j = 0; j < jointCount; j++) {
    const p = parentIndex[j]!;
    const r = j * 9;
    const o = j * 3;

    // Local translation: position channel values where present, else the OFFSET.
    const cx = positionChannel[o]!;
    const cy = positionChannel[o + 1]!;
    const cz = positionChannel[o + 2]!;
    const tx = cx >= 0 ? frame[frameStart + cx]! : offset[o]!;
    const ty = cy >= 0 ? frame[frameStart + cy]! : offset[o + 1]!;
    const tz = cz >= 0 ? frame[frameStart + cz]! : offset[o + 2]!;

    // Start from the parent's world rotation, then right-multiply each channel rotation.
    let m00 = 1, m01 = 0, m02 = 0, m10 = 0, m11 = 1, m12 = 0, m20 = 0, m21 = 0, m22 = 1;
    if (p >= 0) {
      const q = p * 9;
      m00 = rotations[q]!; m01 = rotations[q + 1]!; m02 = rotations[q + 2]!;
      m10 = rotations[q + 3]!; m11 = rotations[q + 4]!; m12 = rotations[q + 5]!;
      m20 = rotations[q + 6]!; m21 = rotations[q + 7]!; m22 = rotations[q + 8]!;
      const pp = p * 3;
      positions[o] = positions[pp]! + m00 * tx + m01 * ty + m02 * tz;
      positions[o + 1] = positions[pp + 1]! + m10 * tx + m11 * ty + m12 * tz;
      positions[o + 2] = positions[pp + 2]! + m20 * tx + m21 * ty + m22 * tz;
    } else {
      positions[o] = tx;
      positions[o + 1] = ty;
      positions[o + 2] = tz;
    }

    for (let k = rotationStart[j]!, end = rotationStart[j + 1]!; k < end; k++) {
      const angle = frame[frameStart + rotationChannel[k]!]! * DEG_TO_RAD;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const axis = rotationAxis[k]!;
      // M * R_axis only mixes the two columns orthogonal to the axis.
      if (axis === 0) {
        // Rx = [1 0 0; 0 c -s; 0 s c]
        const a0 = m01, a1 = m11, a2 = m21;
        m01 = c * a0 + s * m02; m02 = -s * a0 + c * m02;
        m11 = c * a1 + s * m12; m12 = -s * a1 + c * m12;
        m21 = c * a2 + s * m22; m22 = -s * a2 + c * m22;
      } else if (axis === 1) {
        // Ry = [c 0 s; 0 1 0; -s 0 c]
        const a0 = m00, a1 = m10, a2 = m20;
        m00 = c * a0 - s * m02; m02 = s * a0 + c * m02;
        m10 = c * a1 - s * m12; m12 = s * a1 + c * m12;
        m20 = c * a2 - s * m22; m22 = s * a2 + c * m22;
      } else {
        // Rz = [c -s 0; s c 0; 0 0 1]
        const a0 = m00, a1 = m10, a2 = m20;
        m00 = c * a0 + s * m01; m01 = -s * a0 + c * m01;
        m10 = c * a1 + s * m11; m11 = -s * a1 + c * m11;
        m20 = c * a2 + s * m21; m21 = -s * a2 + c * m21;
      }
    }
    rotations[r] = m00; rotations[r + 1] = m01; rotations[r + 2] = m02;
    rotations[r + 3] = m10; rotations[r + 4] = m11; rotations[r + 5] = m12;
    rotations[r + 6] = m20; rotations[r + 7] = m21; rotations[r + 8] = m22;
  }
}

function stripRigPrefix(name: string): string {
  return name.replace(/^.*:/, '');
}

/** Source joint index of each canonical joint (first match in declaration order), or -1. */
function canonicalSourceIndices(clip: BvhClip, mapping: JointMapping): number[] {
  const indices = CANONICAL_JOINTS.map(() => -1);
  clip.joints.forEach((joint, j) => {
    const canonical = mapping[joint.name] ?? mapping[stripRigPrefix(joint.name)];
    if (canonical === undefined) return;
    const c = CANONICAL_JOINTS.indexOf(canonical);
    if (c >= 0 && indices[c] === -1) indices[c] = j;
  });
  return indices;
}

function missingJoints(indices: readonly number[]): JointName[] {
  return CANONICAL_JOINTS.filter((_, c) => indices[c] === -1);
}

/**
 * BVH writes Frame Time rounded (0.0333333 -> 30.00003 fps); snap near-integer rates so
 * downstream code comparing fps (e.g. resampling to 30) sees exactly 30.
 */
export function fpsFromFrameTime(frameTime: number): number {
  const fps = 1 / frameTime;
  const rounded = Math.round(fps);
  return rounded > 0 && Math.abs(fps - rounded) <= 1e-4 * rounded ? rounded : fps;
}

/** Runs FK over every frame and keeps the canonical joints (CANONICAL_JOINTS order), in metres. */
export function bvhToMotion(clip: BvhClip, mapping: JointMapping, options: ForwardKinematicsOptions = {}): Motion {
  const unitScale = options.unitScale ?? 0.01;
  const sourceOf = canonicalSourceIndices(clip, mapping);
  const missing = missingJoints(sourceOf);
  if (missing.length > 0) {
    throw new Error(
      `BVH skeleton lacks canonical joints: ${missing.join(', ')} ` +
        `(source joints: ${clip.joints.map((joint) => joint.name).join(', ')})`,
    );
  }

  const plan = planForwardKinematics(clip);
  const J = CANONICAL_JOINTS.length;
  const out = new Float32Array(clip.frameCount * J * 3);
  const rotations = new Float64Array(plan.jointCount * 9);
  const world = new Float64Array(plan.jointCount * 3);
  for (let t = 0; t < clip.frameCount; t++) {
    forwardKinematicsFrame(plan, clip.data, t * clip.channelCount, rotations, world);
    const base = t * J * 3;
    for (let c = 0; c < J; c++) {
      const s = sourceOf[c]! * 3;
      out[base + c * 3] = world[s]! * unitScale;
      out[base + c * 3 + 1] = world[s + 1]! * unitScale;
      out[base + c * 3 + 2] = world[s + 2]! * unitScale;
    }
  }
  return {
    fps: fpsFromFrameTime(clip.frameTime),
    jointNames: CANONICAL_JOINTS,
    frameCount: clip.frameCount,
    positions: out,
  };
}

/**
 * Picks the first known source table (SOURCE_MAPPINGS) that covers all canonical joints,
 * falling back to a per-joint guess across all tables. The result is keyed by the clip's
 * own joint names (rig prefixes included), so it can be passed straight to bvhToMotion.
 */
export function detectMapping(clip: BvhClip): JointMapping {
  const fromTable = (table: JointMapping): Record<string, JointName> => {
    const mapping: Record<string, JointName> = {};
    for (const joint of clip.joints) {
      const canonical = table[joint.name] ?? table[stripRigPrefix(joint.name)];
      if (canonical !== undefined) mapping[joint.name] = canonical;
    }
    return mapping;
  };
  const covers = (mapping: JointMapping): boolean => missingJoints(canonicalSourceIndices(clip, mapping)).length === 0;

  for (const table of Object.values(SOURCE_MAPPINGS) as JointMapping[]) {
    const mapping = fromTable(table);
    if (covers(mapping)) return mapping;
  }
  const guessed: Record<string, JointName> = {};
  for (const joint of clip.joints) {
    const canonical = guessCanonicalName(joint.name);
    if (canonical !== undefined) guessed[joint.name] = canonical;
  }
  const missing = missingJoints(canonicalSourceIndices(clip, guessed));
  if (missing.length > 0) {
    throw new Error(
      `no known joint mapping covers this skeleton; missing canonical joints: ${missing.join(', ')} ` +
        `(source joints: ${clip.joints.map((joint) => joint.name).join(', ')})`,
    );
  }
  return guessed;
}

/**
 * Normalisation: world joint positions -> model features that do not depend on where
 * the avatar stands, which way it faces or how tall it is, yet keep pose, velocities
 * and root motion.
 *
 * Why not the paper's per-dataset z-score of raw coordinates: raw coordinates carry the
 * avatar's place in the room, its heading and its size, so a 1.9 m avatar or one facing
 * north would look anomalous. Instead, per frame:
 *  - pose: joints relative to the Hips, rotated about Y into the body's own heading
 *    (from pelvis and shoulder lines), divided by a skeleton scale measured from bone
 *    lengths (median over the window, so a short bone-stretch fault cannot hide itself);
 *  - the Hips slot carries hip height above the window's floor (where the lowest foot
 *    rests, see floorHeight), so floating/sinking stays visible;
 *  - an extra Root token carries root velocity in the heading frame and yaw rate,
 *    so walking, turning and teleports stay visible.
 * Dataset statistics (feature means, one shared scale for pose channels so errors stay
 * in body-relative physical units, per-channel scales for root motion) are fitted on
 * training data and stored with the model.
 */
import { CANONICAL_JOINTS, PARENT_INDEX, jointIndex } from './skeleton.js';
import type { Motion } from './motion.js';
import { densestRun } from './stats.js';

/** 21 joints + one Root token (root velocity x, yaw rate, root velocity z). */
export const TOKEN_COUNT = CANONICAL_JOINTS.length + 1;
export const ROOT_TOKEN = CANONICAL_JOINTS.length;
export const CHANNELS = 3;
export const FEATURE_SIZE = TOKEN_COUNT * CHANNELS;

const HIPS = jointIndex('Hips');
const L_UPLEG = jointIndex('LeftUpperLeg');
const R_UPLEG = jointIndex('RightUpperLeg');
const L_UPARM = jointIndex('LeftUpperArm');
const R_UPARM = jointIndex('RightUpperArm');
const FOOT_JOINTS = ['LeftFoot', 'RightFoot', 'LeftToes', 'RightToes'].map((n) => jointIndex(n as 'LeftFoot'));

/**
 * Bones (child joints) whose lengths, with weights, sum to the skeleton scale: the spine
 * and head, plus the mean of the two legs (about 0.9 x standing height). Bone lengths do
 * not change with pose, so the scale is the same standing, crouching or waving.
 */
const SCALE_BONES: readonly (readonly [number, number])[] = [
  ['Spine', 1],
  ['Chest', 1],
  ['Neck', 1],
  ['Head', 1],
  ['LeftLowerLeg', 0.5],
  ['LeftFoot', 0.5],
  ['RightLowerLeg', 0.5],
  ['RightFoot', 0.5],
].map(([name, weight]) => [jointIndex(name as 'Spine'), weight as number] as const);

export interface NormalisationStats {
  /** Per feature channel mean (FEATURE_SIZE). */
  readonly mean: number[];
  /** Per feature channel scale (FEATURE_SIZE); pose channels share one value. */
  readonly scale: number[];
}

export interface NormalisedClip {
  readonly frameCount: number;
  /** frameCount x FEATURE_SIZE, not yet standardised. */
  readonly features: Float32Array;
  /** Skeleton scale in metres (about 0.9 x standing height). */
  readonly skeletonScale: number;
}

function dist(p: Float32Array, a: number, b: number): number {
  const dx = p[a]! - p[b]!;
  const dy = p[a + 1]! - p[b + 1]!;
  const dz = p[a + 2]! - p[b + 2]!;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function skeletonScale(motion: Motion): number {
  const J = motion.jointNames.length;
  const p = motion.positions;
  const perFrame: number[] = [];
  for (let t = 0; t < motion.frameCount; t++) {
    let sum = 0;
    for (const [j, weight] of SCALE_BONES) {
      sum += weight * dist(p, (t * J + j) * 3, (t * J + PARENT_INDEX[j]!) * 3);
    }
    perFrame.push(sum);
  }
  const s = median(perFrame);
  if (!(s > 1e-3) || !Number.isFinite(s)) throw new Error(`degenerate skeleton: scale ${s}`);
  return s;
}

/**
 * The body's left-pointing vector in frame t, written to `out` (x, y, z): pelvis and
 * shoulder lines together, steadier than either alone. Not normalised.
 */
export function bodyLeft(p: Float32Array, J: number, t: number, out: Float64Array): Float64Array {
  const o = t * J * 3;
  for (let axis = 0; axis < 3; axis++) {
    out[axis] = p[o + L_UPLEG * 3 + axis]! - p[o + R_UPLEG * 3 + axis]! + p[o + L_UPARM * 3 + axis]! - p[o + R_UPARM * 3 + axis]!;
  }
  return out;
}

/** Yaw (radians about +Y) of the forward direction of a body whose left vector is `left`; forward maps to +Z at yaw 0. */
export function yawOfLeft(left: Float64Array): number {
  // forward = left x up, in the XZ plane: (lx,0,lz) x (0,1,0) = (-lz, 0, lx)
  return Math.atan2(-left[2]!, left[0]!);
}

const leftScratch = new Float64Array(3);

/** Yaw (radians about +Y) of the body's forward direction in frame t (see yawOfLeft). */
export function headingYaw(p: Float32Array, J: number, t: number): number {
  return yawOfLeft(bodyLeft(p, J, t, leftScratch));
}

/** An angle wrapped into [-pi, pi]. */
export function wrapAngle(a: number): number {
  return a - 2 * Math.PI * Math.round(a / (2 * Math.PI));
}

/** Width of the band of lowest-foot heights that counts as one resting level, in skeleton scales (~4 cm). */
export const FLOOR_BAND_SCALES = 0.03;

/** Height (Y) of the lowest foot joint (feet and toes) in frame t. */
export function lowestFootHeight(motion: Motion, t: number): number {
  const J = motion.jointNames.length;
  let lowest = Infinity;
  for (const j of FOOT_JOINTS) lowest = Math.min(lowest, motion.positions[(t * J + j) * 3 + 1]!);
  return lowest;
}

/** lowestFootHeight of each frame [from, to). */
export function lowestFootHeights(motion: Motion, from = 0, to = motion.frameCount): Float64Array {
  const heights = new Float64Array(to - from);
  for (let t = from; t < to; t++) heights[t - from] = lowestFootHeight(motion, t);
  return heights;
}

/** The bottom of the densest FLOOR_BAND_SCALES band of some lowest-foot heights (sorted in place). */
export function restingLevel(heights: Float64Array, scale: number): number {
  heights.sort();
  return heights[densestRun(heights, (lowest) => lowest + FLOOR_BAND_SCALES * scale).from]!;
}

/**
 * Floor estimate: the bottom of the densest ~4 cm band of the lowest foot's height over the
 * window. Whatever a body does, a foot rests on the floor for much of it, so those heights
 * pile up in one narrow band; a glitch that sinks the body gradually scatters its heights.
 * A low percentile (the 5th, until 2026-11-23) followed a sink that covered more than 5%
 * of the window down, and the clean frames then looked like floating: floatingOrSinking's
 * held-out recall 81.8% -> 96.1% offline with the band.
 */
function floorHeight(motion: Motion, scale: number): number {
  return restingLevel(lowestFootHeights(motion), scale);
}

/** Motion (canonical joints, metres) -> per-frame features. Pure. */
export function motionFeatures(motion: Motion): NormalisedClip {
  checkJoints(motion);
  if (motion.frameCount < 2) throw new Error(`need at least 2 frames, got ${motion.frameCount}`);
  const scale = skeletonScale(motion);
  return { frameCount: motion.frameCount, features: framesFeatures(motion, 0, motion.frameCount, scale, floorHeight(motion, scale)), skeletonScale: scale };
}

function checkJoints(motion: Motion): void {
  if (motion.jointNames.length !== CANONICAL_JOINTS.length) {
    throw new Error(`expected ${CANONICAL_JOINTS.length} canonical joints, got ${motion.jointNames.length}`);
  }
}

/** The window-level references features depend on: skeleton scale and floor height. */
export interface FeatureReferences {
  readonly scale: number;
  readonly floor: number;
}

export function featureReferences(motion: Motion): FeatureReferences {
  checkJoints(motion);
  const scale = skeletonScale(motion);
  return { scale, floor: floorHeight(motion, scale) };
}

/**
 * Features of frames [from, to) of a motion, (to-from) x FEATURE_SIZE, given the scale and
 * floor; root velocity uses the frame before (the streaming path computes only new frames).
 */
export function framesFeatures(motion: Motion, from: number, to: number, scale: number, floor: number): Float32Array {
  checkJoints(motion);
  const J = motion.jointNames.length;
  const T = motion.frameCount;
  const p = motion.positions;
  const out = new Float32Array((to - from) * FEATURE_SIZE);
  for (let t = from; t < to; t++) {
    const yaw = headingYaw(p, J, t);
    const c = Math.cos(-yaw);
    const s = Math.sin(-yaw);
    const base = t * J * 3;
    const hx = p[base + HIPS * 3]!;
    const hy = p[base + HIPS * 3 + 1]!;
    const hz = p[base + HIPS * 3 + 2]!;
    const o = (t - from) * FEATURE_SIZE;
    for (let j = 0; j < J; j++) {
      const dx = p[base + j * 3]! - hx;
      const dy = p[base + j * 3 + 1]! - hy;
      const dz = p[base + j * 3 + 2]! - hz;
      // Rotation about Y by -yaw: x' = c*x + s*z, z' = -s*x + c*z
      out[o + j * 3] = (c * dx + s * dz) / scale;
      out[o + j * 3 + 1] = dy / scale;
      out[o + j * 3 + 2] = (-s * dx + c * dz) / scale;
    }
    out[o + HIPS * 3 + 1] = (hy - floor) / scale;
    // Root motion: velocity of the hips in this frame's heading, body scales per second.
    // Frame 0 borrows frame 1's velocity (no fake stop at the edge); a lone frame has none.
    if (T < 2) continue;
    const cur = Math.max(t, 1);
    const a = (cur - 1) * J * 3 + HIPS * 3;
    const b = cur * J * 3 + HIPS * 3;
    const vx = (p[b]! - p[a]!) * motion.fps;
    const vz = (p[b + 2]! - p[a + 2]!) * motion.fps;
    const yawCur = cur === t ? yaw : headingYaw(p, J, cur);
    const cc = Math.cos(-yawCur);
    const ss = Math.sin(-yawCur);
    out[o + ROOT_TOKEN * 3] = (cc * vx + ss * vz) / scale;
    out[o + ROOT_TOKEN * 3 + 1] = wrapAngle(yawCur - headingYaw(p, J, cur - 1)) * motion.fps;
    out[o + ROOT_TOKEN * 3 + 2] = (-ss * vx + cc * vz) / scale;
  }
  return out;
}

/** Pose channels share one scale; the three root-motion channels have their own. */
function channelGroup(channel: number): number {
  return channel >= ROOT_TOKEN * CHANNELS ? 1 + (channel - ROOT_TOKEN * CHANNELS) : 0;
}

export function fitNormalisation(clips: readonly NormalisedClip[]): NormalisationStats {
  const sum = new Float64Array(FEATURE_SIZE);
  let n = 0;
  for (const clip of clips) {
    for (let i = 0; i < clip.features.length; i++) sum[i % FEATURE_SIZE]! += clip.features[i]!;
    n += clip.frameCount;
  }
  const mean = Array.from(sum, (s) => s / n);
  const groupSq = new Float64Array(4);
  const groupCount = new Float64Array(4);
  for (const clip of clips) {
    for (let i = 0; i < clip.features.length; i++) {
      const ch = i % FEATURE_SIZE;
      const d = clip.features[i]! - mean[ch]!;
      const g = channelGroup(ch);
      groupSq[g]! += d * d;
      groupCount[g]! += 1;
    }
  }
  const groupStd = Array.from(groupSq, (s, g) => Math.sqrt(s / Math.max(1, groupCount[g]!)) || 1);
  const scale = mean.map((_, ch) => groupStd[channelGroup(ch)]!);
  return { mean, scale };
}

/** Standardise features in place with fitted statistics. */
export function standardise(features: Float32Array, stats: NormalisationStats): Float32Array {
  for (let i = 0; i < features.length; i++) {
    const ch = i % FEATURE_SIZE;
    features[i] = (features[i]! - stats.mean[ch]!) / stats.scale[ch]!;
  }
  return features;
}

/** Motion -> standardised model input (frameCount x FEATURE_SIZE). */
export function normaliseMotion(motion: Motion, stats: NormalisationStats): Float32Array {
  return standardise(motionFeatures(motion).features, stats);
}

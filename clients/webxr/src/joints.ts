/**
 * The canonical skeleton as the browser library sees it: re-exported from the model's own
 * table (src/model/skeleton.ts), so the client and the server can never disagree on names or
 * order, plus the bones to draw and a few vector helpers the adapters share.
 */
import { CANONICAL_JOINTS, PARENT_INDEX, jointIndex, type JointName } from '../../../src/model/skeleton.js';

export { CANONICAL_JOINTS, PARENT_INDEX, jointIndex, type JointName };

/** Joints per canonical frame (21). */
export const JOINT_COUNT = CANONICAL_JOINTS.length;
/** Numbers per canonical frame: x, y, z per joint (63). */
export const FRAME_VALUES = JOINT_COUNT * 3;

/** Child-parent index pairs, one per bone (20), for drawing a skeleton. */
export const BONES: readonly (readonly [number, number])[] = PARENT_INDEX.flatMap((parent, child) => (parent < 0 ? [] : [[child, parent] as const]));

/** A mutable 3-vector; the adapters use plain tuples so they stay free of three.js at runtime. */
export type Vec3 = [number, number, number];

export interface XYZ {
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

export interface Quat extends XYZ {
  readonly w: number;
}

export function getJoint(positions: ArrayLike<number>, joint: number): Vec3 {
  return [positions[joint * 3]!, positions[joint * 3 + 1]!, positions[joint * 3 + 2]!];
}

export function setJoint(positions: Float32Array, joint: number, v: readonly number[]): void {
  positions[joint * 3] = v[0]!;
  positions[joint * 3 + 1] = v[1]!;
  positions[joint * 3 + 2] = v[2]!;
}

export const add = (a: readonly number[], b: readonly number[]): Vec3 => [a[0]! + b[0]!, a[1]! + b[1]!, a[2]! + b[2]!];
export const sub = (a: readonly number[], b: readonly number[]): Vec3 => [a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!];
export const scale = (a: readonly number[], s: number): Vec3 => [a[0]! * s, a[1]! * s, a[2]! * s];
export const dot = (a: readonly number[], b: readonly number[]): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
export const cross = (a: readonly number[], b: readonly number[]): Vec3 => [
  a[1]! * b[2]! - a[2]! * b[1]!,
  a[2]! * b[0]! - a[0]! * b[2]!,
  a[0]! * b[1]! - a[1]! * b[0]!,
];
export const length = (a: readonly number[]): number => Math.hypot(a[0]!, a[1]!, a[2]!);
export const lerp = (a: readonly number[], b: readonly number[], t: number): Vec3 => [
  a[0]! + (b[0]! - a[0]!) * t,
  a[1]! + (b[1]! - a[1]!) * t,
  a[2]! + (b[2]! - a[2]!) * t,
];

/** `a` scaled to unit length, or `fallback` when it is (nearly) zero. */
export function normalize(a: readonly number[], fallback: Vec3 = [0, 0, 1]): Vec3 {
  const n = length(a);
  return n > 1e-9 ? [a[0]! / n, a[1]! / n, a[2]! / n] : [...fallback];
}

/** v rotated by the unit quaternion q (WebXR `orientation`). */
export function rotate(q: Quat, v: readonly number[]): Vec3 {
  const u: Vec3 = [q.x, q.y, q.z];
  const t = scale(cross(u, v), 2);
  return add(add(v, scale(t, q.w)), cross(u, t));
}

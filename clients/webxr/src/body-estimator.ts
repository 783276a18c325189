/**
 * Completing a frame from what an XR headset observes. With head and hands only (the common
 * case), the torso, shoulders, elbows and legs are estimated: a standing body of a declared
 * height hangs below the head, facing where the head faces (smoothed), elbows from two-bone
 * IK between the estimated shoulder and the tracked hand, legs from two-bone IK down to feet
 * on the floor (so crouching bends the knees). Observed joints are never moved.
 *
 * What this cannot see, the detector cannot judge: estimated joints move rigidly with the
 * head and hands, so faults of the legs or the torso are invisible, and the top joints of an
 * alert that name estimated joints mean "the head or a hand moved strangely".
 */
import {
  JOINT_COUNT,
  add,
  cross,
  dot,
  getJoint,
  jointIndex,
  length,
  normalize,
  scale,
  setJoint,
  sub,
  type JointName,
  type Vec3,
} from './joints.js';

export interface BodyModelOptions {
  /** Standing height of the user, metres (default 1.70). Scales every estimated bone. */
  readonly height?: number;
  /** Floor height in the reference space (default 0: 'local-floor' / 'bounded-floor'). */
  readonly floorY?: number;
  /** 0..1: how fast the estimated body turns toward the head's heading per frame (default 0.15). */
  readonly headingFollow?: number;
}

/** Canonical skeleton proportions (src/synth/walker.ts), metres for a body 1.65 m tall. */
const REFERENCE_HEIGHT = 1.65;
const P = {
  headToNeck: 0.1,
  neckToChest: 0.2,
  chestToSpine: 0.15,
  spineToHips: 0.1,
  shoulderUp: 0.12,
  shoulderOut: 0.08,
  upperArmOut: 0.1,
  upperArm: 0.28,
  lowerArm: 0.25,
  hipOut: 0.09,
  hipDown: 0.05,
  upperLeg: 0.42,
  lowerLeg: 0.42,
  ankleHeight: 0.06,
  toesForward: 0.12,
} as const;

const UP: Vec3 = [0, 1, 0];
const idx = (name: JointName): number => jointIndex(name);

/**
 * The knee or elbow of a two-bone chain from `root` toward `target` with bone lengths a and b,
 * bent toward `pole`. Out of reach: the first bone points straight at the target.
 */
export function twoBoneJoint(root: Vec3, target: Vec3, a: number, b: number, pole: Vec3): Vec3 {
  const toTarget = sub(target, root);
  const d = length(toTarget);
  const dir = normalize(toTarget, [0, -1, 0]);
  if (d >= a + b || d < 1e-6) return add(root, scale(dir, a));
  const along = Math.max(-a, Math.min(a, (a * a - b * b + d * d) / (2 * d)));
  const height = Math.sqrt(Math.max(0, a * a - along * along));
  // The pole's component perpendicular to the chain decides the bend direction.
  let bend = sub(pole, scale(dir, dot(pole, dir)));
  if (length(bend) < 1e-6) bend = sub(UP, scale(dir, dot(UP, dir)));
  return add(add(root, scale(dir, along)), scale(normalize(bend, [0, 0, 1]), height));
}

export class BodyEstimator {
  private readonly s: number;
  private readonly floorY: number;
  private readonly follow: number;
  private heading: Vec3 | null = null;

  constructor(options: BodyModelOptions = {}) {
    const height = options.height ?? 1.7;
    if (!(height > 0.5 && height < 3)) throw new RangeError(`height must be in metres (0.5..3), got ${height}`);
    this.s = height / REFERENCE_HEIGHT;
    this.floorY = options.floorY ?? 0;
    this.follow = options.headingFollow ?? 0.15;
  }

  /** Forgets the smoothed heading (e.g. after a recentre or a new session). */
  reset(): void {
    this.heading = null;
  }

  /**
   * Fills every joint with observed[j] = 0, in place. The Head must be observed. `headForward`:
   * where the face points (world), used for the body's heading; else observed hips/shoulders or
   * the last heading are used.
   */
  complete(positions: Float32Array, observed: Uint8Array, headForward?: readonly number[]): void {
    if (positions.length !== JOINT_COUNT * 3 || observed.length !== JOINT_COUNT) throw new RangeError('complete() needs 63 positions and 21 observed flags');
    if (!observed[idx('Head')]) throw new Error('complete() needs the Head');
    const s = this.s;
    const has = (name: JointName): boolean => observed[idx(name)] === 1;
    const at = (name: JointName): Vec3 => getJoint(positions, idx(name));
    const put = (name: JointName, value: Vec3): Vec3 => {
      if (has(name)) return at(name);
      setJoint(positions, idx(name), value);
      return value;
    };

    const forward = this.updateHeading(positions, observed, headForward);
    const left = normalize(cross(UP, forward), [1, 0, 0]);

    // Torso: straight down from the head (observed joints keep their place and carry the chain).
    const head = at('Head');
    const neck = put('Neck', add(head, [0, -P.headToNeck * s, 0]));
    const chest = put('Chest', add(neck, [0, -P.neckToChest * s, 0]));
    const spine = put('Spine', add(chest, [0, -P.chestToSpine * s, 0]));
    const hips = put('Hips', add(spine, [0, -P.spineToHips * s, 0]));

    for (const side of ['Left', 'Right'] as const) {
      const out = side === 'Left' ? left : scale(left, -1);
      const shoulder = put(`${side}Shoulder`, add(chest, add(scale(out, P.shoulderOut * s), [0, P.shoulderUp * s, 0])));
      const upperArm = put(`${side}UpperArm`, add(shoulder, scale(out, P.upperArmOut * s)));
      // An untracked hand hangs at the side, slightly forward.
      const hand = put(`${side}Hand`, add(upperArm, add([0, -(P.upperArm + P.lowerArm) * 0.95 * s, 0], scale(forward, 0.05 * s))));
      const elbowPole = normalize(add(add([0, -1, 0], scale(forward, -0.5)), scale(out, 0.3)));
      put(`${side}LowerArm`, twoBoneJoint(upperArm, hand, P.upperArm * s, P.lowerArm * s, elbowPole));

      const upperLeg = put(`${side}UpperLeg`, add(hips, add(scale(out, P.hipOut * s), [0, -P.hipDown * s, 0])));
      const ankleTarget: Vec3 = [upperLeg[0], this.floorY + P.ankleHeight * s, upperLeg[2]];
      const footGoal = has(`${side}Foot`) ? at(`${side}Foot`) : ankleTarget;
      const knee = put(`${side}LowerLeg`, twoBoneJoint(upperLeg, footGoal, P.upperLeg * s, P.lowerLeg * s, forward));
      // The foot lands where the shin reaches (lifted when the hips are higher than a standing body's).
      const foot = put(`${side}Foot`, add(knee, scale(normalize(sub(footGoal, knee), [0, -1, 0]), P.lowerLeg * s)));
      put(`${side}Toes`, add(foot, add(scale(forward, P.toesForward * s), [0, -P.ankleHeight * s, 0])));
    }
  }

  private updateHeading(positions: Float32Array, observed: Uint8Array, headForward?: readonly number[]): Vec3 {
    let target: Vec3 | null = null;
    const flat = (v: readonly number[]): Vec3 | null => {
      const f: Vec3 = [v[0]!, 0, v[2]!];
      return length(f) > 1e-3 ? normalize(f) : null;
    };
    const pair = (l: JointName, r: JointName): Vec3 | null =>
      observed[idx(l)] && observed[idx(r)] ? flat(cross(sub(getJoint(positions, idx(l)), getJoint(positions, idx(r))), UP)) : null;
    target = pair('LeftUpperLeg', 'RightUpperLeg') ?? pair('LeftUpperArm', 'RightUpperArm') ?? (headForward ? flat(headForward) : null);
    if (!target) return this.heading ?? [0, 0, -1];
    if (!this.heading) this.heading = target;
    else this.heading = normalize(add(scale(this.heading, 1 - this.follow), scale(target, this.follow)), target);
    return this.heading;
  }
}

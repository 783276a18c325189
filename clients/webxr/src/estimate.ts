/**
 * Filling in canonical joints a rig does not have (VRM makes chest, neck, shoulders and toes
 * optional; some rigs have no toes): each estimate is placed from its present neighbours with
 * the proportions of the canonical skeleton (src/synth/walker.ts), so it moves rigidly with
 * them and never looks anomalous by itself. Estimated joints carry no evidence of their own.
 */
import { CANONICAL_JOINTS, add, cross, getJoint, jointIndex, length, lerp, normalize, scale, setJoint, sub, type JointName } from './joints.js';

/** Joints a rig may lack: they are estimated. Every other canonical joint must be present. */
export const ESTIMABLE_JOINTS: readonly JointName[] = ['Spine', 'Chest', 'Neck', 'LeftShoulder', 'RightShoulder', 'LeftToes', 'RightToes'];

/** The torso chain and each joint's height above the hips as a fraction of the hips-head distance (canonical proportions). */
const TORSO_CHAIN: readonly (readonly [JointName, number])[] = [
  ['Hips', 0],
  ['Spine', 10 / 55],
  ['Chest', 25 / 55],
  ['Neck', 45 / 55],
  ['Head', 1],
];

/** Shoulder (clavicle root) between the chest and the upper arm. */
const SHOULDER_FRACTION = 0.45;
/** Toes in front of and below the ankle, in metres per metre of leg (upper + lower leg = 0.84 m in the canonical skeleton). */
const TOES_FORWARD = 0.12 / 0.84;
const TOES_DOWN = 0.06 / 0.84;

const UP = [0, 1, 0] as const;

/** Fills every joint with present[j] = 0 from the present ones, in place. Hips, Head, arms (upper arm to hand) and legs (upper leg to foot) must be present. */
export function estimateMissingJoints(positions: Float32Array, present: Uint8Array): void {
  const has = (name: JointName): boolean => present[jointIndex(name)] === 1;
  const at = (name: JointName) => getJoint(positions, jointIndex(name));
  for (const name of CANONICAL_JOINTS) {
    if (!has(name) && !(ESTIMABLE_JOINTS as readonly string[]).includes(name)) throw new Error(`cannot estimate ${name}: it must be present`);
  }
  // Torso: interpolate between the nearest present joints of the chain (Hips and Head always are).
  const known = TORSO_CHAIN.map(([name]) => has(name));
  TORSO_CHAIN.forEach(([name, t], k) => {
    if (known[k]) return;
    let lo = k - 1;
    while (!known[lo]) lo--;
    let hi = k + 1;
    while (!known[hi]) hi++;
    const [loName, tLo] = TORSO_CHAIN[lo]!;
    const [hiName, tHi] = TORSO_CHAIN[hi]!;
    setJoint(positions, jointIndex(name), lerp(at(loName), at(hiName), (t - tLo) / (tHi - tLo)));
  });
  for (const side of ['Left', 'Right'] as const) {
    if (!has(`${side}Shoulder`)) setJoint(positions, jointIndex(`${side}Shoulder`), lerp(at('Chest'), at(`${side}UpperArm`), SHOULDER_FRACTION));
  }
  if (!has('LeftToes') || !has('RightToes')) {
    // Body forward = left x up, with left from the right hip to the left hip (right-handed, Y up).
    const forward = normalize(cross(sub(at('LeftUpperLeg'), at('RightUpperLeg')), UP), [0, 0, 1]);
    for (const side of ['Left', 'Right'] as const) {
      if (has(`${side}Toes`)) continue;
      const foot = at(`${side}Foot`);
      const leg = length(sub(at(`${side}UpperLeg`), at(`${side}LowerLeg`))) + length(sub(at(`${side}LowerLeg`), foot));
      setJoint(positions, jointIndex(`${side}Toes`), add(foot, add(scale(forward, TOES_FORWARD * leg), [0, -TOES_DOWN * leg, 0])));
    }
  }
}

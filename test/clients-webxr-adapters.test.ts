/**
 * The browser library's pose adapters: a three.js rig (fake bones, and real THREE.Bone
 * hierarchies) and raw WebXR frames (fake XRFrame objects: viewer, hands, controllers, body)
 * mapped onto the 21 canonical joints, with the joints they cannot observe estimated.
 */
import * as THREE from 'three';
import { describe, expect, it } from 'vitest';
import { BodyEstimator, twoBoneJoint } from '../clients/webxr/src/body-estimator.js';
import { CANONICAL_JOINTS, getJoint, jointIndex, length, rotate, sub, type JointName, type Quat } from '../clients/webxr/src/joints.js';
import {
  HumanoidMappingError,
  THREE_BONE_NAMES,
  ThreeSkeletonPoseSource,
  boneKey,
  canonicalJointOfBone,
  type BoneLike,
} from '../clients/webxr/src/three-skeleton.js';
import { EYES_TO_HEAD, XR_BODY_JOINTS, XrFramePoseSource, type XrFrameLike, type XrInputSourceLike, type XrPoseLike } from '../clients/webxr/src/xr-frame.js';
import { MIXAMO_MAPPING, VRM_MAPPING } from '../src/model/skeleton.js';
import { walkerMotion } from '../src/synth/walker.js';

const J = CANONICAL_JOINTS.length;
/** A canonical pose (metres): the procedural walker's frame 10. */
const WALKER = walkerMotion({ frames: 11 }).positions.slice(10 * J * 3, 11 * J * 3);
const at = (positions: ArrayLike<number>, name: JointName): [number, number, number] => getJoint(positions, jointIndex(name));

/** A fake bone whose world position is `p` (a column-major 4x4 with the translation in 12..14). */
function fakeBone(name: string, p: readonly number[], isBone = true): BoneLike & { updates: number } {
  const elements = new Array<number>(16).fill(0);
  elements[0] = elements[5] = elements[10] = elements[15] = 1;
  [elements[12], elements[13], elements[14]] = [p[0]!, p[1]!, p[2]!];
  const bone = { name, isBone, matrixWorld: { elements }, updates: 0, updateWorldMatrix: () => void bone.updates++ };
  return bone;
}

/** Fake bones named after `table` (source name -> canonical joint), at the walker's positions. */
function rigFromTable(table: Readonly<Record<string, JointName>>, rename: (name: string) => string = (n) => n): (BoneLike & { updates: number })[] {
  return Object.entries(table).map(([source, joint]) => fakeBone(rename(source), at(WALKER, joint)));
}

describe('three.js skeleton adapter', () => {
  it('declares a bone-name table covering every canonical joint, from the VRM, Mixamo and Unity tables', () => {
    for (const joint of CANONICAL_JOINTS) {
      expect(THREE_BONE_NAMES[joint]).toContain(joint);
      expect(THREE_BONE_NAMES[joint]).toContain(joint[0]!.toLowerCase() + joint.slice(1));
    }
    for (const [name, joint] of Object.entries({ ...MIXAMO_MAPPING, ...VRM_MAPPING })) expect(canonicalJointOfBone(name)).toBe(joint);
    expect(canonicalJointOfBone('mixamorig:LeftForeArm')).toBe('LeftLowerArm');
    expect(canonicalJointOfBone('mixamorigLeftToeBase')).toBe('LeftToes');
    expect(canonicalJointOfBone('mixamorig1:RightUpLeg')).toBe('RightUpperLeg');
    expect(canonicalJointOfBone('Spine2')).toBe('Chest');
    expect(canonicalJointOfBone('upperChest')).toBe('Chest');
    expect(canonicalJointOfBone('LeftHandIndex1')).toBeUndefined();
    expect(boneKey('mixamorig:Hips')).toBe('hips');
  });

  it('reads a Mixamo rig as three.js loads it (mixamorig prefix without its colon), ignoring extra bones', () => {
    const bones = [
      ...rigFromTable(MIXAMO_MAPPING, (n) => `mixamorig${n}`),
      fakeBone('mixamorigSpine2', [9, 9, 9]),
      fakeBone('mixamorigLeftHandIndex1', [9, 9, 9]),
      fakeBone('mixamorigHeadTop_End', [9, 9, 9]),
    ];
    const source = new ThreeSkeletonPoseSource({ bones });
    expect(Array.from(source.capture())).toEqual(Array.from(WALKER));
    expect(Array.from(source.observed)).toEqual(new Array(J).fill(1));
    expect(source.bindings.find((b) => b.joint === 'Chest')).toEqual({ joint: 'Chest', bone: 'mixamorigSpine1', estimated: false });
    expect(bones[0]!.updates).toBe(1);
    new ThreeSkeletonPoseSource({ bones }, { updateMatrices: false }).capture();
    expect(bones[0]!.updates).toBe(1);
  });

  it('reads world positions of a real THREE.Bone hierarchy with VRM names, moved and turned in the scene', () => {
    const world = new THREE.Group();
    world.position.set(3, 0.5, -2);
    world.rotation.y = Math.PI / 3;
    const bones = new Map<JointName, THREE.Bone>();
    for (const joint of CANONICAL_JOINTS) {
      const bone = new THREE.Bone();
      bone.name = joint[0]!.toLowerCase() + joint.slice(1);
      const parentName = { Hips: null, Spine: 'Hips', Chest: 'Spine', Neck: 'Chest', Head: 'Neck' }[joint as string] ?? null;
      const parent = parentName ? bones.get(parentName as JointName)! : joint === 'Hips' ? null : bones.get('Hips')!;
      const p = at(WALKER, joint);
      const q = parent ? at(WALKER, (CANONICAL_JOINTS.find((n) => bones.get(n) === parent) ?? 'Hips') as JointName) : [0, 0, 0];
      bone.position.set(p[0] - q[0]!, p[1] - q[1]!, p[2] - q[2]!);
      (parent ?? world).add(bone);
      bones.set(joint, bone);
    }
    const skeleton = new THREE.Skeleton([...bones.values()]);
    const source = new ThreeSkeletonPoseSource(skeleton);
    const expected = (): number[] => CANONICAL_JOINTS.flatMap((joint) => bones.get(joint)!.getWorldPosition(new THREE.Vector3()).toArray());
    const captured = source.capture();
    expected().forEach((v, i) => expect(captured[i]).toBeCloseTo(v, 5));
    // The turned rig is the walker pose turned: bone lengths are kept.
    expect(length(sub(at(captured, 'LeftFoot'), at(captured, 'LeftLowerLeg')))).toBeCloseTo(length(sub(at(WALKER, 'LeftFoot'), at(WALKER, 'LeftLowerLeg'))), 5);
    // Moving the scene after construction: capture refreshes the matrices itself.
    world.position.x += 1;
    const moved = source.capture();
    expect(moved[0]! - captured[0]!).toBeCloseTo(1, 5);
    // An Object3D root works as well as a THREE.Skeleton.
    expect(Array.from(new ThreeSkeletonPoseSource(world).capture())).toEqual(Array.from(moved));
  });

  it('uses a VRM humanoid when the rig names its bones its own way', () => {
    const vrmNames = Object.fromEntries(Object.entries(VRM_MAPPING).map(([vrm, joint]) => [vrm, fakeBone(`J_Bip_${joint}`, at(WALKER, joint))]));
    const humanoid = { getRawBoneNode: (name: string) => vrmNames[name] ?? null };
    expect(() => new ThreeSkeletonPoseSource(Object.values(vrmNames))).toThrow(HumanoidMappingError);
    expect(() => new ThreeSkeletonPoseSource(Object.values(vrmNames))).toThrow(/no bone found for Hips, .*J_Bip_Hips/);
    const source = new ThreeSkeletonPoseSource(Object.values(vrmNames), { humanoid });
    expect(Array.from(source.capture())).toEqual(Array.from(WALKER));
    expect(source.bindings[0]).toEqual({ joint: 'Hips', bone: 'J_Bip_Hips', estimated: false });
    // three-vrm 0.x spells it getBoneNode.
    expect(Array.from(new ThreeSkeletonPoseSource([], { humanoid: { getBoneNode: humanoid.getRawBoneNode } }).capture())).toEqual(Array.from(WALKER));
  });

  it('estimates the joints a VRM may lack (chest, neck, shoulders, toes) from their neighbours, and says so', () => {
    const optional: JointName[] = ['Chest', 'Neck', 'LeftShoulder', 'RightShoulder', 'LeftToes', 'RightToes'];
    const bones = rigFromTable(VRM_MAPPING).filter((b) => !optional.includes(canonicalJointOfBone(b.name)!));
    const source = new ThreeSkeletonPoseSource(bones);
    const pose = source.capture();
    expect(pose.every(Number.isFinite)).toBe(true);
    expect(source.bindings.filter((b) => b.estimated).map((b) => b.joint)).toEqual(CANONICAL_JOINTS.filter((j) => optional.includes(j)));
    for (const joint of optional) expect(source.observed[jointIndex(joint)]).toBe(0);
    // Present joints are untouched; estimates sit near where the real rig has them.
    expect(at(pose, 'Head')).toEqual(at(WALKER, 'Head').map(Math.fround));
    for (const joint of optional) expect(length(sub(at(pose, joint), at(WALKER, joint)))).toBeLessThan(0.1);
    // Toes in front of the feet: the walker walks along +Z.
    expect(at(pose, 'LeftToes')[2]).toBeGreaterThan(at(pose, 'LeftFoot')[2]);
    expect(at(pose, 'Neck')[1]).toBeGreaterThan(at(pose, 'Chest')[1]);
    expect(at(pose, 'Chest')[1]).toBeGreaterThan(at(pose, 'Spine')[1]);
  });

  it('refuses a rig without arms or legs, naming what is missing', () => {
    const bones = rigFromTable(MIXAMO_MAPPING).filter((b) => !/Left(Arm|ForeArm|Hand)$/.test(b.name));
    expect(() => new ThreeSkeletonPoseSource(bones)).toThrow(/no bone found for LeftUpperArm, LeftLowerArm, LeftHand/);
  });
});

// --- WebXR ------------------------------------------------------------------------------------

const yaw = (degrees: number): Quat => ({ x: 0, y: Math.sin((degrees * Math.PI) / 360), z: 0, w: Math.cos((degrees * Math.PI) / 360) });
const IDENTITY: Quat = { x: 0, y: 0, z: 0, w: 1 };
const poseAt = (p: readonly number[], orientation: Quat = IDENTITY): XrPoseLike => ({ transform: { position: { x: p[0]!, y: p[1]!, z: p[2]! }, orientation } });

/** A fake XRFrame: spaces are plain objects, and poses are looked up by space. */
function fakeFrame(options: {
  viewer: XrPoseLike | null;
  inputs?: XrInputSourceLike[];
  poses?: Map<object, XrPoseLike>;
  body?: Map<string, object> | null;
}): XrFrameLike {
  const poses = options.poses ?? new Map();
  return {
    session: { inputSources: options.inputs ?? [] },
    getViewerPose: () => options.viewer,
    getPose: (space) => poses.get(space) ?? null,
    getJointPose: (space) => poses.get(space) ?? null,
    body: options.body ?? null,
  };
}

function trackedHand(handedness: 'left' | 'right', wrist: readonly number[], poses: Map<object, XrPoseLike>): XrInputSourceLike {
  const wristSpace = {};
  poses.set(wristSpace, poseAt(wrist));
  const joints = new Map<string, object>([['wrist', wristSpace], ['index-finger-tip', {}]]);
  return { handedness, hand: joints, gripSpace: {} };
}

describe('WebXR frame adapter', () => {
  const REF = {};
  const S = 1.7 / 1.65;

  it('maps the viewer to the Head and XRHand wrists to the hands, and completes a standing body', () => {
    const poses = new Map<object, XrPoseLike>();
    // Facing -X (yaw +90 degrees about +Y turns -Z into -X); the body's left is then +Z.
    const q = yaw(90);
    const eyes = [0.3, 1.62, -0.5];
    const inputs = [trackedHand('left', [0.1, 1.1, -0.25], poses), trackedHand('right', [0.05, 1.05, -0.8], poses)];
    const source = new XrFramePoseSource();
    const capture = source.capture(fakeFrame({ viewer: poseAt(eyes, q), inputs, poses }), REF)!;
    const p = capture.positions;

    const head = rotate(q, EYES_TO_HEAD).map((v, i) => v + eyes[i]!);
    at(p, 'Head').forEach((v, i) => expect(v).toBeCloseTo(head[i]!, 5));
    expect(at(p, 'LeftHand')).toEqual([0.1, 1.1, -0.25].map(Math.fround));
    expect(at(p, 'RightHand')).toEqual([0.05, 1.05, -0.8].map(Math.fround));
    expect(capture).toMatchObject({ leftHand: 'hand', rightHand: 'hand', bodyJoints: 0 });
    expect(CANONICAL_JOINTS.filter((_, j) => capture.observed[j])).toEqual(['Head', 'LeftHand', 'RightHand']);
    expect(p.every(Number.isFinite)).toBe(true);

    // The estimated body: upright under the head, facing -X, feet near the floor, bones of a 1.70 m body.
    expect(at(p, 'Hips')[1]).toBeCloseTo(head[1]! - 0.55 * S, 4);
    expect(at(p, 'LeftUpperLeg')[2]).toBeGreaterThan(at(p, 'RightUpperLeg')[2]);
    expect(at(p, 'LeftToes')[0]).toBeLessThan(at(p, 'LeftFoot')[0]);
    expect(at(p, 'LeftFoot')[1]).toBeCloseTo(0.06 * S, 3);
    expect(at(p, 'LeftToes')[1]).toBeCloseTo(0, 3);
    for (const side of ['Left', 'Right'] as const) {
      expect(length(sub(at(p, `${side}LowerArm`), at(p, `${side}UpperArm`)))).toBeCloseTo(0.28 * S, 4);
      expect(length(sub(at(p, `${side}Hand`), at(p, `${side}LowerArm`)))).toBeCloseTo(0.25 * S, 4);
      expect(length(sub(at(p, `${side}LowerLeg`), at(p, `${side}UpperLeg`)))).toBeCloseTo(0.42 * S, 4);
      // Elbows hang below the line from shoulder to hand.
      expect(at(p, `${side}LowerArm`)[1]).toBeLessThan((at(p, `${side}UpperArm`)[1] + at(p, `${side}Hand`)[1]) / 2);
    }
  });

  it('bends the knees when the head comes down (crouching), feet staying on the floor', () => {
    const source = new XrFramePoseSource({ height: 1.7 });
    const p = source.capture(fakeFrame({ viewer: poseAt([0, 1.1, 0]) }), REF)!.positions;
    expect(at(p, 'LeftFoot')[1]).toBeCloseTo(0.06 * S, 3);
    expect(length(sub(at(p, 'LeftFoot'), at(p, 'LeftLowerLeg')))).toBeCloseTo(0.42 * S, 4);
    // Facing -Z: knees forward of the hips and feet.
    expect(at(p, 'LeftLowerLeg')[2]).toBeLessThan(at(p, 'LeftUpperLeg')[2] - 0.1);
  });

  it('uses controllers as hands without hand tracking; head only leaves both hands estimated', () => {
    const poses = new Map<object, XrPoseLike>();
    const grip = {};
    poses.set(grip, poseAt([0.25, 1.0, -0.3]));
    const inputs: XrInputSourceLike[] = [{ handedness: 'right', gripSpace: grip }, { handedness: 'none', gripSpace: {} }];
    const withController = new XrFramePoseSource().capture(fakeFrame({ viewer: poseAt([0, 1.6, 0]), inputs, poses }), REF)!;
    expect(withController).toMatchObject({ leftHand: 'estimated', rightHand: 'controller' });
    expect(at(withController.positions, 'RightHand')).toEqual([0.25, 1.0, -0.3].map(Math.fround));
    expect(new XrFramePoseSource({ useControllers: false }).capture(fakeFrame({ viewer: poseAt([0, 1.6, 0]), inputs, poses }), REF)).toMatchObject({ rightHand: 'estimated' });

    const headOnly = new XrFramePoseSource().capture(fakeFrame({ viewer: poseAt([0, 1.6, 0]) }), REF)!;
    expect(CANONICAL_JOINTS.filter((_, j) => headOnly.observed[j])).toEqual(['Head']);
    // Hanging arms: hands below the hips' height + 10 cm, at the sides (left = -X when facing -Z).
    expect(at(headOnly.positions, 'LeftHand')[1]).toBeLessThan(at(headOnly.positions, 'Hips')[1] + 0.1);
    expect(at(headOnly.positions, 'LeftHand')[0]).toBeLessThan(-0.1);
    expect(at(headOnly.positions, 'RightHand')[0]).toBeGreaterThan(0.1);
  });

  it('maps every canonical joint from XRBody when the browser tracks the body', () => {
    const poses = new Map<object, XrPoseLike>();
    const body = new Map<string, object>();
    CANONICAL_JOINTS.forEach((joint) => {
      const space = {};
      body.set(XR_BODY_JOINTS[joint], space);
      poses.set(space, poseAt(at(WALKER, joint)));
    });
    body.set('left-hand-index-tip', {});
    const hands = new Map<object, XrPoseLike>();
    const inputs = [trackedHand('left', [5, 5, 5], hands)];
    const capture = new XrFramePoseSource().capture(fakeFrame({ viewer: poseAt([9, 9, 9]), inputs, poses: new Map([...poses, ...hands]), body }), REF)!;
    expect(Array.from(capture.positions)).toEqual(Array.from(WALKER));
    expect(capture).toMatchObject({ bodyJoints: 21, leftHand: 'body', rightHand: 'body' });
    expect(Array.from(capture.observed)).toEqual(new Array(J).fill(1));
    expect(new Set(Object.values(XR_BODY_JOINTS)).size).toBe(21);
    // Body tracking off: the viewer and the XRHand again.
    const off = new XrFramePoseSource({ useBodyTracking: false }).capture(fakeFrame({ viewer: poseAt([0, 1.6, 0]), inputs, poses: hands, body }), REF)!;
    expect(off).toMatchObject({ bodyJoints: 0, leftHand: 'hand' });
  });

  it('completes a body tracked from the waist up with legs hung from the tracked hips', () => {
    const poses = new Map<object, XrPoseLike>();
    const body = new Map<string, object>();
    const upper = CANONICAL_JOINTS.filter((j) => !/Leg|Foot|Toes/.test(j));
    for (const joint of upper) {
      const space = {};
      body.set(XR_BODY_JOINTS[joint], space);
      poses.set(space, poseAt(at(WALKER, joint)));
    }
    const capture = new XrFramePoseSource().capture(fakeFrame({ viewer: poseAt([0, 1.6, 0]), poses, body }), REF)!;
    expect(capture.bodyJoints).toBe(upper.length);
    for (const joint of upper) expect(at(capture.positions, joint)).toEqual(at(WALKER, joint).map(Math.fround));
    // Upper legs hang from the tracked hips, on the right sides (the walker's left is +X).
    expect(length(sub(at(capture.positions, 'LeftUpperLeg'), at(WALKER, 'Hips')))).toBeLessThan(0.15);
    expect(at(capture.positions, 'LeftUpperLeg')[0]).toBeGreaterThan(at(capture.positions, 'RightUpperLeg')[0]);
  });

  it('gives nothing while the viewer is not tracked', () => {
    expect(new XrFramePoseSource().capture(fakeFrame({ viewer: null }), REF)).toBeNull();
  });

  it('turns the estimated body toward the head smoothly, not in one frame', () => {
    const estimator = new BodyEstimator({ headingFollow: 0.2 });
    const run = (forward: number[]): number[] => {
      const positions = new Float32Array(J * 3);
      const observed = new Uint8Array(J);
      positions.set([0, 1.5, 0], jointIndex('Head') * 3);
      observed[jointIndex('Head')] = 1;
      estimator.complete(positions, observed, forward);
      // Body forward from the hips: left x up.
      const left = sub(at(positions, 'LeftUpperLeg'), at(positions, 'RightUpperLeg'));
      return [-left[2], 0, left[0]].map((v) => v / Math.hypot(left[0], left[2]));
    };
    expect(run([0, 0, -1])[2]).toBeCloseTo(-1, 5);
    const first = run([1, 0, 0]);
    expect(first[0]).toBeGreaterThan(0.05);
    expect(first[0]).toBeLessThan(0.5);
    let last = first;
    for (let k = 0; k < 60; k++) last = run([1, 0, 0]);
    expect(last[0]).toBeCloseTo(1, 3);
  });

  it('solves two-bone chains with their lengths, bent toward the pole', () => {
    const knee = twoBoneJoint([0, 1, 0], [0, 0.2, 0], 0.45, 0.45, [0, 0, 1]);
    expect(length(sub(knee, [0, 1, 0]))).toBeCloseTo(0.45, 6);
    expect(length(sub(knee, [0, 0.2, 0]))).toBeCloseTo(0.45, 6);
    expect(knee[2]).toBeGreaterThan(0);
    expect(twoBoneJoint([0, 1, 0], [0, -1, 0], 0.4, 0.4, [0, 0, 1])).toEqual([0, 0.6, 0]);
  });
});

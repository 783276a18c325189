/**
 * Adapter (b): raw WebXR frames -> canonical frames. Per frame, in the app's reference space:
 *
 * - body (`XRFrame.body`, WebXR Body Tracking, e.g. Meta Quest with 'body-tracking'): every
 *   canonical joint from its body joint (XR_BODY_JOINTS);
 * - hands (`XRInputSource.hand`, 'hand-tracking'): LeftHand / RightHand from the `wrist` joint;
 * - controllers without hand tracking: LeftHand / RightHand from the grip pose (the palm's
 *   centre, a few centimetres from the wrist);
 * - viewer pose: Head, from the point between the eyes moved to where a humanoid rig's Head
 *   joint sits (EYES_TO_HEAD, in viewer space).
 *
 * Whatever is not observed this frame is completed by a BodyEstimator (see body-estimator.ts
 * for what that means for detection). WebXR is right-handed, Y up, metres: as the protocol.
 * Structural types only, so fake frames can drive it in tests.
 */
import { BodyEstimator, type BodyModelOptions } from './body-estimator.js';
import { CANONICAL_JOINTS, FRAME_VALUES, JOINT_COUNT, add, jointIndex, rotate, setJoint, type JointName, type Quat, type Vec3, type XYZ } from './joints.js';

/** An XRSpace: opaque to the adapter. */
export type XrSpaceLike = object;

export interface XrPoseLike {
  readonly transform: { readonly position: XYZ; readonly orientation: Quat };
}

export interface XrJointSetLike {
  get(joint: string): XrSpaceLike | undefined;
}

export interface XrInputSourceLike {
  readonly handedness: string;
  readonly hand?: XrJointSetLike | null;
  readonly gripSpace?: XrSpaceLike | null;
}

/** What the adapter reads of an XRFrame. */
export interface XrFrameLike {
  readonly session: { readonly inputSources: Iterable<XrInputSourceLike> };
  getViewerPose(referenceSpace: XrSpaceLike): XrPoseLike | null | undefined;
  getPose(space: XrSpaceLike, baseSpace: XrSpaceLike): XrPoseLike | null | undefined;
  getJointPose?(joint: XrSpaceLike, baseSpace: XrSpaceLike): XrPoseLike | null | undefined;
  /** WebXR Body Tracking Module; absent where the browser does not support it. */
  readonly body?: XrJointSetLike | null;
}

/** The declared mapping of WebXR body joints (XRBodyJoint) onto the canonical joints. */
export const XR_BODY_JOINTS: Readonly<Record<JointName, string>> = {
  Hips: 'hips',
  Spine: 'spine-lower',
  Chest: 'chest',
  Neck: 'neck',
  Head: 'head',
  LeftShoulder: 'left-shoulder',
  LeftUpperArm: 'left-arm-upper',
  LeftLowerArm: 'left-arm-lower',
  LeftHand: 'left-hand-wrist',
  RightShoulder: 'right-shoulder',
  RightUpperArm: 'right-arm-upper',
  RightLowerArm: 'right-arm-lower',
  RightHand: 'right-hand-wrist',
  LeftUpperLeg: 'left-upper-leg',
  LeftLowerLeg: 'left-lower-leg',
  LeftFoot: 'left-foot-ankle',
  LeftToes: 'left-foot-ball',
  RightUpperLeg: 'right-upper-leg',
  RightLowerLeg: 'right-lower-leg',
  RightFoot: 'right-foot-ankle',
  RightToes: 'right-foot-ball',
};

/** The XRHand joint that is the canonical LeftHand / RightHand. */
export const XR_HAND_WRIST = 'wrist';

/** From the viewer (between the eyes, looking down -Z) to the Head joint (skull base): 9 cm down, 7 cm back. */
export const EYES_TO_HEAD: Vec3 = [0, -0.09, 0.07];

export type HandSource = 'body' | 'hand' | 'controller' | 'estimated';

export interface XrCapture {
  /** 63 numbers: x, y, z per canonical joint, metres, in the reference space. */
  readonly positions: Float32Array;
  /** 1 where the joint was observed this frame, 0 where it was estimated (canonical order). */
  readonly observed: Uint8Array;
  /** Canonical joints observed through body tracking this frame. */
  readonly bodyJoints: number;
  readonly leftHand: HandSource;
  readonly rightHand: HandSource;
}

export interface XrFramePoseOptions extends BodyModelOptions {
  /** Read XRFrame.body when present (default true). */
  readonly useBodyTracking?: boolean;
  /** Use controllers' grip poses as hands when hand tracking is off (default true). */
  readonly useControllers?: boolean;
}

const vec = (p: XYZ): Vec3 => [p.x, p.y, p.z];

export class XrFramePoseSource {
  readonly estimator: BodyEstimator;
  private readonly useBody: boolean;
  private readonly useControllers: boolean;

  constructor(options: XrFramePoseOptions = {}) {
    this.estimator = new BodyEstimator(options);
    this.useBody = options.useBodyTracking ?? true;
    this.useControllers = options.useControllers ?? true;
  }

  /** The canonical frame of `frame` in `referenceSpace`, or null while the viewer is not tracked. */
  capture(frame: XrFrameLike, referenceSpace: XrSpaceLike): XrCapture | null {
    const viewer = frame.getViewerPose(referenceSpace);
    if (!viewer) return null;
    const positions = new Float32Array(FRAME_VALUES);
    const observed = new Uint8Array(JOINT_COUNT);
    const observe = (joint: JointName, pose: XrPoseLike | null | undefined): boolean => {
      if (!pose) return false;
      setJoint(positions, jointIndex(joint), vec(pose.transform.position));
      observed[jointIndex(joint)] = 1;
      return true;
    };
    const poseOf = (space: XrSpaceLike | null | undefined, joint: boolean): XrPoseLike | null | undefined => {
      if (!space) return null;
      return joint && frame.getJointPose ? frame.getJointPose(space, referenceSpace) : frame.getPose(space, referenceSpace);
    };

    let bodyJoints = 0;
    if (this.useBody && frame.body) {
      for (const joint of CANONICAL_JOINTS) if (observe(joint, poseOf(frame.body.get(XR_BODY_JOINTS[joint]), false))) bodyJoints++;
    }
    const hands: Record<'left' | 'right', HandSource> = {
      left: observed[jointIndex('LeftHand')] ? 'body' : 'estimated',
      right: observed[jointIndex('RightHand')] ? 'body' : 'estimated',
    };
    for (const source of frame.session.inputSources) {
      const side = source.handedness;
      if ((side !== 'left' && side !== 'right') || hands[side] !== 'estimated') continue;
      const joint: JointName = side === 'left' ? 'LeftHand' : 'RightHand';
      if (source.hand && observe(joint, poseOf(source.hand.get(XR_HAND_WRIST), true))) hands[side] = 'hand';
      else if (!source.hand && this.useControllers && observe(joint, poseOf(source.gripSpace, false))) hands[side] = 'controller';
    }
    const { position, orientation } = viewer.transform;
    if (!observed[jointIndex('Head')]) {
      setJoint(positions, jointIndex('Head'), add(vec(position), rotate(orientation, EYES_TO_HEAD)));
      observed[jointIndex('Head')] = 1;
    }
    const headForward = rotate(orientation, [0, 0, -1]);
    if (observed.includes(0)) this.estimator.complete(positions, observed, headForward);
    return { positions, observed, bodyJoints, leftHand: hands.left, rightHand: hands.right };
  }
}

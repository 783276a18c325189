/**
 * motionguard for the browser: a WebSocket client for protocol v1 (publish avatar poses, receive
 * alerts and scores) and adapters that turn a three.js rig or raw WebXR frames into canonical
 * frames. Types of every message are the server's own (src/stream/protocol.ts).
 */
export {
  MotionguardClient,
  endpointUrl,
  type ChannelName,
  type ChannelState,
  type ClientStats,
  type ConnectionEvent,
  type FrameOptions,
  type MotionguardClientOptions,
  type MotionguardEvents,
  type SubscribeOptions,
  type WebSocketConstructor,
} from './client.js';
export { FrameClock } from './frame-clock.js';
export { DEFAULT_BACKOFF, backoffDelay, resolveBackoff, scheduledDelay, type BackoffOptions } from './backoff.js';
export {
  MessageDecodeError,
  chunkFrames,
  decodeServerMessage,
  encodeMessage,
  frameData,
  frameMessage,
  framesMessage,
  helloMessage,
  jointsBin,
  type PublishOptions,
} from './messages.js';
export { BONES, CANONICAL_JOINTS, FRAME_VALUES, JOINT_COUNT, PARENT_INDEX, jointIndex, type JointName } from './joints.js';
export {
  HumanoidMappingError,
  THREE_BONE_NAMES,
  ThreeSkeletonPoseSource,
  VRM_HUMANOID_NAMES,
  bindHumanoidBones,
  boneKey,
  canonicalJointOfBone,
  type BoneLike,
  type HumanoidLike,
  type JointBinding,
  type SkeletonLike,
  type ThreeSkeletonOptions,
} from './three-skeleton.js';
export { ESTIMABLE_JOINTS, estimateMissingJoints } from './estimate.js';
export { BodyEstimator, twoBoneJoint, type BodyModelOptions } from './body-estimator.js';
export {
  EYES_TO_HEAD,
  XR_BODY_JOINTS,
  XR_HAND_WRIST,
  XrFramePoseSource,
  type HandSource,
  type XrCapture,
  type XrFrameLike,
  type XrFramePoseOptions,
  type XrInputSourceLike,
  type XrJointSetLike,
  type XrPoseLike,
  type XrSpaceLike,
} from './xr-frame.js';
export type {
  AlertMessage,
  AvatarScore,
  ErrorCode,
  ErrorMessage,
  FrameData,
  HelloMessage,
  ReadyMessage,
  ScoresMessage,
  SubscribedMessage,
  ThresholdsInfo,
  TopJoint,
} from '../../../src/stream/protocol.js';

/**
 * Protocol v1 between VR servers (publishers), motionguard and alert subscribers: the
 * message types clients can import, the stable error codes they can switch on, and the
 * default limits. Every message is a msgpack map (subscribers may ask for JSON text) with
 * a `type` string. docs/protocol.md is the prose version of this file.
 */

export const PROTOCOL_VERSION = 1;

/** Paths on the server's one port. */
export const INGEST_PATH = '/v1/ingest';
export const ALERTS_PATH = '/v1/alerts';
export const AVATARS_PATH = '/v1/avatars';

/** Skeleton presets a publisher may name instead of listing its joints ('unity' = 'canonical'). */
export const SKELETON_PRESETS = ['canonical', 'unity', 'bandai-namco', 'mixamo', 'vrm'] as const;
export type SkeletonPreset = (typeof SKELETON_PRESETS)[number];

/** Length units of joint positions; the server converts to metres. */
export const UNITS = ['m', 'cm', 'mm'] as const;
export type Units = (typeof UNITS)[number];
export const METRES_PER_UNIT: Readonly<Record<Units, number>> = { m: 1, cm: 0.01, mm: 0.001 };

/** Most joints a publisher's own skeleton may list (extra joints are ignored, but bounded). */
export const MAX_DECLARED_JOINTS = 256;
/** Publisher frame rates the server accepts. */
export const MIN_FPS = 1;
export const MAX_FPS = 1000;

export interface Limits {
  /** Soft limit: a bigger message gets a `payload_too_large` error and is not decoded. */
  readonly maxMessageBytes: number;
  /** Frames in one `frames` message. */
  readonly maxFramesPerMessage: number;
  /** Distinct avatars one publisher connection may stream. */
  readonly maxAvatarsPerConnection: number;
  /** Characters in an avatar id. */
  readonly maxAvatarIdLength: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 1 << 20,
  maxFramesPerMessage: 2048,
  maxAvatarsPerConnection: 1024,
  maxAvatarIdLength: 128,
};

/**
 * Stable, machine-readable error codes (never renamed; new ones may be added).
 * Frame-level codes reject one frame; message-level codes reject the whole message.
 */
export const ERROR_CODES = [
  /** Not decodable msgpack (or JSON, for subscribers), or a text message on the ingest path. */
  'malformed_message',
  /** `type` is not a message this endpoint accepts. */
  'unknown_type',
  /** A field is missing or has the wrong type or range. */
  'bad_message',
  /** `v` is not a protocol version this server speaks. */
  'unsupported_version',
  /** Frames before a successful `hello`. */
  'hello_required',
  /** Unknown preset, or joint names that do not cover the 21 canonical joints. */
  'bad_skeleton',
  /** `joints` does not hold 3 numbers per declared joint. */
  'bad_joint_count',
  /** A coordinate is NaN or infinite. */
  'non_finite',
  /** The message is larger than limits.maxMessageBytes. */
  'payload_too_large',
  /** A `frames` message with more than limits.maxFramesPerMessage frames. */
  'too_many_frames',
  /** The avatar's last frame had the same seq. */
  'duplicate_frame',
  /** The seq is older than the avatar's last frame (by less than a window restart). */
  'out_of_order',
  /** Empty, too long, or containing control characters. */
  'bad_avatar_id',
  /** This connection (or the server) already streams the most avatars allowed. */
  'too_many_avatars',
  /** More rejected frames in one message than the server replies to one by one. */
  'errors_truncated',
  /** The server refuses more subscribers. */
  'too_many_subscribers',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Close codes (RFC 6455) the server uses. */
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TRY_AGAIN_LATER = 1013;
export const CLOSE_INTERNAL_ERROR = 1011;

// ---------------------------------------------------------------------------
// Publisher -> server
// ---------------------------------------------------------------------------

export interface HelloMessage {
  readonly type: 'hello';
  readonly v: typeof PROTOCOL_VERSION;
  /** A preset (joints in canonical order), or the publisher's own joint names in the order `joints` uses. */
  readonly skeleton: SkeletonPreset | readonly string[];
  readonly units: Units;
  /** The publisher's frame rate: frame seq n is at n / fps seconds. */
  readonly fps: number;
}

/** One pose of one avatar (the body of `frame`, and an element of `frames`). */
export interface FrameData {
  readonly avatar: string;
  /** Frame counter of this avatar: +1 per frame at the declared fps (gaps allowed). */
  readonly seq: number;
  /** Client timestamp, milliseconds (any epoch; for auditing only). */
  readonly t: number;
  /** x, y, z per declared joint: bin of little-endian float32 (preferred) or an array of numbers. Right-handed, Y up. */
  readonly joints: Uint8Array | readonly number[];
}

export interface FrameMessage extends FrameData {
  readonly type: 'frame';
}

/** Many avatars' frames in one message: the efficient path. */
export interface FramesMessage {
  readonly type: 'frames';
  readonly frames: readonly FrameData[];
}

export type PublisherMessage = HelloMessage | FrameMessage | FramesMessage;

// ---------------------------------------------------------------------------
// Subscriber -> server
// ---------------------------------------------------------------------------

/** Without `avatars` and `prefix`, every avatar; with both, avatars matching either. */
export interface SubscribeMessage {
  readonly type: 'subscribe';
  readonly avatars?: readonly string[];
  readonly prefix?: string;
  /** Also send a `scores` message every tick. */
  readonly scores?: boolean;
}

// ---------------------------------------------------------------------------
// Server -> clients
// ---------------------------------------------------------------------------

export interface ThresholdsInfo {
  readonly frame: number;
  readonly sequence: number;
  readonly fraction: number;
  readonly spike: number;
}

export interface ReadyMessage {
  readonly type: 'ready';
  readonly v: typeof PROTOCOL_VERSION;
  /** The model's frame rate (frames are resampled to it). */
  readonly fps: number;
  /** Canonical joint order (what the 'canonical' preset expects). */
  readonly jointNames: readonly string[];
  /** Joints per frame this connection must send (its declared skeleton). */
  readonly joints: number;
  readonly limits: Limits;
  readonly thresholds: ThresholdsInfo;
}

export interface ErrorMessage {
  readonly type: 'error';
  readonly code: ErrorCode;
  readonly message: string;
  readonly avatar?: string;
  readonly seq?: number;
  /** Position of the offending frame in a `frames` message. */
  readonly index?: number;
}

export interface SubscribedMessage {
  readonly type: 'subscribed';
  readonly v: typeof PROTOCOL_VERSION;
  readonly avatars: readonly string[] | null;
  readonly prefix: string | null;
  readonly scores: boolean;
  readonly format: MessageFormat;
  readonly fps: number;
  readonly jointNames: readonly string[];
  readonly thresholds: ThresholdsInfo;
}

export interface TopJoint {
  readonly joint: string;
  readonly score: number;
}

/** Which arm of the online rule made the avatar active. */
export type AlertReason = 'sustained' | 'spike' | 'both';
/** Why an episode ended: the avatar recovered, went silent, or the server stopped. */
export type EndCause = 'recovered' | 'evicted' | 'shutdown';

export interface AlertMessage {
  readonly type: 'alert';
  readonly avatar: string;
  readonly state: 'start' | 'end';
  /** Server time, epoch milliseconds. */
  readonly time: number;
  /** Seq of the frame at which the state changed. */
  readonly seq: number;
  /** Online fraction of window frames over thresholds.frame, at this frame. */
  readonly fraction: number;
  /** Mean of the highest 10% of the window's frame scores. */
  readonly sequenceScore: number;
  /** Peak frame score of the episode so far. */
  readonly frameScore: number;
  /** The three highest joint scores of the episode's peak frame. */
  readonly topJoints: readonly TopJoint[];
  /** Episode id, unique within a server run; the `start` and `end` of one episode share it. */
  readonly episode: number;
  /** Arms that fired: at `start`, those active now; at `end`, those that fired during the episode. */
  readonly reason: AlertReason;
  /** Only on `end`. */
  readonly cause?: EndCause;
  /** Frames (at the model fps) from start to end; only on `end`. */
  readonly frames?: number;
}

export interface AvatarScore {
  readonly avatar: string;
  /** Newest scored frame. */
  readonly seq: number;
  /** Frames scored for this avatar in this tick. */
  readonly frames: number;
  /** Highest frame score among them. */
  readonly frameScore: number;
  /** Joint scores of that frame, canonical joint order. */
  readonly jointScores: readonly number[];
  readonly fraction: number;
  readonly alerting: boolean;
}

export interface ScoresMessage {
  readonly type: 'scores';
  /** Server time, epoch milliseconds. */
  readonly time: number;
  readonly avatars: readonly AvatarScore[];
}

export type ServerMessage = ReadyMessage | ErrorMessage | SubscribedMessage | AlertMessage | ScoresMessage;

export type MessageFormat = 'msgpack' | 'json';

/**
 * Protocol v1 on the wire (pure): decodes and validates client messages, limits checked
 * before any work, and encodes server messages as msgpack or JSON text. A failure is a
 * Rejection carrying a stable error code, never an exception, so one bad frame costs one
 * small object and leaves everything else alone.
 */
import os from 'node:os';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { CANONICAL_JOINTS } from '../model/skeleton.js';
import {
  MAX_DECLARED_JOINTS,
  MAX_FPS,
  MIN_FPS,
  PROTOCOL_VERSION,
  UNITS,
  type ErrorCode,
  type ErrorMessage,
  type Limits,
  type MessageFormat,
  type ServerMessage,
  type SkeletonPreset,
  type Units,
} from './protocol.js';
import { SkeletonError, isSkeletonPreset, resolveSkeletonLayout, type SkeletonLayout } from './skeleton-layout.js';

const J = CANONICAL_JOINTS.length;

/** Why a message or a frame was refused; becomes an `error` reply. */
export class Rejection {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
    readonly avatar?: string,
    readonly seq?: number,
  ) {}

  toMessage(index?: number): ErrorMessage {
    return {
      type: 'error',
      code: this.code,
      message: this.message,
      ...(this.avatar === undefined ? {} : { avatar: this.avatar }),
      ...(this.seq === undefined ? {} : { seq: this.seq }),
      ...(index === undefined ? {} : { index }),
    };
  }
}

/** A decoded message: a map with a string `type`. */
export interface Envelope {
  readonly type: string;
  readonly body: Readonly<Record<string, unknown>>;
}

function isMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function envelope(value: unknown): Envelope | Rejection {
  if (!isMap(value)) return new Rejection('bad_message', 'a message must be a map');
  if (typeof value.type !== 'string') return new Rejection('bad_message', "a message needs a string 'type'");
  return { type: value.type, body: value };
}

/** A msgpack decoder whose own limits never exceed the message limit (the byte check comes first anyway). */
export function createDecoder(limits: Limits): Decoder {
  const n = limits.maxMessageBytes;
  return new Decoder({ maxStrLength: n, maxBinLength: n, maxArrayLength: n, maxMapLength: n, maxExtLength: n });
}

/** Size check, then msgpack decode, then the envelope check. */
export function decodeMessage(data: Uint8Array, limits: Limits, decoder: Decoder = createDecoder(limits)): Envelope | Rejection {
  if (data.byteLength > limits.maxMessageBytes) {
    return new Rejection('payload_too_large', `message of ${data.byteLength} bytes exceeds the limit of ${limits.maxMessageBytes}`);
  }
  let value: unknown;
  try {
    value = decoder.decode(data);
  } catch (error) {
    return new Rejection('malformed_message', `not valid msgpack: ${(error as Error).message}`);
  }
  return envelope(value);
}

/** The JSON text variant (subscribers only). */
export function decodeJsonMessage(text: string, limits: Limits): Envelope | Rejection {
  if (Buffer.byteLength(text) > limits.maxMessageBytes) {
    return new Rejection('payload_too_large', `message exceeds the limit of ${limits.maxMessageBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return new Rejection('malformed_message', `not valid JSON: ${(error as Error).message}`);
  }
  return envelope(value);
}

// ---------------------------------------------------------------------------
// hello
// ---------------------------------------------------------------------------

export interface Hello {
  readonly skeleton: SkeletonPreset | readonly string[];
  readonly units: Units;
  readonly fps: number;
  readonly layout: SkeletonLayout;
}

export function parseHello(body: Readonly<Record<string, unknown>>): Hello | Rejection {
  if (body.v !== PROTOCOL_VERSION) return new Rejection('unsupported_version', `this server speaks protocol v${PROTOCOL_VERSION}, got v=${JSON.stringify(body.v) ?? 'undefined'}`);
  const { skeleton, units, fps } = body;
  if (!(typeof units === 'string' && (UNITS as readonly string[]).includes(units))) {
    return new Rejection('bad_message', `units must be one of ${UNITS.join(', ')}`);
  }
  if (!(typeof fps === 'number' && fps >= MIN_FPS && fps <= MAX_FPS)) return new Rejection('bad_message', `fps must be a number in [${MIN_FPS}, ${MAX_FPS}]`);
  let names: SkeletonPreset | string[];
  if (isSkeletonPreset(skeleton)) {
    names = skeleton;
  } else if (Array.isArray(skeleton) && skeleton.every((n) => typeof n === 'string')) {
    names = skeleton as string[];
  } else {
    return new Rejection('bad_skeleton', `skeleton must be a preset (canonical, unity, bandai-namco, mixamo, vrm) or an array of joint names`);
  }
  try {
    return { skeleton: names, units: units as Units, fps, layout: resolveSkeletonLayout(names, units as Units) };
  } catch (error) {
    if (error instanceof SkeletonError) return new Rejection('bad_skeleton', error.message);
    throw error;
  }
}

// ---------------------------------------------------------------------------
// frame / frames
// ---------------------------------------------------------------------------

/** Identity of a parsed frame; one instance is reused for every frame, so parsing allocates nothing on success. */
export class FrameHeader {
  avatar = '';
  seq = 0;
  t = 0;
}

/** Control characters (U+0000-U+001F, U+007F) would corrupt logs and dashboards. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function checkAvatarId(avatar: unknown, limits: Limits): Rejection | null {
  if (typeof avatar !== 'string') return new Rejection('bad_avatar_id', 'avatar must be a string');
  if (avatar.length === 0 || avatar.length > limits.maxAvatarIdLength) {
    return new Rejection('bad_avatar_id', `avatar id must have 1 to ${limits.maxAvatarIdLength} characters`, avatar.slice(0, limits.maxAvatarIdLength));
  }
  if (hasControlCharacter(avatar)) return new Rejection('bad_avatar_id', 'avatar id must not contain control characters');
  return null;
}

const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';
// An aligned copy of one frame's bytes: msgpack bin payloads sit at arbitrary offsets.
const scratchBytes = new Uint8Array(4 * 3 * MAX_DECLARED_JOINTS);
const scratchFloats = new Float32Array(scratchBytes.buffer);

/**
 * Validates one frame body (of `frame`, or an element of `frames`) and writes its 21
 * canonical joints, in metres, to out[outOffset ... outOffset + 63). Fills `header` on success.
 */
export function parseFrame(
  body: unknown,
  layout: SkeletonLayout,
  limits: Limits,
  out: Float32Array,
  header: FrameHeader,
  outOffset = 0,
): Rejection | null {
  if (!isMap(body)) return new Rejection('bad_message', 'a frame must be a map');
  const { avatar, seq, t, joints } = body;
  const badId = checkAvatarId(avatar, limits);
  if (badId) return badId;
  const id = avatar as string;
  if (!(typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0)) return new Rejection('bad_message', 'seq must be a non-negative integer', id);
  if (!(typeof t === 'number' && Number.isFinite(t))) return new Rejection('bad_message', 't must be a finite number (milliseconds)', id, seq);
  const expected = layout.declaredJoints * 3;
  const scale = layout.metresPerUnit;
  const src = layout.sourceIndex;
  if (joints instanceof Uint8Array) {
    if (joints.byteLength !== expected * 4) {
      return new Rejection('bad_joint_count', `joints holds ${joints.byteLength} bytes; ${layout.declaredJoints} joints need ${expected * 4} (float32 x, y, z each)`, id, seq);
    }
    let view: DataView | null = null;
    if (LITTLE_ENDIAN_HOST) scratchBytes.set(joints);
    else view = new DataView(joints.buffer, joints.byteOffset, joints.byteLength);
    for (let j = 0; j < J; j++) {
      const s = src[j]! * 3;
      for (let axis = 0; axis < 3; axis++) {
        const v = view ? view.getFloat32((s + axis) * 4, true) : scratchFloats[s + axis]!;
        if (!Number.isFinite(v)) return new Rejection('non_finite', `joint ${CANONICAL_JOINTS[j]} has a non-finite coordinate`, id, seq);
        out[outOffset + j * 3 + axis] = v * scale;
      }
    }
  } else if (Array.isArray(joints)) {
    if (joints.length !== expected) {
      return new Rejection('bad_joint_count', `joints holds ${joints.length} numbers; ${layout.declaredJoints} joints need ${expected}`, id, seq);
    }
    for (let i = 0; i < expected; i++) if (typeof joints[i] !== 'number') return new Rejection('bad_message', 'joints must hold numbers', id, seq);
    for (let j = 0; j < J; j++) {
      const s = src[j]! * 3;
      for (let axis = 0; axis < 3; axis++) {
        const v = joints[s + axis] as number;
        if (!Number.isFinite(v)) return new Rejection('non_finite', `joint ${CANONICAL_JOINTS[j]} has a non-finite coordinate`, id, seq);
        out[outOffset + j * 3 + axis] = v * scale;
      }
    }
  } else {
    return new Rejection('bad_message', 'joints must be a bin of float32 little-endian or an array of numbers', id, seq);
  }
  header.avatar = id;
  header.seq = seq;
  header.t = t;
  return null;
}

/** The frame list of a `frames` message, its length checked before any frame is looked at. */
export function framesOf(body: Readonly<Record<string, unknown>>, limits: Limits): readonly unknown[] | Rejection {
  const { frames } = body;
  if (!Array.isArray(frames)) return new Rejection('bad_message', "'frames' must be an array of frames");
  if (frames.length > limits.maxFramesPerMessage) {
    return new Rejection('too_many_frames', `${frames.length} frames in one message exceed the limit of ${limits.maxFramesPerMessage}`);
  }
  return frames;
}

// ---------------------------------------------------------------------------
// subscribe
// ---------------------------------------------------------------------------

/** Most avatar ids one subscribe message may list. */
export const MAX_SUBSCRIBED_AVATARS = 10_000;

export interface Subscription {
  readonly avatars: readonly string[] | null;
  readonly prefix: string | null;
  readonly scores: boolean;
}

export function parseSubscribe(body: Readonly<Record<string, unknown>>, limits: Limits): Subscription | Rejection {
  const { avatars, prefix, scores } = body;
  if (avatars !== undefined && avatars !== null) {
    if (!Array.isArray(avatars) || avatars.length > MAX_SUBSCRIBED_AVATARS) {
      return new Rejection('bad_message', `avatars must be an array of at most ${MAX_SUBSCRIBED_AVATARS} avatar ids`);
    }
    for (const avatar of avatars) {
      const bad = checkAvatarId(avatar, limits);
      if (bad) return bad;
    }
  }
  if (prefix !== undefined && prefix !== null && !(typeof prefix === 'string' && prefix.length <= limits.maxAvatarIdLength)) {
    return new Rejection('bad_message', `prefix must be a string of at most ${limits.maxAvatarIdLength} characters`);
  }
  if (scores !== undefined && scores !== null && typeof scores !== 'boolean') return new Rejection('bad_message', 'scores must be a boolean');
  return {
    avatars: Array.isArray(avatars) ? (avatars as string[]) : null,
    prefix: typeof prefix === 'string' ? prefix : null,
    scores: scores === true,
  };
}

// ---------------------------------------------------------------------------
// encoding
// ---------------------------------------------------------------------------

const encoder = new Encoder({ ignoreUndefined: true });
// Scores are float32 in the model: 5 bytes per number instead of 9, nothing lost.
const compactEncoder = new Encoder({ ignoreUndefined: true, forceFloat32: true });

export function encodeMessage(message: ServerMessage, format: MessageFormat = 'msgpack'): Uint8Array | string {
  if (format === 'json') return JSON.stringify(message);
  return (message.type === 'scores' ? compactEncoder : encoder).encode(message);
}

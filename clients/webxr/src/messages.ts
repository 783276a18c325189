/**
 * Protocol v1 messages as the browser builds and reads them (pure, no sockets): joints as a
 * little-endian float32 bin, `hello`, `frame`, `frames` split to the server's limits, and
 * server messages decoded from msgpack or JSON text. The types are the server's own
 * (src/stream/protocol.ts), imported, never copied.
 */
import { decode, encode } from '@msgpack/msgpack';
import {
  DEFAULT_LIMITS,
  PROTOCOL_VERSION,
  type FrameData,
  type FrameMessage,
  type FramesMessage,
  type HelloMessage,
  type Limits,
  type PublisherMessage,
  type ServerMessage,
  type SkeletonPreset,
  type SubscribeMessage,
  type Units,
} from '../../../src/stream/protocol.js';

/** What a publisher declares in `hello`. */
export interface PublishOptions {
  /** A preset (frames in canonical order) or the joint names in the order frames carry them. Default 'canonical'. */
  readonly skeleton?: SkeletonPreset | readonly string[];
  /** Default 'm' (WebXR and three.js are in metres). */
  readonly units?: Units;
  /** The publisher's frame rate: frame seq n is at n / fps seconds. Default 30. */
  readonly fps?: number;
}

export function helloMessage(options: PublishOptions = {}): HelloMessage {
  return { type: 'hello', v: PROTOCOL_VERSION, skeleton: options.skeleton ?? 'canonical', units: options.units ?? 'm', fps: options.fps ?? 30 };
}

/** Joints per frame a skeleton declares (21 for a preset). */
export function declaredJointCount(skeleton: PublishOptions['skeleton']): number {
  return typeof skeleton === 'string' || skeleton === undefined ? 21 : skeleton.length;
}

/** x, y, z values as the protocol's `joints` bin: little-endian float32 whatever the host's byte order. */
export function jointsBin(positions: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(positions.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < positions.length; i++) view.setFloat32(i * 4, positions[i]!, true);
  return bytes;
}

/** One frame's data; `joints` encoded as the bin. */
export function frameData(avatar: string, seq: number, t: number, positions: ArrayLike<number>): FrameData {
  return { avatar, seq, t, joints: jointsBin(positions) };
}

export function frameMessage(frame: FrameData): FrameMessage {
  return { type: 'frame', ...frame };
}

export function framesMessage(frames: readonly FrameData[]): FramesMessage {
  return { type: 'frames', frames };
}

/** Msgpack bytes of a message (maps with string keys; Uint8Array becomes bin). */
export function encodeMessage(message: PublisherMessage | SubscribeMessage): Uint8Array {
  return encode(message);
}

/** A generous upper bound of one frame's msgpack size inside a `frames` array. */
export function frameBytes(frame: FrameData): number {
  const joints = frame.joints instanceof Uint8Array ? frame.joints.byteLength + 5 : frame.joints.length * 9 + 5;
  // Keys (avatar, seq, t, joints) with their headers, a float64 t, a uint64 seq, the avatar string (UTF-8 at most 3 bytes per UTF-16 unit).
  return 40 + 3 * frame.avatar.length + joints;
}

/**
 * Splits frames into `frames` messages that respect the server's limits: at most
 * maxFramesPerMessage frames and (by a safe upper bound) maxMessageBytes bytes each.
 */
export function chunkFrames(frames: readonly FrameData[], limits: Pick<Limits, 'maxFramesPerMessage' | 'maxMessageBytes'> = DEFAULT_LIMITS): FrameData[][] {
  const budget = limits.maxMessageBytes - 16;
  const chunks: FrameData[][] = [];
  let chunk: FrameData[] = [];
  let bytes = 0;
  for (const frame of frames) {
    const size = frameBytes(frame);
    if (chunk.length > 0 && (chunk.length >= limits.maxFramesPerMessage || bytes + size > budget)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(frame);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

const SERVER_TYPES = new Set<string>(['ready', 'error', 'subscribed', 'alert', 'scores']);

export class MessageDecodeError extends Error {
  override readonly name = 'MessageDecodeError';
}

/** A server message from a WebSocket payload: msgpack (binary) or JSON (text). Throws MessageDecodeError when it is neither, or has no known `type`. */
export function decodeServerMessage(data: ArrayBuffer | ArrayBufferView | string): ServerMessage {
  let value: unknown;
  try {
    if (typeof data === 'string') value = JSON.parse(data);
    else if (data instanceof ArrayBuffer) value = decode(new Uint8Array(data));
    else value = decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } catch (error) {
    throw new MessageDecodeError(`undecodable server message: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    throw new MessageDecodeError('a server message must be a map with a string type');
  }
  const type = (value as { type: string }).type;
  if (!SERVER_TYPES.has(type)) throw new MessageDecodeError(`unknown server message type '${type}'`);
  return value as ServerMessage;
}

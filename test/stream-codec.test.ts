import { decode, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { CANONICAL_JOINTS } from '../src/model/skeleton.js';
import {
  FrameHeader,
  Rejection,
  decodeJsonMessage,
  decodeMessage,
  encodeMessage,
  framesOf,
  parseFrame,
  parseHello,
  parseSubscribe,
  type Envelope,
  type Hello,
} from '../src/stream/codec.js';
import { DEFAULT_LIMITS, type ScoresMessage } from '../src/stream/protocol.js';
import { float32Bin, pose } from './helpers/poses.js';

const limits = DEFAULT_LIMITS;
const J = CANONICAL_JOINTS.length;

function envelope(value: unknown): Envelope {
  const result = decodeMessage(encode(value), limits);
  if (result instanceof Rejection) throw new Error(result.message);
  return result;
}

function hello(skeleton: unknown = 'canonical', units = 'm', fps = 30): Hello {
  const result = parseHello(envelope({ type: 'hello', v: 1, skeleton, units, fps }).body);
  if (result instanceof Rejection) throw new Error(result.message);
  return result;
}

function frameResult(body: Record<string, unknown>, h: Hello = hello()): { rejection: Rejection | null; out: Float32Array; header: FrameHeader } {
  const out = new Float32Array(J * 3);
  const header = new FrameHeader();
  // Through msgpack, so bins sit at arbitrary offsets of the message as they do in the server.
  const decoded = envelope({ type: 'frame', ...body }).body;
  return { rejection: parseFrame(decoded, h.layout, limits, out, header), out, header };
}

const code = (r: unknown): string | undefined => (r instanceof Rejection ? r.code : undefined);

describe('decodeMessage', () => {
  it('decodes a msgpack map with a type', () => {
    expect(envelope({ type: 'hello', v: 1 }).type).toBe('hello');
  });

  it('refuses an oversized message before decoding it', () => {
    const big = new Uint8Array(limits.maxMessageBytes + 1).fill(0xc1); // 0xc1 is never valid msgpack
    const result = decodeMessage(big, limits);
    expect(code(result)).toBe('payload_too_large');
  });

  it('reports malformed msgpack, trailing bytes, non-maps and missing types', () => {
    expect(code(decodeMessage(new Uint8Array([0xc1]), limits))).toBe('malformed_message');
    expect(code(decodeMessage(new Uint8Array([0x92, 0x01]), limits))).toBe('malformed_message'); // truncated array
    expect(code(decodeMessage(new Uint8Array([...encode({ type: 'x' }), 0x01]), limits))).toBe('malformed_message');
    expect(code(decodeMessage(encode([1, 2]), limits))).toBe('bad_message');
    expect(code(decodeMessage(encode(new Uint8Array(4)), limits))).toBe('bad_message');
    expect(code(decodeMessage(encode({ kind: 'hello' }), limits))).toBe('bad_message');
    expect(code(decodeMessage(encode({ type: 3 }), limits))).toBe('bad_message');
  });

  it('decodes JSON text (subscribers)', () => {
    expect(decodeJsonMessage('{"type":"subscribe"}', limits)).toMatchObject({ type: 'subscribe' });
    expect(code(decodeJsonMessage('{"type":', limits))).toBe('malformed_message');
    expect(code(decodeJsonMessage('"subscribe"', limits))).toBe('bad_message');
  });
});

describe('hello', () => {
  it('accepts presets, units and fps', () => {
    expect(hello('unity', 'cm', 72)).toMatchObject({ units: 'cm', fps: 72, layout: { declaredJoints: 21, metresPerUnit: 0.01 } });
  });

  it('rejects other versions, units, fps and skeletons with stable codes', () => {
    const parse = (fields: Record<string, unknown>): unknown => parseHello({ type: 'hello', v: 1, skeleton: 'canonical', units: 'm', fps: 30, ...fields });
    expect(code(parse({ v: 2 }))).toBe('unsupported_version');
    expect(code(parse({ v: undefined }))).toBe('unsupported_version');
    expect(code(parse({ units: 'inch' }))).toBe('bad_message');
    expect(code(parse({ fps: 0 }))).toBe('bad_message');
    expect(code(parse({ fps: Number.NaN }))).toBe('bad_message');
    expect(code(parse({ fps: '30' }))).toBe('bad_message');
    expect(code(parse({ skeleton: 'kinect' }))).toBe('bad_skeleton');
    expect(code(parse({ skeleton: [1, 2] }))).toBe('bad_skeleton');
    const missing = parse({ skeleton: CANONICAL_JOINTS.slice(1) });
    expect(code(missing)).toBe('bad_skeleton');
    expect((missing as Rejection).message).toMatch(/Hips/);
  });
});

describe('frame', () => {
  const joints = pose(3);

  it('reads a float32 little-endian bin into canonical joints in metres', () => {
    const { rejection, out, header } = frameResult({ avatar: 'a-1', seq: 7, t: 123.5, joints: float32Bin(joints) });
    expect(rejection).toBeNull();
    expect(header).toMatchObject({ avatar: 'a-1', seq: 7, t: 123.5 });
    expect(Array.from(out)).toEqual(Array.from(joints));
  });

  it('reads a plain number array, scales units and reorders a declared skeleton', () => {
    const names = [...CANONICAL_JOINTS].reverse();
    const declared: number[] = [];
    for (let i = 0; i < J; i++) declared.push(...Array.from(joints.subarray((J - 1 - i) * 3, (J - i) * 3), (v) => v * 100));
    const { rejection, out } = frameResult({ avatar: 'a', seq: 0, t: 0, joints: declared }, hello(names, 'cm'));
    expect(rejection).toBeNull();
    for (let i = 0; i < J * 3; i++) expect(out[i]).toBeCloseTo(joints[i]!, 5);
  });

  it('ignores extra joints, even non-finite ones', () => {
    const names = [...CANONICAL_JOINTS, 'LeftEye'];
    const values = [...Array.from(joints), Number.NaN, 0, 0];
    expect(frameResult({ avatar: 'a', seq: 0, t: 0, joints: values }, hello(names)).rejection).toBeNull();
    expect(frameResult({ avatar: 'a', seq: 0, t: 0, joints: float32Bin(values) }, hello(names)).rejection).toBeNull();
  });

  it('rejects wrong joint counts, non-finite coordinates and wrong types with the avatar and seq', () => {
    const bad = (fields: Record<string, unknown>): Rejection => frameResult({ avatar: 'a', seq: 4, t: 0, joints: float32Bin(joints), ...fields }).rejection!;
    expect(bad({ joints: float32Bin(joints.subarray(3)) })).toMatchObject({ code: 'bad_joint_count', avatar: 'a', seq: 4 });
    expect(bad({ joints: [1, 2, 3] }).code).toBe('bad_joint_count');
    const withNaN = Float32Array.from(joints);
    withNaN[10] = Number.NaN;
    expect(bad({ joints: float32Bin(withNaN) })).toMatchObject({ code: 'non_finite', avatar: 'a', seq: 4 });
    const withInfinity = Array.from(joints);
    withInfinity[0] = Number.POSITIVE_INFINITY;
    expect(bad({ joints: withInfinity }).code).toBe('non_finite');
    expect(bad({ joints: Array.from(joints, () => 'x') }).code).toBe('bad_message');
    expect(bad({ joints: 'nope' }).code).toBe('bad_message');
    expect(bad({ seq: -1 }).code).toBe('bad_message');
    expect(bad({ seq: 1.5 }).code).toBe('bad_message');
    expect(bad({ t: undefined }).code).toBe('bad_message');
  });

  it('rejects bad avatar ids', () => {
    const bad = (avatar: unknown): string | undefined => code(frameResult({ avatar, seq: 0, t: 0, joints: float32Bin(joints) }).rejection);
    expect(bad('')).toBe('bad_avatar_id');
    expect(bad('x'.repeat(limits.maxAvatarIdLength + 1))).toBe('bad_avatar_id');
    expect(bad('tab\there')).toBe('bad_avatar_id');
    expect(bad(42)).toBe('bad_avatar_id');
    expect(bad('player/7:ok-ID_é')).toBeUndefined();
  });

  it('checks the frame count of a frames message before looking at frames', () => {
    expect(code(framesOf({ frames: new Array(limits.maxFramesPerMessage + 1).fill(0) }, limits))).toBe('too_many_frames');
    expect(code(framesOf({ frames: 'x' }, limits))).toBe('bad_message');
    expect(framesOf({ frames: [] }, limits)).toEqual([]);
  });
});

describe('subscribe', () => {
  it('defaults to every avatar, no scores', () => {
    expect(parseSubscribe({ type: 'subscribe' }, limits)).toEqual({ avatars: null, prefix: null, scores: false });
    expect(parseSubscribe({ type: 'subscribe', avatars: ['a'], prefix: 'room-1/', scores: true }, limits)).toEqual({ avatars: ['a'], prefix: 'room-1/', scores: true });
  });

  it('rejects wrong types', () => {
    expect(code(parseSubscribe({ avatars: 'a' }, limits))).toBe('bad_message');
    expect(code(parseSubscribe({ avatars: [''] }, limits))).toBe('bad_avatar_id');
    expect(code(parseSubscribe({ prefix: 3 }, limits))).toBe('bad_message');
    expect(code(parseSubscribe({ scores: 'yes' }, limits))).toBe('bad_message');
  });
});

describe('encodeMessage', () => {
  const scores: ScoresMessage = {
    type: 'scores',
    time: 1_700_000_000_123,
    avatars: [{ avatar: 'a', seq: 3, frames: 3, frameScore: 0.1, jointScores: Array.from({ length: J }, (_, j) => j / 7), fraction: 0.25, alerting: false }],
  };

  it('encodes msgpack (scores as float32) and JSON', () => {
    const bytes = encodeMessage(scores) as Uint8Array;
    const back = decode(bytes) as ScoresMessage;
    expect(back.time).toBe(scores.time);
    expect(back.avatars[0]!.jointScores[3]).toBeCloseTo(3 / 7, 6);
    expect(bytes.length).toBeLessThan((encode(scores) as Uint8Array).length);
    expect(JSON.parse(encodeMessage(scores, 'json') as string)).toEqual(scores);
  });

  it('leaves out undefined optional fields', () => {
    const error = new Rejection('non_finite', 'x', 'a').toMessage();
    expect(decode(encodeMessage(error) as Uint8Array)).toEqual({ type: 'error', code: 'non_finite', message: 'x', avatar: 'a' });
  });
});

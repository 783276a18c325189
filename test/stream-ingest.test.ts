import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { Detector } from '../src/stream/detector.js';
import { IngestSession, MAX_ERROR_REPLIES_PER_MESSAGE } from '../src/stream/ingest.js';
import { Metrics } from '../src/stream/metrics.js';
import { DEFAULT_LIMITS, type Limits } from '../src/stream/protocol.js';
import { FakeConnection } from './helpers/fake-connection.js';
import { FakeScorer } from './helpers/fake-scorer.js';
import { float32Bin, pose } from './helpers/poses.js';

function setup(limits: Partial<Limits> = {}, maxConsecutiveErrors = 5) {
  const scorer = new FakeScorer();
  const metrics = new Metrics({ defaultMetrics: false });
  const detector = new Detector({ scorer, metrics });
  const connection = new FakeConnection();
  const session = new IngestSession(connection, { detector, limits: { ...DEFAULT_LIMITS, ...limits }, maxConsecutiveErrors, metrics });
  const send = (message: unknown): void => session.receive(encode(message), true);
  return { scorer, detector, connection, session, send, metrics };
}

const HELLO = { type: 'hello', v: 1, skeleton: 'canonical', units: 'm', fps: 30 };
const frame = (avatar: string, seq: number, joints: unknown = float32Bin(pose(seq))) => ({ avatar, seq, t: seq * 33.3, joints });

describe('ingest session', () => {
  it('answers hello with ready: model fps, canonical joint order, limits, thresholds', () => {
    const s = setup();
    s.send(HELLO);
    const [ready] = s.connection.messages;
    expect(ready).toMatchObject({ type: 'ready', v: 1, fps: 30, joints: 21, limits: DEFAULT_LIMITS, thresholds: { frame: 1, spike: 5 } });
    expect((ready!.jointNames as string[])[0]).toBe('Hips');
  });

  it('requires hello before frames, and only one hello', () => {
    const s = setup();
    s.send({ type: 'frame', ...frame('a', 0) });
    expect(s.connection.messages[0]).toMatchObject({ type: 'error', code: 'hello_required' });
    s.send(HELLO);
    s.send(HELLO);
    expect(s.connection.messages.at(-1)).toMatchObject({ type: 'error', code: 'bad_message' });
  });

  it('hands good frames to the detector and rejects bad ones in the same frames message by index', async () => {
    const s = setup();
    s.send(HELLO);
    const nan = Float32Array.from(pose(1));
    nan[5] = Number.NaN;
    s.send({
      type: 'frames',
      frames: [frame('good', 0), frame('bad', 0, nan.subarray(3)), frame('good', 1), frame('bad', 1, float32Bin(nan)), 'junk', frame('other', 0, Array.from(pose(0)))],
    });
    const errors = s.connection.ofType('error');
    expect(errors).toEqual([
      expect.objectContaining({ code: 'bad_joint_count', avatar: 'bad', seq: 0, index: 1 }),
      expect.objectContaining({ code: 'non_finite', avatar: 'bad', seq: 1, index: 3 }),
      expect.objectContaining({ code: 'bad_message', index: 4 }),
    ]);
    await s.detector.tick();
    expect(s.scorer.calls[0]).toEqual([
      { avatar: 'good', frames: 2 },
      { avatar: 'other', frames: 1 },
    ]);
    expect(s.connection.closed).toBeNull();
  });

  it('reports duplicates and out-of-order frames', () => {
    const s = setup();
    s.send(HELLO);
    s.send({ type: 'frames', frames: [frame('a', 5), frame('a', 5), frame('a', 4)] });
    expect(s.connection.ofType('error').map((e) => e.code)).toEqual(['duplicate_frame', 'out_of_order']);
  });

  it('limits avatars per connection', () => {
    const s = setup({ maxAvatarsPerConnection: 2 });
    s.send(HELLO);
    s.send({ type: 'frames', frames: [frame('a', 0), frame('b', 0), frame('c', 0), frame('a', 1)] });
    expect(s.connection.ofType('error')).toEqual([expect.objectContaining({ code: 'too_many_avatars', avatar: 'c', index: 2 })]);
    expect(s.session.avatarCount).toBe(2);
  });

  it('answers at most a few rejected frames of one message one by one, then one errors_truncated', () => {
    const s = setup();
    s.send(HELLO);
    s.send({ type: 'frames', frames: Array.from({ length: 30 }, (_, i) => frame(`a${i}`, 0, [1, 2])) });
    const errors = s.connection.ofType('error');
    expect(errors).toHaveLength(MAX_ERROR_REPLIES_PER_MESSAGE + 1);
    expect(errors.at(-1)).toMatchObject({ code: 'errors_truncated' });
    expect(errors.at(-1)!.message).toMatch(/^20 more frames/);
  });

  it('rejects oversized, malformed, text and unknown messages with their codes', () => {
    const s = setup({ maxMessageBytes: 2048, maxFramesPerMessage: 10 });
    s.send(HELLO);
    s.session.receive(new Uint8Array(4096), true);
    s.session.receive(new Uint8Array([0xc1, 0x00]), true);
    s.session.receive('{"type":"hello"}', false);
    s.send({ type: 'subscribe' });
    s.send({ type: 'frames', frames: new Array(11).fill(0) });
    expect(s.connection.ofType('error').map((e) => e.code)).toEqual(['payload_too_large', 'malformed_message', 'malformed_message', 'unknown_type', 'too_many_frames']);
  });

  it('closes a connection after more than maxConsecutiveErrors bad messages (1008, with a reason)', () => {
    const s = setup({}, 3);
    s.send(HELLO);
    for (let i = 0; i < 3; i++) s.session.receive(new Uint8Array([0xc1]), true);
    expect(s.connection.closed).toBeNull();
    s.send({ type: 'frame', ...frame('a', 0) }); // a good message resets the count
    for (let i = 0; i < 3; i++) s.session.receive(new Uint8Array([0xc1]), true);
    expect(s.connection.closed).toBeNull();
    s.session.receive(new Uint8Array([0xc1]), true);
    expect(s.connection.closed).toEqual({ code: 1008, reason: 'too many consecutive bad messages (4)' });
    const sent = s.connection.sent.length;
    s.send({ type: 'frame', ...frame('a', 1) });
    expect(s.connection.sent.length).toBe(sent); // nothing more after closing
  });

  it('stops replying to a client that does not read its replies', () => {
    const s = setup();
    s.send(HELLO);
    s.connection.bufferedAmount = 10 << 20;
    s.session.receive(new Uint8Array([0xc1]), true);
    expect(s.connection.ofType('error')).toHaveLength(0);
  });

  it('counts frames by result and errors by code', async () => {
    const s = setup();
    s.send(HELLO);
    s.send({ type: 'frames', frames: [frame('a', 0), frame('a', 0), frame('a', 1, [1])] });
    s.send({ type: 'frames', frames: [frame('a', 1), frame('b', 0), frame('c', 0)] });
    s.send({ type: 'frame', ...frame('a', 2) });
    const text = await s.metrics.text();
    expect(text).toMatch(/motionguard_frames_received_total\{result="accepted"\} 5\n/);
    expect(text).toMatch(/motionguard_frames_received_total\{result="duplicate"\} 1/);
    expect(text).toMatch(/motionguard_frames_received_total\{result="rejected"\} 1/);
    expect(text).toMatch(/motionguard_protocol_errors_total\{code="bad_joint_count"\} 1/);
  });
});

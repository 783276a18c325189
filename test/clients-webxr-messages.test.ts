/**
 * The browser library's pure parts: protocol messages (decoded with @msgpack/msgpack and parsed
 * with the server's own codec), the chunking of `frames` to the server's limits, server message
 * decoding, the reconnect backoff schedule and the publishing frame clock.
 */
import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelay, resolveBackoff, scheduledDelay } from '../clients/webxr/src/backoff.js';
import { FrameClock } from '../clients/webxr/src/frame-clock.js';
import {
  MessageDecodeError,
  chunkFrames,
  decodeServerMessage,
  encodeMessage,
  frameData,
  frameMessage,
  framesMessage,
  helloMessage,
  jointsBin,
} from '../clients/webxr/src/messages.js';
import { endpointUrl } from '../clients/webxr/src/client.js';
import { CANONICAL_JOINTS } from '../src/model/skeleton.js';
import { FrameHeader, decodeMessage, encodeMessage as serverEncode, framesOf, parseFrame, parseHello, type Hello } from '../src/stream/codec.js';
import { DEFAULT_LIMITS, type AlertMessage } from '../src/stream/protocol.js';

const J = CANONICAL_JOINTS.length;
const pose = (k: number): Float32Array => Float32Array.from({ length: J * 3 }, (_, i) => Math.sin(i + k) * 1.7 + 0.1 * i);

describe('protocol messages', () => {
  it('encodes joints as little-endian float32, whatever the host', () => {
    const bytes = jointsBin([1.5, -2.25, 1e-3]);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.byteLength).toBe(12);
    const view = new DataView(bytes.buffer);
    expect([view.getFloat32(0, true), view.getFloat32(4, true), view.getFloat32(8, true)]).toEqual([1.5, -2.25, Math.fround(1e-3)]);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x00, 0x00, 0xc0, 0x3f]);
  });

  it('sends a hello the server accepts, with canonical/metres/30 fps defaults', () => {
    const decoded = decode(encodeMessage(helloMessage())) as Record<string, unknown>;
    expect(decoded).toEqual({ type: 'hello', v: 1, skeleton: 'canonical', units: 'm', fps: 30 });
    const hello = parseHello(decoded) as Hello;
    expect(hello.layout.declaredJoints).toBe(21);
    const custom = decode(encodeMessage(helloMessage({ skeleton: ['mixamorig:Hips', 'x'], units: 'cm', fps: 72 }))) as Record<string, unknown>;
    expect(custom).toMatchObject({ skeleton: ['mixamorig:Hips', 'x'], units: 'cm', fps: 72 });
  });

  it('sends frame and frames messages whose bin joints the server parses back to the same positions', () => {
    const hello = parseHello(decode(encodeMessage(helloMessage())) as Record<string, unknown>) as Hello;
    const positions = pose(1);
    const single = decode(encodeMessage(frameMessage(frameData('room7/alice', 42, 1764000000000.5, positions)))) as Record<string, unknown>;
    expect(single).toMatchObject({ type: 'frame', avatar: 'room7/alice', seq: 42, t: 1764000000000.5 });
    expect(single.joints).toBeInstanceOf(Uint8Array);
    expect((single.joints as Uint8Array).byteLength).toBe(J * 12);

    const out = new Float32Array(J * 3);
    const header = new FrameHeader();
    expect(parseFrame(single, hello.layout, DEFAULT_LIMITS, out, header)).toBeNull();
    expect(header).toMatchObject({ avatar: 'room7/alice', seq: 42 });
    expect(Array.from(out)).toEqual(Array.from(positions));

    const bytes = encodeMessage(framesMessage([frameData('a', 0, 1, pose(2)), frameData('b', 7, 2, pose(3))]));
    const envelope = decodeMessage(bytes, DEFAULT_LIMITS);
    expect('type' in envelope && envelope.type).toBe('frames');
    const frames = framesOf((envelope as { body: Record<string, unknown> }).body, DEFAULT_LIMITS) as unknown[];
    expect(frames).toHaveLength(2);
    expect(parseFrame(frames[1], hello.layout, DEFAULT_LIMITS, out, header)).toBeNull();
    expect(header).toMatchObject({ avatar: 'b', seq: 7, t: 2 });
    expect(Array.from(out)).toEqual(Array.from(pose(3)));
  });

  it('splits frames into messages within maxFramesPerMessage and maxMessageBytes', () => {
    const frames = Array.from({ length: 500 }, (_, k) => frameData(`avatar-${k % 7}-${'x'.repeat(k % 50)}`, k, Date.now(), pose(k)));
    const limits = { maxFramesPerMessage: 64, maxMessageBytes: 8 * 1024 };
    const chunks = chunkFrames(frames, limits);
    expect(chunks.flat()).toEqual(frames);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(64);
      expect(encodeMessage(framesMessage(chunk)).byteLength).toBeLessThanOrEqual(limits.maxMessageBytes);
    }
    expect(chunks.length).toBeGreaterThan(500 / 64);
    expect(chunkFrames([], limits)).toEqual([]);
    expect(chunkFrames(frames.slice(0, 3))).toEqual([frames.slice(0, 3)]);
  });

  it('decodes server messages from msgpack and JSON, and refuses garbage and unknown types', () => {
    const alert: AlertMessage = {
      type: 'alert', avatar: 'a', state: 'start', time: 1, seq: 2, fraction: 0.5, sequenceScore: 3, frameScore: 4,
      topJoints: [{ joint: 'LeftHand', score: 9 }], episode: 1, reason: 'spike',
    };
    const packed = serverEncode(alert, 'msgpack') as Uint8Array;
    expect(decodeServerMessage(packed)).toEqual(alert);
    expect(decodeServerMessage(new Uint8Array(packed).buffer)).toEqual(alert);
    expect(decodeServerMessage(serverEncode(alert, 'json') as string)).toEqual(alert);
    expect(() => decodeServerMessage('{nope')).toThrow(MessageDecodeError);
    expect(() => decodeServerMessage('{"type":"newfangled"}')).toThrow(/unknown server message type/);
    expect(() => decodeServerMessage('[1,2]')).toThrow(MessageDecodeError);
  });

  it('derives WebSocket URLs from the server URL, keeping a path prefix', () => {
    expect(endpointUrl('http://127.0.0.1:8080', '/v1/ingest')).toBe('ws://127.0.0.1:8080/v1/ingest');
    expect(endpointUrl('https://example.org/mg', '/v1/alerts', { format: 'json' })).toBe('wss://example.org/mg/v1/alerts?format=json');
    expect(endpointUrl(new URL('ws://h:1/'), '/v1/alerts')).toBe('ws://h:1/v1/alerts');
    expect(() => endpointUrl(undefined, '/v1/ingest')).toThrow(/url/);
  });
});

describe('reconnect backoff', () => {
  it('doubles from 500 ms up to a 15 s ceiling (no jitter drawn)', () => {
    const delays = Array.from({ length: 8 }, (_, attempt) => backoffDelay(attempt, DEFAULT_BACKOFF, () => 0));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect(scheduledDelay(100)).toBe(15000);
  });

  it('jitters downward only, by at most `jitter` of the delay', () => {
    const options = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000, factor: 3, jitter: 0.5 });
    expect(backoffDelay(1, options, () => 0.999999)).toBe(150);
    for (let attempt = 0; attempt < 6; attempt++) {
      const delay = backoffDelay(attempt, options, Math.random);
      expect(delay).toBeGreaterThanOrEqual(scheduledDelay(attempt, options) * 0.5 - 1);
      expect(delay).toBeLessThanOrEqual(scheduledDelay(attempt, options));
    }
  });

  it('validates its options at once', () => {
    expect(() => resolveBackoff({ factor: 0.5 })).toThrow(/factor/);
    expect(() => resolveBackoff({ jitter: 2 })).toThrow(/jitter/);
    expect(() => resolveBackoff({ initialDelayMs: 10, maxDelayMs: 5 })).toThrow(/maxDelayMs/);
  });
});

describe('frame clock', () => {
  it('publishes one seq per 1/30 s slot whatever the render rate, skipping slots a slow frame missed', () => {
    const clock = new FrameClock(30);
    const seqs = Array.from({ length: 12 }, (_, k) => clock.next(1000 + (k * 1000) / 90)).filter((s) => s !== null);
    expect(seqs).toEqual([0, 1, 2, 3]);
    expect(clock.next(1000 + 500)).toBe(15);
    expect(clock.next(1000 + 500)).toBeNull();
    clock.reset();
    expect(clock.next(5000)).toBe(0);
    expect(() => new FrameClock(0)).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { createMotion } from '../src/model/motion.js';
import { resampleMotion } from '../src/model/resample.js';
import { CANONICAL_JOINTS } from '../src/model/skeleton.js';
import { AvatarBuffer, type AvatarBufferListener, type PendingFrames, type RestartReason } from '../src/stream/avatar-buffer.js';

const V = 2; // numbers per frame, kept tiny: the buffer does not care what they mean

function buffer(sourceFps = 30, overrides: Partial<ConstructorParameters<typeof AvatarBuffer>[0]> = {}, listener: AvatarBufferListener = {}): AvatarBuffer {
  return new AvatarBuffer({ targetFps: 30, maxGapSeconds: 1, maxPendingFrames: 100, valuesPerFrame: V, ...overrides }, sourceFps, listener);
}

/** Frame of seq s: [s, 10 * s]. */
const frame = (s: number): number[] => [s, 10 * s];

function recorder(): AvatarBufferListener & { interpolated: number; restarts: RestartReason[]; dropped: Record<string, number> } {
  const r = {
    interpolated: 0,
    restarts: [] as RestartReason[],
    dropped: {} as Record<string, number>,
    framesInterpolated: (n: number) => void (r.interpolated += n),
    windowRestarted: (reason: RestartReason) => void r.restarts.push(reason),
    framesDropped: (reason: string, n: number) => void (r.dropped[reason] = (r.dropped[reason] ?? 0) + n),
  };
  return r;
}

describe('avatar buffer', () => {
  it('takes frames from a typed array at an offset exactly as from a plain array, gaps and 60 fps included', () => {
    for (const fps of [30, 60]) {
      const plain = buffer(fps);
      const typed = buffer(fps);
      const packed = new Float32Array(3 * V); // three avatars' frames in one message, as the ingest path holds them
      for (const s of [0, 1, 2, 4, 5, 7]) {
        const values = frame(s).map((x) => x + 0.25);
        packed.set(values, 2 * V);
        plain.push(s, values, s);
        typed.push(s, packed, s, fps, 2 * V);
      }
      const [a, b] = [plain.take()!, typed.take()!];
      expect(Array.from(b.positions)).toEqual(Array.from(a.positions));
      expect(Array.from(b.seqs)).toEqual(Array.from(a.seqs));
    }
  });

  it('passes frames at the scorer fps through unchanged, with their seq and receive time', () => {
    const b = buffer();
    for (let s = 5; s < 9; s++) expect(b.push(s, frame(s), 1000 + s)).toBe('accepted');
    expect(b.pendingFrames).toBe(4);
    const taken = b.take()!;
    expect(Array.from(taken.positions)).toEqual([5, 50, 6, 60, 7, 70, 8, 80]);
    expect(Array.from(taken.seqs)).toEqual([5, 6, 7, 8]);
    expect(Array.from(taken.receivedAt)).toEqual([1005, 1006, 1007, 1008]);
    expect(taken.restart).toBe(false);
    expect(b.take()).toBeNull();
    expect(b.lastSeq).toBe(8);
  });

  it('drops duplicates and out-of-order frames without touching the queue', () => {
    const b = buffer();
    b.push(10, frame(10), 0);
    b.push(11, frame(11), 0);
    expect(b.push(11, frame(99), 0)).toBe('duplicate');
    expect(b.push(9, frame(99), 0)).toBe('out_of_order');
    expect(Array.from(b.take()!.positions)).toEqual([10, 100, 11, 110]);
  });

  it('fills small gaps by linear interpolation and counts the missing frames', () => {
    const events = recorder();
    const b = buffer(30, {}, events);
    b.push(0, [0, 0], 0);
    b.push(4, [4, 40], 1);
    const taken = b.take()!;
    expect(Array.from(taken.positions)).toEqual([0, 0, 1, 10, 2, 20, 3, 30, 4, 40]);
    expect(Array.from(taken.seqs)).toEqual([0, 4, 4, 4, 4]);
    expect(events.interpolated).toBe(3);
    expect(events.restarts).toEqual([]);
  });

  it('restarts the window after a gap over maxGapSeconds: old frames first, then the new window', () => {
    const events = recorder();
    const b = buffer(30, {}, events);
    b.push(0, frame(0), 0);
    b.push(1, frame(1), 0);
    b.push(40, frame(40), 0); // 39 frames = 1.3 s later
    b.push(41, frame(41), 0);
    expect(events.restarts).toEqual(['gap']);
    expect(events.interpolated).toBe(0);
    const old = b.take()!;
    expect(old).toMatchObject({ frames: 2, restart: false });
    const fresh = b.take()!;
    expect(fresh).toMatchObject({ frames: 2, restart: true });
    expect(Array.from(fresh.positions)).toEqual([40, 400, 41, 410]);
    expect(b.take()).toBeNull();
  });

  it('treats a seq far backwards as a publisher restart, a little backwards as out of order', () => {
    const events = recorder();
    const b = buffer(30, {}, events);
    for (let s = 100; s < 103; s++) b.push(s, frame(s), 0);
    expect(b.push(90, frame(90), 0)).toBe('out_of_order');
    expect(b.push(0, frame(0), 0)).toBe('accepted');
    expect(events.restarts).toEqual(['seq_reset']);
    b.take();
    expect(b.take()).toMatchObject({ frames: 1, restart: true });
  });

  it('abandons the short window between two restarts that come before a tick', () => {
    const events = recorder();
    const b = buffer(30, {}, events);
    b.push(0, frame(0), 0);
    b.push(100, frame(100), 0);
    b.push(101, frame(101), 0);
    b.push(300, frame(300), 0);
    expect(events.restarts).toEqual(['gap', 'gap']);
    expect(events.dropped.window_restart).toBe(2);
    expect(b.take()).toMatchObject({ frames: 1, restart: false });
    const last = b.take()!;
    expect(last).toMatchObject({ frames: 1, restart: true });
    expect(Array.from(last.positions)).toEqual([300, 3000]);
  });

  it('bounds the queue: on overflow it drops the queued frames and restarts the window', () => {
    const events = recorder();
    const b = buffer(30, { maxPendingFrames: 10 }, events);
    for (let s = 0; s < 15; s++) b.push(s, frame(s), 0);
    expect(events.dropped.backlog).toBe(10);
    expect(events.restarts).toEqual(['backlog']);
    const taken = b.take()!;
    expect(taken).toMatchObject({ frames: 5, restart: true });
    expect(Array.from(taken.seqs)).toEqual([10, 11, 12, 13, 14]);
  });

  it('restarts when the publisher fps changes', () => {
    const events = recorder();
    const b = buffer(30, {}, events);
    b.push(0, frame(0), 0);
    b.push(1, frame(1), 0, 60);
    expect(events.restarts).toEqual(['fps_change']);
    expect(b.sourceFps).toBe(60);
  });

  it.each([60, 24, 50, 29.97, 90])('resamples %s fps online exactly as resampleMotion does offline', (fps) => {
    const J = CANONICAL_JOINTS.length;
    const frames = 97;
    const positions = Float32Array.from({ length: frames * J * 3 }, (_, i) => Math.sin(i * 0.37) * 2 + (i % 7));
    const offline = resampleMotion(createMotion(fps, CANONICAL_JOINTS, positions), 30);
    const b = new AvatarBuffer({ targetFps: 30, maxGapSeconds: 1, maxPendingFrames: 1000, valuesPerFrame: J * 3 }, fps);
    const parts: PendingFrames[] = [];
    for (let t = 0; t < frames; t++) {
      b.push(t, positions, t, fps, t * J * 3);
      if (t % 7 === 3) parts.push(b.take()!); // ticks at arbitrary points
    }
    const rest = b.take();
    if (rest) parts.push(rest);
    const online = new Float32Array(parts.reduce((n, p) => n + p.positions.length, 0));
    let at = 0;
    for (const p of parts) {
      online.set(p.positions, at);
      at += p.positions.length;
    }
    expect(online.length).toBe(offline.positions.length);
    for (let i = 0; i < online.length; i++) expect(online[i]).toBeCloseTo(offline.positions[i]!, 4);
  });
});

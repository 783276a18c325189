import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMotion } from '../src/model/motion.js';
import { resampledFrameCount } from '../src/model/resample.js';
import { CANONICAL_JOINTS } from '../src/model/skeleton.js';
import { replayClips } from '../src/cli/replay.js';
import type { AlertMessage } from '../src/stream/protocol.js';
import { FakeScorer, J, MARKER, fakeScores } from './helpers/fake-scorer.js';
import { clipPositions, float32Bin } from './helpers/poses.js';
import { startTestServer } from './helpers/test-server.js';
import { TestClient } from './helpers/ws-client.js';
import { walkerBvh } from './fixtures/walker.js';

const FRAMES = 520;

/** A sustained fault [40, 70) and, after that episode has ended (frame 354), a spike at 400 (ends at 489). */
function faultyClip(): Float32Array {
  const positions = clipPositions(FRAMES, { from: 40, to: 70, distance: 2 });
  positions[(400 * J + MARKER) * 3] = 9; // the marker 9 m from the Hips
  return positions;
}

/** What a decision is, without the wall-clock time and the server-wide episode number. */
function decision(alert: AlertMessage): unknown {
  const { time: _time, episode: _episode, type: _type, avatar: _avatar, ...rest } = alert as AlertMessage & { __text?: boolean };
  delete rest.__text;
  return rest;
}

describe('score --replay path', () => {
  it('makes exactly the decisions the server makes on the same frames', async () => {
    const clips = { faulty: faultyClip(), clean: clipPositions(FRAMES) };
    const replayed: AlertMessage[] = [];
    const scorer = new FakeScorer();
    const results = await replayClips(scorer, [createMotion(30, CANONICAL_JOINTS, clips.faulty), createMotion(30, CANONICAL_JOINTS, clips.clean)], {
      onAlert: (clip, alert) => {
        expect(clip).toBe(0);
        replayed.push(alert);
      },
    });
    expect(replayed.map((a) => `${a.state}:${a.reason}`)).toEqual(['start:sustained', 'end:sustained', 'start:spike', 'end:spike']);
    expect(results[0]!.clip).toMatchObject({ anomalous: true, reason: 'both', maxFrameScore: 9 });
    expect(results[1]!.clip).toMatchObject({ anomalous: false, reason: 'none' });
    expect(Array.from(results[0]!.frameScores)).toEqual(Array.from(fakeScores(clips.faulty, FRAMES).frameScores));

    // The same frames through the real server, in differently sized messages, at wall-clock speed.
    const t = await startTestServer(new FakeScorer(), { tickMs: 25 });
    try {
      await t.server.ready;
      const sub = await TestClient.connect(`${t.ws}/v1/alerts`);
      sub.send({ type: 'subscribe', scores: true });
      await sub.waitFor('subscribed');
      const pub = await TestClient.connect(`${t.ws}/v1/ingest`);
      pub.send({ type: 'hello', v: 1, skeleton: 'canonical', units: 'm', fps: 30 });
      await pub.waitFor('ready');
      const newestScored = (): number => Math.max(-1, ...sub.ofType('scores').flatMap((m) => (m.avatars as { seq: number }[]).map((a) => a.seq)));
      for (let f = 0; f < FRAMES; f += 7) {
        const frames = [];
        for (let k = f; k < Math.min(FRAMES, f + 7); k++) {
          for (const [avatar, positions] of Object.entries(clips)) frames.push({ avatar, seq: k, t: k * 33, joints: float32Bin(positions.subarray(k * J * 3, (k + 1) * J * 3)) });
        }
        pub.send({ type: 'frames', frames });
        if (f % 70 === 0) await sub.until(() => newestScored() >= f, `frame ${f} scored`); // keep the backlog small
      }
      await sub.until(() => sub.ofType('alert').length >= 4, '4 alerts');
      await sub.until(() => newestScored() >= FRAMES - 1, 'every frame scored');
      const served = sub.ofType('alert') as unknown as AlertMessage[];
      expect(served.every((a) => a.avatar === 'faulty')).toBe(true);
      expect(served.map(decision)).toEqual(replayed.map(decision));
      sub.close();
      pub.close();
    } finally {
      await t.server.close();
    }
  });

  it('resamples clips at other frame rates online, like the batch path does', async () => {
    const frames = 121;
    const positions = clipPositions(frames);
    const [result] = await replayClips(new FakeScorer(), [createMotion(60, CANONICAL_JOINTS, positions)]);
    expect(result!.frameCount).toBe(resampledFrameCount(frames, 60, 30));
    expect(result!.jointScores.length).toBe(result!.frameCount * J);
  });

  it('never decides on clips shorter than minFrames', async () => {
    const [result] = await replayClips(new FakeScorer(), [createMotion(30, CANONICAL_JOINTS, clipPositions(20, { from: 0, to: 20, distance: 9 }))]);
    expect(result!.clip).toMatchObject({ anomalous: false, fraction: 0 });
  });
});

const run = promisify(execFile);

describe('motionguard score --replay (shipped default model)', () => {
  let dir: string;
  let lines: Record<string, unknown>[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'motionguard-replay-'));
    await writeFile(path.join(dir, 'walk.bvh'), walkerBvh({ frames: 90 }));
    await writeFile(path.join(dir, 'walk60.bvh'), walkerBvh({ frames: 120, cadence: 1.2 }).replace('Frame Time: 0.0333333', 'Frame Time: 0.0166667'));
    await writeFile(path.join(dir, 'broken.bvh'), 'HIERARCHY\nROOT Hips\n{\n');
    const files = ['walk.bvh', 'broken.bvh', 'walk60.bvh'].map((f) => path.join(dir, f));
    const out = await run(process.execPath, [path.resolve('bin/motionguard.mjs'), 'score', '--replay', '--jsonl', ...files], { maxBuffer: 64 << 20 });
    lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the score contract, one line per file in input order, with an error line for a bad file', () => {
    expect(lines.map((l) => path.basename(l.file as string))).toEqual(['walk.bvh', 'broken.bvh', 'walk60.bvh']);
    const [walk, broken, walk60] = lines as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    expect(walk).toMatchObject({ frames: 90, fps: 30, jointNames: [...CANONICAL_JOINTS] });
    expect(walk.frameScores).toHaveLength(90);
    expect((walk.jointScores as number[][]).every((row) => row.length === 21)).toBe(true);
    expect(Number.isFinite(walk.sequenceScore)).toBe(true);
    const clip = walk.clip as Record<string, unknown>;
    expect(typeof clip.anomalous).toBe('boolean');
    expect(clip.maxFrameScore).toBe(Math.max(...(walk.frameScores as number[])));
    expect(walk.thresholds).toMatchObject({ fraction: 0.1 });
    expect(broken.error).toMatch(/broken\.bvh/);
    expect(walk60).toMatchObject({ frames: 60, fps: 30 });
  });
});

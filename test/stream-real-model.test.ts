/**
 * End to end with the REAL scorer (shipped default model, full-window strategy, in this
 * thread): a publisher streams a procedural walk for two avatars to the server on loopback,
 * one with a strong sustained fault; a subscriber must get exactly one start and one end for
 * the faulty avatar and nothing for the clean one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANONICAL_JOINTS } from '../src/model/skeleton.js';
import { openStreamingScorer } from '../src/model/streaming.js';
import { injectAnomaly } from '../src/synth/anomalies.js';
import { walkerMotion } from './fixtures/walker.js';
import { float32Bin } from './helpers/poses.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { TestClient } from './helpers/ws-client.js';

const J = CANONICAL_JOINTS.length;
/** 14 s of motion: the fault [45, 75) keeps 10% of the 250-frame window over threshold until about frame 300; the end follows 2 s later. */
const FRAMES = 420;
const CHUNK = 10;

describe('stream server with the real model', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(openStreamingScorer({ workers: 0 }), { tickMs: 50, logLevel: 'info' });
    await t.server.ready;
  });

  afterAll(async () => {
    await t?.server.close();
  });

  it('alerts once (start, end) for a strong sustained fault, never for a clean avatar streamed alongside', async () => {
    const clean = walkerMotion({ frames: FRAMES, heading: 30, phase: 1 });
    const faulty = injectAnomaly(walkerMotion({ frames: FRAMES }), { kind: 'limbSwap', startFrame: 45, frameCount: 30, severity: 1, seed: 3 });
    const streams = { 'walker/clean': clean.positions, 'walker/faulty': faulty.motion.positions };

    const sub = await TestClient.connect(`${t.ws}/v1/alerts`);
    sub.send({ type: 'subscribe', prefix: 'walker/', scores: true });
    await sub.waitFor('subscribed');
    const pub = await TestClient.connect(`${t.ws}/v1/ingest`);
    pub.send({ type: 'hello', v: 1, skeleton: 'canonical', units: 'm', fps: 30 });
    const [ready] = await pub.waitFor('ready');
    expect(ready).toMatchObject({ fps: 30, joints: 21 });

    const scoredUpTo = (avatar: string): number =>
      Math.max(-1, ...sub.ofType('scores').flatMap((m) => (m.avatars as { avatar: string; seq: number }[]).filter((a) => a.avatar === avatar).map((a) => a.seq)));
    const started = Date.now();
    for (let f = 0; f < FRAMES; f += CHUNK) {
      const frames = [];
      for (let k = f; k < Math.min(FRAMES, f + CHUNK); k++) {
        for (const [avatar, positions] of Object.entries(streams)) {
          frames.push({ avatar, seq: k, t: started + k * 33.3, joints: float32Bin(positions.subarray(k * J * 3, (k + 1) * J * 3)) });
        }
      }
      pub.send({ type: 'frames', frames });
      // Paced by the scores: the publisher never runs ahead of inference, however slow the machine.
      const last = Math.min(FRAMES, f + CHUNK) - 1;
      await sub.until(() => scoredUpTo('walker/faulty') >= last && scoredUpTo('walker/clean') >= last, `frame ${last} scored`, 120_000);
    }

    expect(pub.ofType('error')).toEqual([]);
    const alerts = sub.ofType('alert');
    expect(alerts.map((a) => `${a.avatar}:${a.state}`)).toEqual(['walker/faulty:start', 'walker/faulty:end']);
    const [start, end] = alerts;
    expect(start!.seq).toBeGreaterThanOrEqual(45);
    expect(start!.seq).toBeLessThan(75);
    expect(start!.frameScore as number).toBeGreaterThan(t.server.detector!.thresholds.frame);
    expect((start!.topJoints as { joint: string }[]).every((j) => (CANONICAL_JOINTS as readonly string[]).includes(j.joint))).toBe(true);
    expect(end).toMatchObject({ episode: start!.episode, cause: 'recovered' });
    expect(t.logs.filter((l) => l.msg === 'episode start')).toHaveLength(1);

    const { avatars } = (await (await fetch(`${t.http}/v1/avatars`)).json()) as { avatars: { avatar: string; windowFill: number; alerting: boolean }[] };
    expect(avatars.map((a) => [a.avatar, a.windowFill, a.alerting]).sort()).toEqual([
      ['walker/clean', 250, false],
      ['walker/faulty', 250, false],
    ]);
    sub.close();
    pub.close();
  }, 600_000);
});

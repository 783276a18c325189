import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/model/backend.js';
import { loadModel } from '../src/model/model-dir.js';
import { createMotion, type Motion } from '../src/model/motion.js';
import { MotionScorer } from '../src/model/scorer.js';
import { topKJoints } from '../src/model/scoring.js';
import { jointIndex } from '../src/model/skeleton.js';
import { injectAnomaly, type AnomalyKind } from '../src/synth/anomalies.js';
import { loadBvhFile } from '../src/train/dataset.js';
import { isHeldOut } from '../src/train/holdout.js';
import { walkerMotion } from './fixtures/walker.js';
import { HAS_REAL_DATA as hasData, REAL_DATA_DIR as DATA_DIR } from './fixtures/real-data.js';

if (!hasData) console.warn('detection tests: ../shared/data not found, using the procedural walk instead of real motion');

/** A clip the shipped model never trained on: a held-out real take, or the procedural walk. */
async function testClip(): Promise<Motion> {
  if (!hasData) return walkerMotion({ frames: 150 });
  const { readdirSync } = await import('node:fs');
  const name = readdirSync(DATA_DIR)
    .sort()
    .find((f) => f.includes('_walk_') && isHeldOut(f, 0.1))!;
  return loadBvhFile(path.join(DATA_DIR, name));
}

const J = 21;

describe('detection with the shipped default model', () => {
  let scorer: MotionScorer;
  let clip: Motion;

  beforeAll(async () => {
    await initBackend('wasm');
    scorer = new MotionScorer(await loadModel());
    clip = await testClip();
  });

  function displaceHand(from: number, to: number): Motion {
    const hand = jointIndex('LeftHand');
    const positions = clip.positions.slice();
    for (let t = from; t < to; t++) {
      // A 20 cm tracking pop of the hand: the size of glitch an avatar really shows.
      positions[(t * J + hand) * 3]! += 0.16;
      positions[(t * J + hand) * 3 + 1]! += 0.12;
    }
    return createMotion(clip.fps, clip.jointNames, positions);
  }

  it('a briefly corrupted joint raises its own reconstruction error more than any other joint', async () => {
    const hand = jointIndex('LeftHand');
    const [from, to] = [40, 43];
    const [clean, bad] = await scorer.rawTerms([clip, displaceHand(from, to)]);
    const rise = (j: number): number => {
      let s = 0;
      for (let t = from; t < to; t++) s += bad!.jointErrors[t * J + j]! - clean!.jointErrors[t * J + j]!;
      return s / (to - from);
    };
    for (let j = 0; j < J; j++) if (j !== hand) expect(rise(hand)).toBeGreaterThan(rise(j));
    // ...and by more than its own clean error: the error at least doubles, familiar motion or not.
    let cleanHand = 0;
    for (let t = from; t < to; t++) cleanHand += clean!.jointErrors[t * J + hand]!;
    expect(rise(hand)).toBeGreaterThan(cleanHand / (to - from));
  });

  it('a joint displaced for a while is the top joint by joint score (reconstruction + rigid-skeleton prior)', async () => {
    const hand = jointIndex('LeftHand');
    const [scores] = await scorer.scoreClips([displaceHand(30, 50)]);
    for (let t = 30; t < 50; t++) expect(topKJoints(scores!.jointScores, J, t, 1)[0]).toBe(hand);
  });

  const kinds: AnomalyKind[] = ['spikePop', 'limbSwap', 'impossibleAngle', 'teleport', 'boneStretch', 'ikFlip', 'trackingJitter', 'mirroredPose'];
  it.each(kinds)('an injected %s scores above the clean clip', async (kind) => {
    const injected = injectAnomaly(clip, { kind, seed: 11, severity: 0.8 });
    const [clean, bad] = await scorer.scoreClips([clip, injected.motion]);
    expect(bad!.sequenceScore).toBeGreaterThan(clean!.sequenceScore);
    const { startFrame, endFrame } = injected.label;
    const peakInside = Math.max(...bad!.frameScores.subarray(startFrame, endFrame));
    expect(peakInside).toBeGreaterThan(Math.max(...clean!.frameScores.subarray(startFrame, endFrame)));
  });
});

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANONICAL_JOINTS } from '../src/model/skeleton.js';
import { walkerBvh } from './fixtures/walker.js';

const run = promisify(execFile);
const BIN = path.resolve('bin/motionguard.mjs');

interface Line {
  file: string;
  error?: string;
  frames: number;
  fps: number;
  jointNames: string[];
  frameScores: number[];
  jointScores: number[][];
  sequenceScore: number;
  clip: { anomalous: boolean; fraction: number; maxFrameScore: number };
  thresholds: { frame: number; sequence: number; fraction: number };
}

describe('motionguard score (the batch contract, shipped default model)', () => {
  let dir: string;
  let lines: Line[];
  let stderr: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'motionguard-cli-'));
    await writeFile(path.join(dir, 'walk.bvh'), walkerBvh({ frames: 90 }));
    await writeFile(path.join(dir, 'walk60.bvh'), walkerBvh({ frames: 300, cadence: 1.2 }).replace('Frame Time: 0.0333333', 'Frame Time: 0.0166667'));
    await writeFile(path.join(dir, 'broken.bvh'), 'HIERARCHY\nROOT Hips\n{\n\tOFFSET 0 0 0\n');
    const files = ['walk.bvh', 'broken.bvh', 'missing.bvh', 'walk60.bvh'].map((f) => path.join(dir, f));
    const out = await run(process.execPath, [BIN, 'score', '--jsonl', ...files], { maxBuffer: 64 << 20 });
    stderr = out.stderr;
    lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one JSON object per input file, in input order, with the path as given', () => {
    expect(lines.map((l) => path.basename(l.file))).toEqual(['walk.bvh', 'broken.bvh', 'missing.bvh', 'walk60.bvh']);
    expect(lines[0]!.file).toBe(path.join(dir, 'walk.bvh'));
  });

  it('follows the field contract', () => {
    const line = lines[0]!;
    expect(line.frames).toBe(90);
    expect(line.fps).toBe(30);
    expect(line.jointNames).toEqual([...CANONICAL_JOINTS]);
    expect(line.frameScores).toHaveLength(90);
    expect(line.jointScores).toHaveLength(90);
    expect(line.jointScores.every((row) => row.length === 21 && row.every(Number.isFinite))).toBe(true);
    expect(Number.isFinite(line.sequenceScore)).toBe(true);
    expect(typeof line.clip.anomalous).toBe('boolean');
    expect(line.clip.fraction).toBeGreaterThanOrEqual(0);
    expect(line.clip.maxFrameScore).toBe(Math.max(...line.frameScores));
    expect(line.thresholds.fraction).toBe(0.1);
    expect(Number.isFinite(line.thresholds.frame) && Number.isFinite(line.thresholds.sequence)).toBe(true);
  });

  it('gives an error line for a bad file and still scores the others', () => {
    expect(lines[1]!.error).toMatch(/broken\.bvh:\d+: /);
    expect(lines[2]!.error).toMatch(/missing\.bvh/);
    expect(stderr).toMatch(/2 of 4 files could not be scored/);
  });

  it('resamples other frame rates to 30 fps', () => {
    expect(lines[3]!.fps).toBe(30);
    expect(lines[3]!.frames).toBe(150);
  });

  it('exits with a usage error for bad arguments', async () => {
    await expect(run(process.execPath, [BIN, 'score', path.join(dir, 'walk.bvh')])).rejects.toMatchObject({ code: 2 });
    await expect(run(process.execPath, [BIN, 'frobnicate'])).rejects.toMatchObject({ code: 2 });
    await expect(run(process.execPath, [BIN, 'train', '--data', dir, '--flow-latents', 'sideways'])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--flow-latents/) });
  });
});

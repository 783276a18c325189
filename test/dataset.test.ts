import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { BvhParseError } from '../src/model/bvh.js';
import { CANONICAL_JOINTS, PARENT_INDEX } from '../src/model/skeleton.js';
import { listBvhFiles, loadBvhFile, parseBandaiNamcoName } from '../src/train/dataset.js';
import { HAS_REAL_DATA as hasData, REAL_DATA_DIR as DATA_DIR } from './fixtures/real-data.js';

/**
 * A minimal skeleton with canonical names, nested as one chain (the mapping only needs the names),
 * 6 channels on Hips and 3 on the rest, at 60 fps; the Hips move 2 cm along X per frame.
 */
function syntheticBvh(frames: number): string {
  const lines = ['HIERARCHY'];
  CANONICAL_JOINTS.forEach((name, j) => {
    lines.push(`${j === 0 ? 'ROOT' : 'JOINT'} ${name}`, '{', `OFFSET 0 ${j === 0 ? 90 : 5} 0`);
    lines.push(j === 0 ? 'CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation' : 'CHANNELS 3 Zrotation Xrotation Yrotation');
  });
  lines.push('End Site', '{', 'OFFSET 0 1 0', '}');
  for (let j = 0; j < CANONICAL_JOINTS.length; j++) lines.push('}');
  lines.push('MOTION', `Frames: ${frames}`, 'Frame Time: 0.0166667');
  for (let t = 0; t < frames; t++) {
    const values = [t * 2, 90, 0, 0, 0, 0, ...new Array<number>((CANONICAL_JOINTS.length - 1) * 3).fill(0)];
    lines.push(values.join(' '));
  }
  return lines.join('\n') + '\n';
}

describe('parseBandaiNamcoName', () => {
  it('splits motion, style and take', () => {
    expect(parseBandaiNamcoName('dataset-2_walk-turn-left_feminine_012.bvh')).toEqual({
      motion: 'walk-turn-left',
      style: 'feminine',
      take: '012',
    });
    expect(parseBandaiNamcoName('/some/dir/dataset-2_run_active_001.bvh')).toEqual({
      motion: 'run',
      style: 'active',
      take: '001',
    });
  });

  it('returns null for other names', () => {
    expect(parseBandaiNamcoName('walk.bvh')).toBeNull();
    expect(parseBandaiNamcoName('dataset-2_walk_feminine.bvh')).toBeNull();
    expect(parseBandaiNamcoName('dataset-2_walk_feminine_001.txt')).toBeNull();
  });
});

describe('listBvhFiles and loadBvhFile', () => {
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'motionguard-dataset-'));
    await mkdir(path.join(dir, 'sub', 'deeper'), { recursive: true });
    await writeFile(path.join(dir, 'b.bvh'), syntheticBvh(5));
    await writeFile(path.join(dir, 'a.bvh'), syntheticBvh(5));
    await writeFile(path.join(dir, 'notes.txt'), 'not a bvh');
    await writeFile(path.join(dir, 'sub', 'c.BVH'), syntheticBvh(5));
    await writeFile(path.join(dir, 'sub', 'deeper', 'd1.bvh'), syntheticBvh(5));
    await writeFile(path.join(dir, 'broken.bvh.txt'), 'HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 2 Xposition Qrotation\n}\n');
    await writeFile(path.join(dir, 'partial.bvh.txt'), syntheticBvh(2).replace('JOINT Neck', 'JOINT Neck_X'));
  });

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('walks directories recursively, sorted', async () => {
    const files = await listBvhFiles([dir]);
    expect(files.map((f) => path.relative(dir, f))).toEqual([
      'a.bvh',
      'b.bvh',
      path.join('sub', 'c.BVH'),
      path.join('sub', 'deeper', 'd1.bvh'),
    ]);
    files.forEach((f) => expect(path.isAbsolute(f)).toBe(true));
  });

  it('accepts files and globs, de-duplicating', async () => {
    const files = await listBvhFiles([
      path.join(dir, '?.bvh'),
      path.join(dir, 'a.bvh'),
      path.join(dir, 'sub', 'deeper', 'd*'),
      path.join(dir, 'notes.txt'),
    ]);
    expect(files.map((f) => path.relative(dir, f))).toEqual([
      'a.bvh',
      'b.bvh',
      'notes.txt',
      path.join('sub', 'deeper', 'd1.bvh'),
    ]);
  });

  it('throws when nothing is found or a path does not exist', async () => {
    await expect(listBvhFiles([path.join(dir, 'zzz*.bvh')])).rejects.toThrow(/no BVH files found/);
    await expect(listBvhFiles([path.join(dir, 'missing.bvh')])).rejects.toThrow(/missing\.bvh: no such file/);
    await expect(listBvhFiles([])).rejects.toThrow(/no BVH files found/);
  });

  it('loads a file into metres at 30 fps by default', async () => {
    const file = path.join(dir, 'a.bvh');
    const motion = await loadBvhFile(file);
    expect(motion.fps).toBe(30);
    expect(motion.frameCount).toBe(3); // 5 frames at 60 fps span 4/60 s -> 3 frames at 30 fps
    expect(motion.jointNames).toEqual(CANONICAL_JOINTS);
    // Hips x moves 2 cm per source frame -> 0.04 m per output frame.
    const stride = CANONICAL_JOINTS.length * 3;
    expect(motion.positions[stride]).toBeCloseTo(0.04, 6);
    expect(motion.positions[1]).toBeCloseTo(0.9, 6);
    const native = await loadBvhFile(file, { fps: null });
    expect(native.fps).toBe(60);
    expect(native.frameCount).toBe(5);
  });

  it('names the file in every error', async () => {
    const broken = path.join(dir, 'broken.bvh.txt');
    await expect(loadBvhFile(broken)).rejects.toBeInstanceOf(BvhParseError);
    await expect(loadBvhFile(broken)).rejects.toThrow(`${broken}:5: unknown channel name 'Qrotation'`);
    const partial = path.join(dir, 'partial.bvh.txt');
    await expect(loadBvhFile(partial)).rejects.toThrow(new RegExp(`^${partial.replace(/[.\\]/g, '\\$&')}: .*Neck`));
    const missing = path.join(dir, 'nope.bvh');
    await expect(loadBvhFile(missing)).rejects.toThrow(/nope\.bvh: cannot read BVH file/);
  });
});

if (!hasData) console.warn('skipping real-data tests: ../shared/data not found');

describe.skipIf(!hasData)('real Bandai Namco dataset 2 files', () => {
  const J = CANONICAL_JOINTS.length;

  /** ~20 files spread over the sorted listing so every motion and style is likely sampled. */
  async function sampleFiles(): Promise<string[]> {
    const names = (await readdir(DATA_DIR)).filter((n) => n.endsWith('.bvh')).sort();
    const step = Math.max(1, Math.floor(names.length / 20));
    return names.filter((_, i) => i % step === 0).slice(0, 20).map((n) => path.join(DATA_DIR, n));
  }

  it('lists all files and parses their names', async () => {
    const files = await listBvhFiles([DATA_DIR]);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(parseBandaiNamcoName(file)).not.toBeNull();
  });

  it('loads ~20 files with 21 joints, finite values, rigid bones and a human height', async () => {
    const files = await sampleFiles();
    expect(files.length).toBeGreaterThanOrEqual(10);
    const head = CANONICAL_JOINTS.indexOf('Head');
    const toes = [CANONICAL_JOINTS.indexOf('LeftToes'), CANONICAL_JOINTS.indexOf('RightToes')];
    for (const file of files) {
      const motion = await loadBvhFile(file);
      expect(motion.fps).toBe(30);
      expect(motion.jointNames).toEqual(CANONICAL_JOINTS);
      expect(motion.frameCount).toBeGreaterThan(1);
      expect(motion.positions.length).toBe(motion.frameCount * J * 3);
      expect(motion.positions.every((v) => Number.isFinite(v))).toBe(true);

      // Bone lengths: constant over time (mocap skeleton is rigid).
      for (let j = 1; j < J; j++) {
        const p = PARENT_INDEX[j]!;
        let sum = 0;
        let sumSq = 0;
        for (let t = 0; t < motion.frameCount; t++) {
          const a = (t * J + j) * 3;
          const b = (t * J + p) * 3;
          const length = Math.hypot(
            motion.positions[a]! - motion.positions[b]!,
            motion.positions[a + 1]! - motion.positions[b + 1]!,
            motion.positions[a + 2]! - motion.positions[b + 2]!,
          );
          sum += length;
          sumSq += length * length;
        }
        const mean = sum / motion.frameCount;
        const std = Math.sqrt(Math.max(0, sumSq / motion.frameCount - mean * mean));
        expect(std, `${path.basename(file)} ${CANONICAL_JOINTS[j]} bone length std`).toBeLessThan(1e-3);
      }

      // The canonical Head joint is the skull base (its End Site has zero offset here), not the
      // crown, and many first frames are in a knees-bent ready stance: over all 910 files this
      // measure spans 1.15-1.37 m, so the lower bound is 1.1 m rather than a standing height.
      const headY = motion.positions[head * 3 + 1]!;
      const toeY = Math.min(...toes.map((t) => motion.positions[t * 3 + 1]!));
      const height = headY - toeY;
      expect(height, `${path.basename(file)} head-to-toe height`).toBeGreaterThan(1.1);
      expect(height, `${path.basename(file)} head-to-toe height`).toBeLessThan(2.1);
    }
  });
});

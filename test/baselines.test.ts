import { describe, it, expect } from 'vitest';
import { fitPcaReconstruction, fitSpeedZScore, symmetricEigen } from '../src/eval/baselines.js';
import type { FrameBaseline } from '../src/eval/baselines.js';
import { createMotion } from '../src/model/motion.js';
import type { Motion } from '../src/model/motion.js';
import { CANONICAL_JOINTS, PARENT_INDEX, jointIndex } from '../src/model/skeleton.js';
import type { JointName } from '../src/model/skeleton.js';
import { createRng } from '../src/synth/random.js';

const J = CANONICAL_JOINTS.length;
const FPS = 30;

/** Rest-pose offsets from the parent (metres), facing +Z with the left side on +X: ~1.75 m tall. */
const REST_OFFSET: Readonly<Record<JointName, readonly [number, number, number]>> = {
  Hips: [0, 0.95, 0],
  Spine: [0, 0.1, 0],
  Chest: [0, 0.15, 0],
  Neck: [0, 0.2, 0],
  Head: [0, 0.12, 0],
  LeftShoulder: [0.05, 0.17, 0],
  LeftUpperArm: [0.12, 0, 0],
  LeftLowerArm: [0, -0.28, 0],
  LeftHand: [0, -0.25, 0],
  RightShoulder: [-0.05, 0.17, 0],
  RightUpperArm: [-0.12, 0, 0],
  RightLowerArm: [0, -0.28, 0],
  RightHand: [0, -0.25, 0],
  LeftUpperLeg: [0.09, -0.05, 0],
  LeftLowerLeg: [0, -0.42, 0],
  LeftFoot: [0, -0.42, 0],
  LeftToes: [0, -0.05, 0.13],
  RightUpperLeg: [-0.09, -0.05, 0],
  RightLowerLeg: [0, -0.42, 0],
  RightFoot: [0, -0.42, 0],
  RightToes: [0, -0.05, 0.13],
};

type Vec = [number, number, number];

/** Rotation about +X by angle a (positive swings a hanging limb backwards, towards -Z). */
function rotX([x, y, z]: readonly number[], a: number): Vec {
  return [x!, y! * Math.cos(a) - z! * Math.sin(a), y! * Math.sin(a) + z! * Math.cos(a)];
}

interface WalkParams {
  readonly frames: number;
  readonly phase: number;
  /** Stride frequency in Hz. */
  readonly frequency: number;
  /** Forward speed, m/s. */
  readonly speed: number;
  /** Leg swing amplitude, radians. */
  readonly swing: number;
  /** Heading (yaw about +Y), radians. */
  readonly yaw: number;
  readonly seed: number;
}

/** Local swing angle (about X at the joint) for a walking cycle; legs and arms counter-swing. */
function localAngle(name: JointName, cycle: number, swing: number): number {
  const left = Math.sin(cycle);
  switch (name) {
    case 'LeftUpperLeg':
      return -swing * left;
    case 'RightUpperLeg':
      return swing * left;
    case 'LeftLowerLeg':
      return swing * 0.8 * Math.max(0, Math.sin(cycle + 1));
    case 'RightLowerLeg':
      return swing * 0.8 * Math.max(0, -Math.sin(cycle + 1));
    case 'LeftUpperArm':
      return 0.6 * swing * left;
    case 'RightUpperArm':
      return -0.6 * swing * left;
    case 'LeftLowerArm':
    case 'RightLowerArm':
      return -0.3 * swing;
    default:
      return 0;
  }
}

/** Forward kinematics of a sinusoidal walk, with 1 mm of seeded jitter per coordinate. */
function walk(params: WalkParams): Motion {
  const rng = createRng(params.seed);
  const positions = new Float32Array(params.frames * J * 3);
  const cosY = Math.cos(params.yaw);
  const sinY = Math.sin(params.yaw);
  for (let t = 0; t < params.frames; t++) {
    const time = t / FPS;
    const cycle = 2 * Math.PI * params.frequency * time + params.phase;
    const world: Vec[] = [];
    const angle: number[] = [];
    CANONICAL_JOINTS.forEach((name, j) => {
      const parent = PARENT_INDEX[j]!;
      if (parent < 0) {
        world.push([0, 0.95 + 0.02 * Math.cos(2 * cycle), params.speed * time]);
        angle.push(0);
        return;
      }
      // A joint's bone hangs from its parent, turned by the parent chain's summed swing angle.
      const own = localAngle(name, cycle, params.swing);
      const bone = rotX(REST_OFFSET[name], angle[parent]!);
      const p = world[parent]!;
      world.push([p[0] + bone[0], p[1] + bone[1], p[2] + bone[2]]);
      angle.push(angle[parent]! + own);
    });
    // Turn the whole body to the clip's heading and add sensor-like jitter.
    world.forEach(([x, y, z], j) => {
      const o = (t * J + j) * 3;
      positions[o] = cosY * x + sinY * z + rng.normal(0, 0.001);
      positions[o + 1] = y + rng.normal(0, 0.001);
      positions[o + 2] = -sinY * x + cosY * z + rng.normal(0, 0.001);
    });
  }
  return createMotion(FPS, CANONICAL_JOINTS, positions);
}

function normalClips(count: number, frames: number, seed: number): Motion[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () =>
    walk({
      frames,
      phase: rng.uniform(0, 2 * Math.PI),
      frequency: rng.uniform(0.8, 1.1),
      speed: rng.uniform(1.1, 1.5),
      swing: rng.uniform(0.3, 0.5),
      yaw: rng.uniform(-Math.PI, Math.PI),
      seed: rng.int(1, 1_000_000),
    }),
  );
}

function withPositions(motion: Motion, edit: (p: Float32Array) => void): Motion {
  const positions = motion.positions.slice();
  edit(positions);
  return createMotion(motion.fps, motion.jointNames, positions);
}

function range(scores: Float32Array, start: number, end: number): number[] {
  return Array.from(scores.subarray(start, end));
}

const NORMAL = normalClips(10, 90, 7);
const [HELD_OUT] = normalClips(1, 90, 99);
const HAND = jointIndex('LeftHand');
const FOOT = jointIndex('RightFoot');

/** The held-out clip with the left hand pushed 40 cm sideways on frames 40-49. */
const DISPLACED = withPositions(HELD_OUT!, (p) => {
  for (let t = 40; t < 50; t++) p[(t * J + HAND) * 3]! += 0.4;
});

/** The held-out clip with the right foot 50 cm higher on frame 60 only. */
const TELEPORT = withPositions(HELD_OUT!, (p) => {
  p[(60 * J + FOOT) * 3 + 1]! += 0.5;
});

const BASELINES: [string, () => FrameBaseline][] = [
  ['speed-zscore', () => fitSpeedZScore(NORMAL)],
  ['pca-reconstruction', () => fitPcaReconstruction(NORMAL)],
];

describe.each(BASELINES)('%s', (name, fit) => {
  const baseline = fit();

  it('has its name and gives one finite score per frame', () => {
    expect(baseline.name).toBe(name);
    for (const motion of [HELD_OUT!, DISPLACED, TELEPORT, NORMAL[0]!]) {
      const scores = baseline.frameScores(motion);
      expect(scores).toHaveLength(motion.frameCount);
      expect(scores.every(Number.isFinite)).toBe(true);
      expect(Math.min(...scores)).toBeGreaterThanOrEqual(0);
    }
  });

  it('handles a 2-frame clip', () => {
    const short = createMotion(FPS, CANONICAL_JOINTS, HELD_OUT!.positions.slice(0, 2 * J * 3));
    const scores = baseline.frameScores(short);
    expect(scores).toHaveLength(2);
    expect(scores.every(Number.isFinite)).toBe(true);
  });

  it('scores the displaced hand (frames 40-49) above normal frames 0-30', () => {
    const scores = baseline.frameScores(DISPLACED);
    expect(Math.max(...range(scores, 40, 50))).toBeGreaterThan(2 * Math.max(...range(scores, 0, 31)));
  });

  it('is deterministic', () => {
    const again = fit();
    expect(Array.from(again.frameScores(DISPLACED))).toEqual(Array.from(baseline.frameScores(DISPLACED)));
  });
});

describe('speed-zscore', () => {
  const baseline = fitSpeedZScore(NORMAL);

  it('fires on a single-frame teleport', () => {
    const scores = baseline.frameScores(TELEPORT);
    const normalMax = Math.max(...range(scores, 0, 55));
    // The foot leaves on frame 60 and comes back on frame 61.
    expect(scores[60]!).toBeGreaterThan(3 * normalMax);
    expect(scores[61]!).toBeGreaterThan(3 * normalMax);
    expect(scores[60]!).toBeGreaterThan(10);
  });

  it('stays moderate on a held-out normal clip', () => {
    expect(Math.max(...baseline.frameScores(HELD_OUT!))).toBeLessThan(8);
  });
});

describe('pca-reconstruction', () => {
  const baseline = fitPcaReconstruction(NORMAL);

  it('keeps fewer components than dimensions', () => {
    expect(baseline.dimension).toBe(132);
    expect(baseline.componentCount).toBeGreaterThan(0);
    expect(baseline.componentCount).toBeLessThan(baseline.dimension);
    expect(baseline.explainedVariance).toBeGreaterThanOrEqual(0.95);
  });

  it('keeps more components for more variance', () => {
    const fewer = fitPcaReconstruction(NORMAL, { varianceKept: 0.5 });
    expect(fewer.componentCount).toBeLessThan(baseline.componentCount);
    expect(() => fitPcaReconstruction(NORMAL, { varianceKept: 0 })).toThrow(/varianceKept/);
  });

  it('flags every displaced frame, not only the edges', () => {
    const scores = baseline.frameScores(DISPLACED);
    const normalMax = Math.max(...range(scores, 0, 31));
    for (const s of range(scores, 41, 49)) expect(s).toBeGreaterThan(normalMax);
  });
});

describe('symmetricEigen', () => {
  it('diagonalises a small symmetric matrix', () => {
    // Eigenvalues of [[2,1,0],[1,2,0],[0,0,5]] are 5, 3, 1.
    const m = Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]);
    const { values, vectors } = symmetricEigen(m, 3);
    expect(Array.from(values).map((v) => Number(v.toFixed(12)))).toEqual([5, 3, 1]);
    for (let k = 0; k < 3; k++) {
      const v = Array.from(vectors.subarray(k * 3, k * 3 + 3));
      for (let i = 0; i < 3; i++) {
        const mv = m[i * 3]! * v[0]! + m[i * 3 + 1]! * v[1]! + m[i * 3 + 2]! * v[2]!;
        expect(mv).toBeCloseTo(values[k]! * v[i]!, 10);
      }
    }
  });
});

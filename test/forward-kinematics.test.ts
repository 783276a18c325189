import { describe, it, expect } from 'vitest';
import { parseBvh } from '../src/model/bvh.js';
import type { BvhClip } from '../src/model/bvh.js';
import {
  bvhToMotion,
  detectMapping,
  forwardKinematicsFrame,
  fpsFromFrameTime,
  planForwardKinematics,
} from '../src/model/forward-kinematics.js';
import { BANDAI_NAMCO_MAPPING, CANONICAL_JOINTS, CANONICAL_PARENT, MIXAMO_MAPPING } from '../src/model/skeleton.js';
import type { JointName } from '../src/model/skeleton.js';

/** Root (no rotation) + one child whose own rotation channels (in `order`) move a grandchild end. */
function chain(order: string, offset: string, angles: string): BvhClip {
  const text = `HIERARCHY
ROOT Root
{
  OFFSET 0 0 0
  CHANNELS 3 Xposition Yposition Zposition
  JOINT Arm
  {
    OFFSET 0 0 0
    CHANNELS 3 ${order}
    JOINT Tip
    {
      OFFSET ${offset}
      CHANNELS 0
    }
  }
}
MOTION
Frames: 1
Frame Time: 0.033333
0 0 0 ${angles}
`;
  return parseBvh(text, 'chain.bvh');
}

/** World position of every joint (source units) of frame 0. */
function worldPositions(clip: BvhClip): number[][] {
  const plan = planForwardKinematics(clip);
  const rotations = new Float64Array(plan.jointCount * 9);
  const positions = new Float64Array(plan.jointCount * 3);
  forwardKinematicsFrame(plan, clip.data, 0, rotations, positions);
  return clip.joints.map((_, j) => Array.from(positions.subarray(j * 3, j * 3 + 3)));
}

function expectVec(actual: number[] | undefined, expected: number[]): void {
  expect(actual).toBeDefined();
  actual!.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
}

describe('forwardKinematicsFrame', () => {
  it('rotates 90 degrees about X (Y -> Z)', () => {
    expectVec(worldPositions(chain('Xrotation Yrotation Zrotation', '0 10 0', '90 0 0'))[2], [0, 0, 10]);
  });

  it('rotates 90 degrees about Y (X -> -Z)', () => {
    expectVec(worldPositions(chain('Xrotation Yrotation Zrotation', '10 0 0', '0 90 0'))[2], [0, 0, -10]);
  });

  it('rotates 90 degrees about Z (X -> Y)', () => {
    expectVec(worldPositions(chain('Xrotation Yrotation Zrotation', '10 0 0', '0 0 90'))[2], [0, 10, 0]);
  });

  it('composes Zrotation Xrotation Yrotation as Rz * Rx * Ry', () => {
    // Ry(90)(1,0,0) = (0,0,-1); Rx(90)(0,0,-1) = (0,1,0); Rz(90)(0,1,0) = (-1,0,0).
    expectVec(worldPositions(chain('Zrotation Xrotation Yrotation', '10 0 0', '90 90 90'))[2], [-10, 0, 0]);
    // The reverse order, Ry * Rx * Rz, lands elsewhere: Rz(90)(1,0,0) = (0,1,0) -> (0,0,1) -> (1,0,0).
    expectVec(worldPositions(chain('Yrotation Xrotation Zrotation', '10 0 0', '90 90 90'))[2], [10, 0, 0]);
    // Non-right-angle ZXY check against an explicit matrix product.
    const [z, x, y] = [30, -45, 60].map((d) => (d * Math.PI) / 180) as [number, number, number];
    const rz = [Math.cos(z), -Math.sin(z), 0, Math.sin(z), Math.cos(z), 0, 0, 0, 1];
    const rx = [1, 0, 0, 0, Math.cos(x), -Math.sin(x), 0, Math.sin(x), Math.cos(x)];
    const ry = [Math.cos(y), 0, Math.sin(y), 0, 1, 0, -Math.sin(y), 0, Math.cos(y)];
    const mul = (a: number[], b: number[]): number[] =>
      Array.from({ length: 9 }, (_, k) => {
        const r = Math.floor(k / 3);
        const c = k % 3;
        return a[r * 3]! * b[c]! + a[r * 3 + 1]! * b[3 + c]! + a[r * 3 + 2]! * b[6 + c]!;
      });
    const m = mul(mul(rz, rx), ry);
    const v = [1, 2, 3];
    const expected = [0, 1, 2].map((r) => m[r * 3]! * v[0]! + m[r * 3 + 1]! * v[1]! + m[r * 3 + 2]! * v[2]!);
    expectVec(worldPositions(chain('Zrotation Xrotation Yrotation', '1 2 3', '30 -45 60'))[2], expected);
  });

  it('propagates a parent rotation through the hierarchy and adds the root translation', () => {
    const text = `HIERARCHY
ROOT Root
{
  OFFSET 100 200 300
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT A
  {
    OFFSET 10 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT B
    {
      OFFSET 10 0 0
      CHANNELS 3 Zrotation Xrotation Yrotation
    }
  }
}
MOTION
Frames: 1
Frame Time: 0.033333
1 2 3 90 0 0 0 0 90 0 0 0
`;
    const world = worldPositions(parseBvh(text, 'nested.bvh'));
    // Position channels replace the root OFFSET.
    expectVec(world[0], [1, 2, 3]);
    // Root Rz(90) turns A's offset (10,0,0) into (0,10,0).
    expectVec(world[1], [1, 12, 3]);
    // A's Ry(90) turns B's offset into (0,0,-10), then the root's Rz(90) leaves -Z alone.
    expectVec(world[2], [1, 12, -7]);
  });
});

/** A full canonical skeleton (canonical names) with random rotations on every joint. */
function canonicalSkeletonBvh(frames: number, seed: number, rotationOrder = 'Zrotation Xrotation Yrotation'): string {
  const offsets: Record<JointName, [number, number, number]> = {
    Hips: [0, 95, 0],
    Spine: [0, 10, 0],
    Chest: [0, 15, 1],
    Neck: [0, 20, 0],
    Head: [0, 10, 2],
    LeftShoulder: [3, 15, 0],
    LeftUpperArm: [12, 0, 0],
    LeftLowerArm: [28, 0, 0],
    LeftHand: [25, 0, 0],
    RightShoulder: [-3, 15, 0],
    RightUpperArm: [-12, 0, 0],
    RightLowerArm: [-28, 0, 0],
    RightHand: [-25, 0, 0],
    LeftUpperLeg: [9, -5, 0],
    LeftLowerLeg: [0, -42, 0],
    LeftFoot: [0, -40, 0],
    LeftToes: [0, -6, 12],
    RightUpperLeg: [-9, -5, 0],
    RightLowerLeg: [0, -42, 0],
    RightFoot: [0, -40, 0],
    RightToes: [0, -6, 12],
  };
  const children = (parent: JointName): JointName[] => CANONICAL_JOINTS.filter((j) => CANONICAL_PARENT[j] === parent);
  const lines: string[] = ['HIERARCHY'];
  const order: JointName[] = [];
  const emit = (joint: JointName, depth: number): void => {
    const pad = '  '.repeat(depth);
    order.push(joint);
    lines.push(`${pad}${depth === 0 ? 'ROOT' : 'JOINT'} ${joint}`, `${pad}{`, `${pad}  OFFSET ${offsets[joint].join(' ')}`);
    lines.push(
      depth === 0
        ? `${pad}  CHANNELS 6 Xposition Yposition Zposition ${rotationOrder}`
        : `${pad}  CHANNELS 3 ${rotationOrder}`,
    );
    const kids = children(joint);
    if (kids.length === 0) lines.push(`${pad}  End Site`, `${pad}  {`, `${pad}    OFFSET 0 5 0`, `${pad}  }`);
    for (const kid of kids) emit(kid, depth + 1);
    lines.push(`${pad}}`);
  };
  emit('Hips', 0);
  lines.push('MOTION', `Frames: ${frames}`, 'Frame Time: 0.0166667');
  let state = seed;
  const random = (): number => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return state / 4294967296;
  };
  for (let t = 0; t < frames; t++) {
    const values: number[] = [random() * 200 - 100, 90 + random() * 10, random() * 200 - 100];
    for (let k = 0; k < order.length * 3; k++) values.push(random() * 360 - 180);
    lines.push(values.map((v) => v.toFixed(4)).join(' '));
  }
  return lines.join('\n') + '\n';
}

describe('bvhToMotion', () => {
  it('keeps every bone length equal to its offset norm on every frame', () => {
    const clip = parseBvh(canonicalSkeletonBvh(25, 7), 'random.bvh');
    const motion = bvhToMotion(clip, detectMapping(clip));
    expect(motion.jointNames).toEqual(CANONICAL_JOINTS);
    expect(motion.frameCount).toBe(25);
    expect(motion.fps).toBe(60);
    const J = CANONICAL_JOINTS.length;
    CANONICAL_JOINTS.forEach((name, j) => {
      const parent = CANONICAL_PARENT[name];
      if (parent === null) return;
      const p = CANONICAL_JOINTS.indexOf(parent);
      const source = clip.joints.find((joint) => joint.name === name)!;
      const expected = Math.hypot(...source.offset) * 0.01;
      for (let t = 0; t < motion.frameCount; t++) {
        const a = (t * J + j) * 3;
        const b = (t * J + p) * 3;
        const length = Math.hypot(
          motion.positions[a]! - motion.positions[b]!,
          motion.positions[a + 1]! - motion.positions[b + 1]!,
          motion.positions[a + 2]! - motion.positions[b + 2]!,
        );
        expect(Math.abs(length - expected)).toBeLessThan(1e-5);
      }
    });
  });

  it('scales source units to metres and puts the root at its position channels', () => {
    const clip = parseBvh(canonicalSkeletonBvh(3, 11, 'Xrotation Yrotation Zrotation'), 'scale.bvh');
    const cm = bvhToMotion(clip, detectMapping(clip));
    const mm = bvhToMotion(clip, detectMapping(clip), { unitScale: 0.001 });
    for (let t = 0; t < 3; t++) {
      const base = t * clip.channelCount;
      const hips = (t * CANONICAL_JOINTS.length) * 3;
      expect(cm.positions[hips]).toBeCloseTo(clip.data[base]! * 0.01, 5);
      expect(cm.positions[hips + 1]).toBeCloseTo(clip.data[base + 1]! * 0.01, 5);
      expect(mm.positions[hips + 2]).toBeCloseTo(clip.data[base + 2]! * 0.001, 6);
    }
  });

  it('drops unmapped joints and maps renamed ones in canonical order', () => {
    // Rename the canonical skeleton to Bandai Namco names and wrap it under a ground root.
    let text = canonicalSkeletonBvh(2, 3);
    const toSource = Object.fromEntries(Object.entries(BANDAI_NAMCO_MAPPING).map(([source, c]) => [c, source]));
    text = text.replace(/(ROOT|JOINT) (\w+)/g, (_, kind: string, name: string) => `${kind === 'ROOT' ? 'JOINT' : kind} ${toSource[name]}`);
    text = text.replace(
      'HIERARCHY\n',
      'HIERARCHY\nROOT joint_Root\n{\n  OFFSET 0 0 0\n  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n',
    );
    text = text.replace('MOTION\n', '}\nMOTION\n');
    text = text.replace(/^(-?\d)/gm, '0 0 0 0 0 0 $1');
    const clip = parseBvh(text, 'bandai.bvh');
    expect(clip.joints[0]!.name).toBe('joint_Root');
    const mapping = detectMapping(clip);
    expect(mapping).toEqual(BANDAI_NAMCO_MAPPING);
    const renamed = bvhToMotion(clip, mapping);
    const plain = parseBvh(canonicalSkeletonBvh(2, 3), 'plain.bvh');
    const reference = bvhToMotion(plain, detectMapping(plain));
    expect(renamed.jointNames).toEqual(CANONICAL_JOINTS);
    for (let i = 0; i < reference.positions.length; i++) {
      expect(renamed.positions[i]).toBeCloseTo(reference.positions[i]!, 5);
    }
  });

  it('detects Mixamo names with the mixamorig: prefix', () => {
    const toSource = Object.fromEntries(Object.entries(MIXAMO_MAPPING).map(([source, c]) => [c, source]));
    const text = canonicalSkeletonBvh(1, 5).replace(
      /(ROOT|JOINT) (\w+)/g,
      (_, kind: string, name: string) => `${kind} mixamorig:${toSource[name]}`,
    );
    const clip = parseBvh(text, 'mixamo.bvh');
    const mapping = detectMapping(clip);
    expect(mapping['mixamorig:Spine1']).toBe('Chest');
    expect(mapping['mixamorig:LeftToeBase']).toBe('LeftToes');
    expect(bvhToMotion(clip, mapping).jointNames).toEqual(CANONICAL_JOINTS);
    // A table keyed by bare names also works: the prefix is stripped on lookup.
    expect(bvhToMotion(clip, MIXAMO_MAPPING).frameCount).toBe(1);
  });

  it('throws naming the missing canonical joints', () => {
    const text = canonicalSkeletonBvh(1, 1).replace('JOINT LeftToes', 'JOINT Toe_L').replace('JOINT Neck', 'JOINT Neck0');
    const clip = parseBvh(text, 'partial.bvh');
    expect(() => detectMapping(clip)).toThrow(/missing canonical joints: Neck, LeftToes/);
    const mapping = Object.fromEntries(CANONICAL_JOINTS.map((n) => [n, n]));
    expect(() => bvhToMotion(clip, mapping)).toThrow(/lacks canonical joints: Neck, LeftToes/);
  });

  it('snaps rounded frame times to integer rates', () => {
    expect(fpsFromFrameTime(0.0333333)).toBe(30);
    expect(fpsFromFrameTime(0.041667)).toBe(24);
    expect(fpsFromFrameTime(0.008333)).toBe(120);
    expect(fpsFromFrameTime(0.03)).toBeCloseTo(33.3333, 3);
  });
});

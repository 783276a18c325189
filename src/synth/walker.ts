/**
 * A procedural walking humanoid written as BVH text (canonical Unity joint names,
 * centimetres, Z X Y rotation order): normal-looking motion for tests, the demo and
 * the benchmark when ../shared/data is absent. Not a substitute for real motion.
 */
import { parseBvh } from '../model/bvh.js';
import { bvhToMotion, detectMapping } from '../model/forward-kinematics.js';
import type { Motion } from '../model/motion.js';

interface JointDef {
  readonly name: string;
  readonly offset: readonly [number, number, number];
  readonly children?: readonly JointDef[];
  readonly end?: readonly [number, number, number];
}

function arm(side: 'Left' | 'Right'): JointDef {
  const s = side === 'Left' ? 1 : -1;
  return {
    name: `${side}Shoulder`,
    offset: [8 * s, 12, 0],
    children: [
      {
        name: `${side}UpperArm`,
        offset: [10 * s, 0, 0],
        children: [{ name: `${side}LowerArm`, offset: [0, -28, 0], children: [{ name: `${side}Hand`, offset: [0, -25, 0], end: [0, -8, 0] }] }],
      },
    ],
  };
}

function leg(side: 'Left' | 'Right'): JointDef {
  const s = side === 'Left' ? 1 : -1;
  return {
    name: `${side}UpperLeg`,
    offset: [9 * s, -5, 0],
    children: [
      {
        name: `${side}LowerLeg`,
        offset: [0, -42, 0],
        children: [{ name: `${side}Foot`, offset: [0, -42, 0], children: [{ name: `${side}Toes`, offset: [0, -6, 12], end: [0, 0, 5] }] }],
      },
    ],
  };
}

const SKELETON: JointDef = {
  name: 'Hips',
  offset: [0, 95, 0],
  children: [
    {
      name: 'Spine',
      offset: [0, 10, 0],
      children: [
        {
          name: 'Chest',
          offset: [0, 15, 0],
          children: [{ name: 'Neck', offset: [0, 20, 0], children: [{ name: 'Head', offset: [0, 10, 0], end: [0, 15, 0] }] }, arm('Left'), arm('Right')],
        },
      ],
    },
    leg('Left'),
    leg('Right'),
  ],
};

function flatten(joint: JointDef, out: JointDef[] = []): JointDef[] {
  out.push(joint);
  for (const child of joint.children ?? []) flatten(child, out);
  return out;
}

function hierarchy(joint: JointDef, depth: number, root: boolean): string {
  const pad = '\t'.repeat(depth);
  const channels = root ? 'CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation' : 'CHANNELS 3 Zrotation Xrotation Yrotation';
  let text = `${pad}${root ? 'ROOT' : 'JOINT'} ${joint.name}\n${pad}{\n${pad}\tOFFSET ${joint.offset.join(' ')}\n${pad}\t${channels}\n`;
  for (const child of joint.children ?? []) text += hierarchy(child, depth + 1, false);
  if (joint.end) text += `${pad}\tEnd Site\n${pad}\t{\n${pad}\t\tOFFSET ${joint.end.join(' ')}\n${pad}\t}\n`;
  return `${text}${pad}}\n`;
}

export interface WalkerOptions {
  readonly frames?: number;
  /** Steps per second. */
  readonly cadence?: number;
  readonly phase?: number;
  /** Heading in degrees about Y. */
  readonly heading?: number;
}

/** BVH text of a person walking forward at 30 fps. */
export function walkerBvh(options: WalkerOptions = {}): string {
  const frames = options.frames ?? 120;
  const cadence = options.cadence ?? 1;
  const phase0 = options.phase ?? 0;
  const heading = options.heading ?? 0;
  const joints = flatten(SKELETON);
  const lines: string[] = [];
  const yawRad = (heading * Math.PI) / 180;
  for (let t = 0; t < frames; t++) {
    const phase = phase0 + 2 * Math.PI * cadence * (t / 30);
    const distance = 120 * cadence * (t / 30);
    const values: number[] = [];
    for (const joint of joints) {
      let rx = 0;
      let rz = 0;
      let ry = 0;
      switch (joint.name) {
        case 'LeftUpperLeg':
          rx = -25 * Math.sin(phase);
          break;
        case 'RightUpperLeg':
          rx = 25 * Math.sin(phase);
          break;
        case 'LeftLowerLeg':
          rx = 30 * Math.max(0, Math.sin(phase + 1));
          break;
        case 'RightLowerLeg':
          rx = 30 * Math.max(0, Math.sin(phase + 1 + Math.PI));
          break;
        case 'LeftUpperArm':
          rx = 20 * Math.sin(phase);
          rz = 5;
          break;
        case 'RightUpperArm':
          rx = -20 * Math.sin(phase);
          rz = -5;
          break;
        case 'LeftLowerArm':
        case 'RightLowerArm':
          rx = -15 - 5 * Math.sin(phase);
          break;
        case 'Spine':
          ry = 4 * Math.sin(phase);
          break;
        case 'Head':
          rx = 3 * Math.sin(2 * phase);
          break;
        case 'Hips':
          ry = heading;
          break;
      }
      if (joint.name === 'Hips') {
        values.push(distance * Math.sin(yawRad), 95 + 2 * Math.cos(2 * phase), distance * Math.cos(yawRad), rz, rx, ry);
      } else {
        values.push(rz, rx, ry);
      }
    }
    lines.push(values.map((v) => v.toFixed(4)).join(' '));
  }
  return `HIERARCHY\n${hierarchy(SKELETON, 0, true)}MOTION\nFrames: ${frames}\nFrame Time: 0.0333333\n${lines.join('\n')}\n`;
}

export function walkerMotion(options: WalkerOptions = {}): Motion {
  const clip = parseBvh(walkerBvh(options), 'walker.bvh');
  return bvhToMotion(clip, detectMapping(clip));
}

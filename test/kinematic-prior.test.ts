import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOLD_MAX_FRAMES, HOLD_UNITS, LIMIT_DEGREES_PER_UNIT, accelerations, boneLengthDeviations, boneReferenceLengths, dominantLength, holdEvidence, jointLimitViolations } from '../src/model/kinematic-prior.js';
import { createMotion, type Motion } from '../src/model/motion.js';
import { jointIndex } from '../src/model/skeleton.js';
import { injectAnomaly } from '../src/synth/anomalies.js';
import { walkerMotion } from './fixtures/walker.js';
import { listBvhFiles, loadBvhFile } from '../src/train/dataset.js';
import { HAS_REAL_DATA as hasData, REAL_DATA_DIR as DATA_DIR } from './fixtures/real-data.js';

const J = 21;

describe('rigid-skeleton prior', () => {
  const walk = walkerMotion({ frames: 90, cadence: 1.3 });

  it('is zero for a rigid skeleton in any motion', () => {
    const deviations = boneLengthDeviations(walk);
    expect(Math.max(...deviations)).toBeLessThan(1e-8);
  });

  it('marks a stretched bone on exactly the stretched frames', () => {
    const shin = jointIndex('LeftFoot');
    const knee = jointIndex('LeftLowerLeg');
    const positions = walk.positions.slice();
    for (let t = 30; t < 40; t++) {
      const d = [0, 1, 2].map((a) => positions[(t * J + shin) * 3 + a]! - positions[(t * J + knee) * 3 + a]!);
      for (const j of [shin, jointIndex('LeftToes')]) for (let a = 0; a < 3; a++) positions[(t * J + j) * 3 + a]! += 0.3 * d[a]!;
    }
    const deviations = boneLengthDeviations(createMotion(30, walk.jointNames, positions));
    expect(deviations[35 * J + shin]).toBeCloseTo(0.09, 3); // (1.3 - 1)^2
    expect(deviations[20 * J + shin]).toBeLessThan(1e-8);
    expect(deviations[35 * J + jointIndex('LeftToes')]).toBeLessThan(1e-8); // the foot moved rigidly
  });

  it('sees an injected bone stretch but not a rigid teleport', () => {
    const stretch = injectAnomaly(walk, { kind: 'boneStretch', seed: 4, severity: 1 });
    const teleport = injectAnomaly(walk, { kind: 'teleport', seed: 4 });
    expect(Math.max(...boneLengthDeviations(stretch.motion))).toBeGreaterThan(0.03);
    expect(Math.max(...boneLengthDeviations(teleport.motion))).toBeLessThan(1e-8);
  });
});

describe('joint-limit prior', () => {
  const walk = walkerMotion({ frames: 90, heading: 40 });

  it('finds nothing in a normal walk, whichever way it faces', () => {
    expect(Math.max(...jointLimitViolations(walk))).toBe(0);
  });

  it('flags a hyperextended knee and a flipped knee, on the knee', () => {
    const knee = jointIndex('LeftLowerLeg');
    const peakOnKnee = (motion: typeof walk, from: number, to: number): number => {
      const violations = jointLimitViolations(motion);
      return Math.max(...Array.from({ length: to - from }, (_, i) => violations[(from + i) * J + knee]!));
    };
    const hyper = injectAnomaly(walk, { kind: 'impossibleAngle', joints: ['LeftLowerLeg'], seed: 2, severity: 1 });
    expect(hyper.label.variant).toBe('kneeHyperextension');
    expect(peakOnKnee(hyper.motion, hyper.label.startFrame, hyper.label.endFrame)).toBeGreaterThan(2);
    const flip = injectAnomaly(walk, { kind: 'ikFlip', limb: 'leftLeg', seed: 1, severity: 1 });
    expect(peakOnKnee(flip.motion, flip.label.startFrame, flip.label.endFrame)).toBeGreaterThan(1);
  });

  it('flags a head bent far back and a forearm folded through the upper arm', () => {
    const J2 = J;
    const rotateAbout = (positions: Float32Array, t: number, joints: number[], pivot: number, angle: number): void => {
      const px = positions[(t * J2 + pivot) * 3]!;
      const py = positions[(t * J2 + pivot) * 3 + 1]!;
      for (const j of joints) {
        const x = positions[(t * J2 + j) * 3]! - px;
        const y = positions[(t * J2 + j) * 3 + 1]! - py;
        positions[(t * J2 + j) * 3] = px + Math.cos(angle) * x - Math.sin(angle) * y;
        positions[(t * J2 + j) * 3 + 1] = py + Math.sin(angle) * x + Math.cos(angle) * y;
      }
    };
    const positions = walk.positions.slice();
    for (let t = 10; t < 20; t++) rotateAbout(positions, t, [jointIndex('Head')], jointIndex('Neck'), (100 * Math.PI) / 180);
    const violations = jointLimitViolations(createMotion(30, walk.jointNames, positions));
    expect(violations[15 * J + jointIndex('Neck')]!).toBeGreaterThan(4);
    expect(violations[5 * J + jointIndex('Neck')]!).toBe(0);
  });

  it('counts the degrees past a limit in LIMIT_DEGREES_PER_UNIT: an elbow at 170 degrees is 10 past 160', () => {
    const positions = walk.positions.slice();
    const set = (name: Parameters<typeof jointIndex>[0], xyz: readonly number[]): void => positions.set(xyz, jointIndex(name) * 3);
    const [sx, sy, sz] = [0, 1, 2].map((a) => positions[jointIndex('LeftUpperArm') * 3 + a]!) as [number, number, number];
    set('LeftLowerArm', [sx + 0.3, sy, sz]);
    const bend = (170 * Math.PI) / 180;
    set('LeftHand', [sx + 0.3 + 0.25 * Math.cos(bend), sy + 0.25 * Math.sin(bend), sz]);
    const violations = jointLimitViolations(createMotion(30, walk.jointNames, positions));
    expect(violations[jointIndex('LeftLowerArm')]!).toBeCloseTo(10 / LIMIT_DEGREES_PER_UNIT, 3);
    expect(violations[J + jointIndex('LeftLowerArm')]!).toBe(0);
  });
});

describe('dominant bone length', () => {
  it('is the length most frames agree on, even when a fault covers most of the window', () => {
    const lengths = Float64Array.from({ length: 100 }, (_, t) => (t < 35 ? 0.4 + 0.0005 * Math.sin(t) : 0.25 + 0.3 * ((t * 7) % 10) / 10));
    expect(dominantLength(lengths)).toBeCloseTo(0.4, 2);
  });

  const stretchForearm = (motion: Motion, from: number, to: number, ratio: number, side: 'Left' | 'Right'): Motion => {
    const positions = motion.positions.slice();
    const elbow = jointIndex(`${side}LowerArm`);
    const hand = jointIndex(`${side}Hand`);
    for (let t = from; t < to; t++) {
      for (let k = 0; k < 3; k++) {
        const e = positions[(t * J + elbow) * 3 + k]!;
        positions[(t * J + hand) * 3 + k] = e + ratio * (positions[(t * J + hand) * 3 + k]! - e);
      }
    }
    return createMotion(motion.fps, motion.jointNames, positions);
  };

  it('takes the mirror bone as witness: a stretch held over most of the window is still the fault', () => {
    const walk = walkerMotion({ frames: 100 });
    const stretched = stretchForearm(walk, 30, 100, 1.3, 'Left');
    const deviations = boneLengthDeviations(stretched);
    const hand = jointIndex('LeftHand');
    // 70 of 100 frames are stretched: the bone's own densest band is the stretched length,
    // yet the right forearm says what the left one should be.
    expect(deviations[10 * J + hand]!).toBeLessThan(1e-6);
    expect(deviations[50 * J + hand]!).toBeCloseTo(0.09, 2);
    expect(boneReferenceLengths(stretched)[hand]).toBeCloseTo(boneReferenceLengths(walk)[hand]!, 6);
  });

  it('keeps each side its own length on an asymmetric rig', () => {
    const walk = walkerMotion({ frames: 60 });
    const asymmetric = stretchForearm(walk, 0, 60, 1.1, 'Right');
    const refs = boneReferenceLengths(asymmetric);
    expect(refs[jointIndex('RightHand')]! / refs[jointIndex('LeftHand')]!).toBeCloseTo(1.1, 4);
    expect(Math.max(...boneLengthDeviations(asymmetric))).toBeLessThan(1e-6);
  });
});

describe('temporal prior (accelerations)', () => {
  const walk = walkerMotion({ frames: 90 });
  it('spikes on a teleport and on a freeze that catches up, not on smooth walking', () => {
    const smooth = accelerations(walk, 1.4);
    const teleport = injectAnomaly(walk, { kind: 'teleport', seed: 3, startFrame: 40, frameCount: 20 });
    const jump = accelerations(teleport.motion, 1.4);
    const hips = jointIndex('Hips');
    const peak = (a: Float32Array, from: number, to: number): number => Math.max(...Array.from({ length: to - from }, (_, i) => a[(from + i) * J + hips]!));
    expect(peak(jump, 38, 43)).toBeGreaterThan(20 * peak(smooth, 0, 90));
    expect(peak(jump, 45, 55)).toBeCloseTo(peak(smooth, 45, 55), 3);
  });
});

describe('hold prior', () => {
  const walk = walkerMotion({ frames: 240, cadence: 1.1 });
  const at = (e: Float32Array, t: number, name: Parameters<typeof jointIndex>[0]): number => e[t * J + jointIndex(name)]!;
  const watched = ['LeftHand', 'RightHand', 'LeftFoot', 'LeftToes', 'RightFoot', 'RightToes'] as const;

  it('finds nothing in a walk', () => {
    expect(Math.max(...holdEvidence(walk))).toBe(0);
  });

  it('grows over a stalled stream from its second repeated frame, and stops when it moves again', () => {
    const positions = walk.positions.slice();
    const stride = J * 3;
    for (let t = 40; t < 52; t++) positions.copyWithin(t * stride, 39 * stride, 40 * stride);
    const e = holdEvidence(createMotion(30, walk.jointNames, positions));
    for (const name of watched) {
      expect(at(e, 39, name)).toBe(0);
      expect(at(e, 40, name)).toBe(0); // one repeated frame: a late packet, not yet a stall
      expect(at(e, 41, name)).toBeCloseTo(HOLD_UNITS / 3, 5);
      expect(at(e, 43, name)).toBe(HOLD_UNITS);
      expect(at(e, 48, name)).toBe(HOLD_UNITS);
      expect(at(e, 49, name)).toBe(2 * HOLD_UNITS); // held HOLD_LONG_FRAMES in a row: no real take does
      expect(at(e, 51, name)).toBe(2 * HOLD_UNITS);
      expect(at(e, 52, name)).toBe(0);
    }
    expect(at(e, 45, 'Head')).toBe(0); // only the watched joints carry it
  });

  it("offline, counts a hold longer than any real take's in full from its first frame; a short one as live", () => {
    const stride = J * 3;
    const stall = (frames: number): ReturnType<typeof createMotion> => {
      const positions = walk.positions.slice();
      for (let t = 40; t < 40 + frames; t++) positions.copyWithin(t * stride, 39 * stride, 40 * stride);
      return createMotion(30, walk.jointNames, positions);
    };
    const long = stall(12);
    const live = holdEvidence(long);
    const offline = holdEvidence(long, 0, long.frameCount, true);
    for (const name of watched) {
      expect(at(live, 40, name)).toBe(0);
      for (let t = 40; t < 52; t++) expect(at(offline, t, name)).toBe(2 * HOLD_UNITS);
      expect(at(offline, 39, name)).toBe(0);
      expect(at(offline, 52, name)).toBe(0);
    }
    expect(at(offline, 45, 'Head')).toBe(0);
    // Five repeated frames happen in real takes: offline gives them what a live scan does.
    const short = stall(5);
    expect(Array.from(holdEvidence(short, 0, short.frameCount, true))).toEqual(Array.from(holdEvidence(short)));
    // A stall running to the clip's end counts too; a joint never seen moving still does not.
    const toEnd = stall(200);
    const cut = createMotion(30, walk.jointNames, toEnd.positions.slice(0, 100 * stride)); // held frames 40-99
    expect(at(holdEvidence(cut, 0, 100, true), 40, 'LeftHand')).toBe(2 * HOLD_UNITS);
    expect(at(holdEvidence(toEnd, 0, toEnd.frameCount, true), 40, 'LeftHand')).toBe(0); // 200 frames: past HOLD_MAX_FRAMES, a rig
    const still = new Float32Array(60 * stride);
    for (let t = 0; t < 60; t++) still.set(walk.positions.subarray(0, stride), t * stride);
    expect(Math.max(...holdEvidence(createMotion(30, walk.jointNames, still), 0, 60, true))).toBe(0);
  });

  it('sees a foot frozen on the pelvis while the body walks, on that leg only', () => {
    const positions = walk.positions.slice();
    const p = (t: number, name: Parameters<typeof jointIndex>[0]): number[] => [0, 1, 2].map((a) => positions[(t * J + jointIndex(name)) * 3 + a]!);
    const sub = (a: number[], b: number[]): number[] => a.map((v, i) => v - b[i]!);
    const cross = (a: number[], b: number[]): number[] => [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
    const unit = (a: number[]): number[] => a.map((v) => v / Math.hypot(...a));
    // The pelvis frame from its three joints: the limb is stored in it at frame 99 and put back each frame.
    const pelvis = (t: number): { origin: number[]; axes: number[][] } => {
      const x = unit(sub(p(t, 'RightUpperLeg'), p(t, 'LeftUpperLeg')));
      const z = unit(cross(x, sub(p(t, 'Hips'), p(t, 'LeftUpperLeg'))));
      return { origin: p(t, 'Hips'), axes: [x, cross(z, x), z] };
    };
    const ref = pelvis(99);
    const local = (['LeftFoot', 'LeftToes'] as const).map((name) => ref.axes.map((axis) => sub(p(99, name), ref.origin).reduce((s, v, i) => s + v * axis[i]!, 0)));
    for (let t = 100; t < 160; t++) {
      const f = pelvis(t);
      (['LeftFoot', 'LeftToes'] as const).forEach((name, k) => {
        for (let a = 0; a < 3; a++) positions[(t * J + jointIndex(name)) * 3 + a] = f.origin[a]! + local[k]!.reduce((s, v, i) => s + v * f.axes[i]![a]!, 0);
      });
    }
    const e = holdEvidence(createMotion(30, walk.jointNames, positions));
    expect(at(e, 105, 'LeftFoot')).toBe(HOLD_UNITS);
    expect(at(e, 130, 'LeftFoot')).toBe(2 * HOLD_UNITS);
    expect(at(e, 130, 'LeftToes')).toBe(2 * HOLD_UNITS);
    expect(at(e, 130, 'RightFoot')).toBe(0);
    expect(at(e, 130, 'LeftHand')).toBe(0);
  });

  it('sees a hand kept in place on the torso even when the clavicle under it moves', () => {
    const positions = walk.positions.slice();
    const p = (t: number, name: Parameters<typeof jointIndex>[0]): number[] => [0, 1, 2].map((a) => positions[(t * J + jointIndex(name)) * 3 + a]!);
    // Forearm and hand keep their offset from the Chest from frame 100 on, while the body walks
    // and the left clavicle shrugs.
    const arm = ['LeftLowerArm', 'LeftHand'] as const;
    const offsets = arm.map((name) => p(99, name).map((v, a) => v - p(99, 'Chest')[a]!));
    for (let t = 100; t < 160; t++) {
      const shrug = 0.03 * Math.sin((2 * Math.PI * (t - 100)) / 30);
      positions[(t * J + jointIndex('LeftShoulder')) * 3 + 1]! += shrug / 2;
      positions[(t * J + jointIndex('LeftUpperArm')) * 3 + 1]! += shrug;
      const chest = p(t, 'Chest');
      arm.forEach((name, k) => {
        for (let a = 0; a < 3; a++) positions[(t * J + jointIndex(name)) * 3 + a] = chest[a]! + offsets[k]![a]!;
      });
    }
    const distance = (t: number, a: Parameters<typeof jointIndex>[0], b: Parameters<typeof jointIndex>[0]): number => Math.hypot(...p(t, a).map((v, i) => v - p(t, b)[i]!));
    // The clavicle joints do not hold the hand still: its distance to them keeps changing.
    expect(Math.abs(distance(130, 'LeftHand', 'LeftUpperArm') - distance(129, 'LeftHand', 'LeftUpperArm'))).toBeGreaterThan(1e-4);
    const e = holdEvidence(createMotion(30, walk.jointNames, positions));
    expect(at(e, 102, 'LeftHand')).toBeCloseTo((2 / 3) * HOLD_UNITS, 5);
    expect(at(e, 130, 'LeftHand')).toBe(2 * HOLD_UNITS);
    expect(at(e, 130, 'RightHand')).toBe(0);
    expect(at(e, 170, 'LeftHand')).toBe(0);
  });

  it('says nothing of a joint never seen moving, nor of a hold past HOLD_MAX_FRAMES', () => {
    const stride = J * 3;
    const frames = HOLD_MAX_FRAMES + 60;
    const still = new Float32Array(frames * stride);
    for (let t = 0; t < frames; t++) still.set(walk.positions.subarray(0, stride), t * stride);
    expect(Math.max(...holdEvidence(createMotion(30, walk.jointNames, still)))).toBe(0);
    const stalled = walk.positions.slice(0, frames * stride);
    for (let t = 11; t < frames; t++) stalled.copyWithin(t * stride, 10 * stride, 11 * stride);
    const e = holdEvidence(createMotion(30, walk.jointNames, stalled));
    expect(at(e, 10 + HOLD_MAX_FRAMES, 'LeftHand')).toBe(2 * HOLD_UNITS);
    expect(at(e, 11 + HOLD_MAX_FRAMES, 'LeftHand')).toBe(0);
  });

  it('gives any span of frames what the whole clip gives it (the stream scores a few frames at a time)', () => {
    const positions = walk.positions.slice();
    const stride = J * 3;
    for (let t = 60; t < 75; t++) positions.copyWithin(t * stride, 59 * stride, 60 * stride);
    const motion = createMotion(30, walk.jointNames, positions);
    const whole = holdEvidence(motion);
    for (const [from, to] of [[58, 61], [63, 66], [70, 80], [0, 240]] as const) {
      expect(Array.from(holdEvidence(motion, from, to))).toEqual(Array.from(whole.subarray(from * J, to * J)));
    }
  });
});

if (!hasData) console.warn('skipping the hold prior on real takes: ../shared/data not found');

describe.skipIf(!hasData)('hold prior on the real takes', () => {
  it('scores every take offline (whole runs) exactly as live: none holds long enough to differ', async () => {
    const files = await listBvhFiles([DATA_DIR]);
    expect(files.length).toBeGreaterThan(900);
    const differ: string[] = [];
    for (const file of files) {
      const m = await loadBvhFile(file);
      const live = holdEvidence(m);
      const offline = holdEvidence(m, 0, m.frameCount, true);
      if (live.some((v, i) => v !== offline[i])) differ.push(path.basename(file));
    }
    expect(differ).toEqual([]);
  }, 120_000);
});

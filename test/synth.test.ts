import { describe, expect, it } from 'vitest';

import type { Motion } from '../src/model/motion.js';
import { CANONICAL_JOINTS, LIMB_OF_JOINT } from '../src/model/skeleton.js';
import type { JointName } from '../src/model/skeleton.js';
import { ANOMALY_KINDS, SPARSE_KINDS, injectAnomaly, randomAnomaly } from '../src/synth/anomalies.js';
import type { AnomalyKind, AnomalySpec, InjectedAnomaly } from '../src/synth/anomalies.js';
import { createRng } from '../src/synth/random.js';

type Vec3 = [number, number, number];

const J = CANONICAL_JOINTS.length;
const T = 120;
const FPS = 30;

const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const dist = (a: Vec3, b: Vec3): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
/** Unit vector at `angle` from straight down, tilted towards +Z (forward). */
const swing = (angle: number): Vec3 => [0, -Math.cos(angle), Math.sin(angle)];

/**
 * A ~1.75 m figure walking along +Z at 1.2 m/s, facing +Z (left = +X): arms and legs
 * swing in opposite phase, elbows and knees always bent, the head a little forward of
 * the neck, a small lateral sway.
 */
function walkingMotion(frames = T): Motion {
  const positions = new Float32Array(frames * J * 3);
  for (let t = 0; t < frames; t++) {
    const phase = (2 * Math.PI * t) / FPS; // one stride per second
    const s = Math.sin(phase);
    const p: Partial<Record<JointName, Vec3>> = {};
    const hips: Vec3 = [0.02 * Math.sin(phase / 2), 0.95 + 0.02 * Math.sin(2 * phase), 0.3 + (1.2 * t) / FPS];
    p.Hips = hips;
    p.Spine = add(hips, [0.005, 0.12, 0.01]);
    p.Chest = add(p.Spine, [0, 0.16, 0.01]);
    p.Neck = add(p.Chest, [0, 0.22, 0]);
    p.Head = add(p.Neck, [0, 0.1, 0.04]);
    for (const [side, sign, armPhase] of [
      ['Left', 1, s],
      ['Right', -1, -s],
    ] as const) {
      const shoulder = add(p.Chest, [sign * 0.04, 0.17, 0]);
      const upperArm = add(shoulder, [sign * 0.14, 0, 0]);
      const armAngle = 0.4 * armPhase;
      const lowerArm = add(upperArm, scale(swing(armAngle), 0.28));
      const hand = add(lowerArm, scale(swing(armAngle + 0.6 + 0.25 * armPhase), 0.25));
      const upperLeg = add(hips, [sign * 0.09, -0.06, 0]);
      const thigh = -0.45 * armPhase; // legs swing against the arm on the same side
      const kneeFlex = 0.3 + 0.3 * Math.max(0, Math.sin(phase * sign + 0.5));
      const lowerLeg = add(upperLeg, scale(swing(thigh), 0.44));
      const foot = add(lowerLeg, scale(swing(thigh - kneeFlex), 0.42));
      const toes = add(foot, [0, -0.05, 0.14]);
      p[`${side}Shoulder`] = shoulder;
      p[`${side}UpperArm`] = upperArm;
      p[`${side}LowerArm`] = lowerArm;
      p[`${side}Hand`] = hand;
      p[`${side}UpperLeg`] = upperLeg;
      p[`${side}LowerLeg`] = lowerLeg;
      p[`${side}Foot`] = foot;
      p[`${side}Toes`] = toes;
    }
    CANONICAL_JOINTS.forEach((name, j) => {
      const v = p[name];
      if (v === undefined) throw new Error(`test motion misses ${name}`);
      positions.set(v, (t * J + j) * 3);
    });
  }
  return { fps: FPS, jointNames: CANONICAL_JOINTS, frameCount: frames, positions };
}

const MOTION = walkingMotion();
const J_OF = (name: JointName): number => CANONICAL_JOINTS.indexOf(name);

function at(m: Motion, t: number, j: number): Vec3 {
  const b = (t * m.jointNames.length + j) * 3;
  return [m.positions[b] as number, m.positions[b + 1] as number, m.positions[b + 2] as number];
}

function sameBits(a: Float32Array, b: Float32Array, from: number, to: number): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = from; i < to; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

function maxDisplacement(a: Motion, b: Motion, j: number, frames: Iterable<number>): number {
  let best = 0;
  for (const t of frames) best = Math.max(best, dist(at(a, t, j), at(b, t, j)));
  return best;
}

function labelledFrames(r: InjectedAnomaly): number[] {
  const frames: number[] = [];
  r.label.frameMask.forEach((v, t) => {
    if (v === 1) frames.push(t);
  });
  return frames;
}

/** Kinds whose label joints are exactly the joints moved (whole-body kinds label every joint, some on the pivot). */
const WHOLE_BODY: readonly AnomalyKind[] = ['teleport', 'networkStutter', 'timeWarp', 'floatingOrSinking', 'mirroredPose', 'bodyYawSnap'];
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe('random', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(xs);
  });

  it('draws in range: uniform, inclusive int, normal, pick, shuffle', () => {
    const rng = createRng(3);
    const ints = new Set<number>();
    let sum = 0;
    let sq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform(2, 5);
      expect(u).toBeGreaterThanOrEqual(2);
      expect(u).toBeLessThan(5);
      ints.add(rng.int(-2, 2));
      const z = rng.normal();
      sum += z;
      sq += z * z;
    }
    expect([...ints].sort()).toEqual([-1, -2, 0, 1, 2]);
    expect(Math.abs(sum / n)).toBeLessThan(0.05);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
    expect(['a', 'b', 'c']).toContain(rng.pick(['a', 'b', 'c']));
    expect(() => rng.pick([])).toThrow();
    expect(rng.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
    const f1 = createRng(9).fork();
    const f2 = createRng(9).fork();
    expect(f1.next()).toBe(f2.next());
  });
});

describe('the test motion', () => {
  it('has plausible proportions and bent elbows/knees', () => {
    const head = at(MOTION, 0, J_OF('Head'));
    const toes = at(MOTION, 0, J_OF('LeftToes'));
    expect(head[1] - toes[1]).toBeGreaterThan(1.5);
    expect(head[1] - toes[1]).toBeLessThan(1.8);
    expect(Array.from(MOTION.positions).every(Number.isFinite)).toBe(true);
  });
});

describe.each(ANOMALY_KINDS.map((k) => [k] as const))('%s', (kind) => {
  const sparse = SPARSE_KINDS.includes(kind);
  const wholeBody = WHOLE_BODY.includes(kind);

  it('is deterministic for a seed, reproducible from its resolved spec, and leaves the input alone', () => {
    const before = MOTION.positions.slice();
    const a = injectAnomaly(MOTION, { kind, seed: 11 });
    const b = injectAnomaly(MOTION, { kind, seed: 11 });
    const c = injectAnomaly(MOTION, a.spec);
    expect(sameBits(MOTION.positions, before, 0, before.length)).toBe(true);
    expect(a.motion.positions).not.toBe(MOTION.positions);
    for (const other of [b, c]) {
      expect(sameBits(a.motion.positions, other.motion.positions, 0, before.length)).toBe(true);
      expect(other.label).toEqual(a.label);
    }
    // A seed drawn from an rng is recorded and replays too.
    const d = injectAnomaly(MOTION, { kind }, createRng(5));
    expect(sameBits(d.motion.positions, injectAnomaly(MOTION, d.spec).motion.positions, 0, before.length)).toBe(true);
  });

  it.each(SEEDS)('seed %i: local in time, labelled joints moved, others untouched, labels consistent', (seed) => {
    const r = injectAnomaly(MOTION, { kind, seed });
    const { label, motion } = r;
    const { startFrame: s, endFrame: e } = label;
    expect(label.kind).toBe(kind);
    expect(motion.frameCount).toBe(T);
    expect(motion.jointNames).toEqual(MOTION.jointNames);
    expect(Array.from(motion.positions).every(Number.isFinite)).toBe(true);

    // The label lies inside the requested span, which lies inside the clip.
    expect(s).toBeGreaterThanOrEqual(r.spec.startFrame);
    expect(e).toBeLessThanOrEqual(r.spec.startFrame + r.spec.frameCount);
    expect(s).toBeLessThan(e);
    expect(e).toBeLessThanOrEqual(T);

    // Frames outside [s, e) are bitwise unchanged.
    expect(sameBits(motion.positions, MOTION.positions, 0, s * J * 3)).toBe(true);
    expect(sameBits(motion.positions, MOTION.positions, e * J * 3, T * J * 3)).toBe(true);

    // Masks.
    const frames = labelledFrames(r);
    expect(frames[0]).toBe(s);
    expect(frames[frames.length - 1]).toBe(e - 1);
    if (sparse) expect(frames.length).toBeLessThanOrEqual(e - s);
    else expect(frames.length).toBe(e - s);
    const labelled = new Set(label.joints.map(J_OF));
    expect(label.joints.length).toBeGreaterThan(0);
    expect(label.limbs.sort()).toEqual([...new Set(label.joints.map((n) => LIMB_OF_JOINT[n]))].sort());
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < J; j++) {
        const expected = label.frameMask[t] === 1 && labelled.has(j) ? 1 : 0;
        if (label.jointMask[t * J + j] !== expected) throw new Error(`jointMask wrong at frame ${t}, joint ${j}`);
      }
    }

    // Labelled joints really moved; unlabelled joints did not, on any frame.
    let moved = 0;
    for (const j of labelled) {
      const d = maxDisplacement(motion, MOTION, j, frames);
      moved = Math.max(moved, d);
      if (!wholeBody) expect(d, `${CANONICAL_JOINTS[j]} should move`).toBeGreaterThan(0.005);
    }
    expect(moved).toBeGreaterThan(0.02);
    for (let j = 0; j < J; j++) {
      if (labelled.has(j)) continue;
      for (let t = 0; t < T; t++) {
        if (!sameBits(motion.positions, MOTION.positions, (t * J + j) * 3, (t * J + j) * 3 + 3)) {
          throw new Error(`unlabelled joint ${CANONICAL_JOINTS[j]} moved at frame ${t}`);
        }
      }
    }
  });

  it('honours an explicit span, severity 0 and 1, and short spans', () => {
    for (const severity of [0, 1]) {
      for (const [startFrame, frameCount] of [
        [30, 40],
        [0, 3],
        [T - 2, 2],
        [60, 1],
      ] as const) {
        const r = injectAnomaly(MOTION, { kind, startFrame, frameCount, severity, seed: 3 });
        expect(r.label.startFrame).toBeGreaterThanOrEqual(startFrame);
        expect(r.label.endFrame).toBeLessThanOrEqual(startFrame + frameCount);
        expect(r.label.severity).toBe(severity);
        expect(Array.from(r.motion.positions).every(Number.isFinite)).toBe(true);
        expect(sameBits(r.motion.positions, MOTION.positions, 0, r.label.startFrame * J * 3)).toBe(true);
        expect(sameBits(r.motion.positions, MOTION.positions, r.label.endFrame * J * 3, T * J * 3)).toBe(true);
      }
    }
  });
});

describe('kind-specific behaviour', () => {
  const length = (m: Motion, t: number, a: JointName, b: JointName): number => dist(at(m, t, J_OF(a)), at(m, t, J_OF(b)));

  it('boneStretch changes the bone length by the requested ratio and keeps the child chain rigid', () => {
    for (const seed of [1, 2, 3, 4]) {
      const r = injectAnomaly(MOTION, { kind: 'boneStretch', joints: ['LeftLowerArm'], startFrame: 20, frameCount: 60, severity: 1, seed });
      const ratio = r.label.params.ratio as number;
      expect(Math.abs(ratio - 1)).toBeCloseTo(0.6, 6);
      expect(r.label.joints).toEqual(['LeftLowerArm', 'LeftHand']);
      for (const t of [25, 50, 75]) {
        expect(length(r.motion, t, 'LeftUpperArm', 'LeftLowerArm') / length(MOTION, t, 'LeftUpperArm', 'LeftLowerArm')).toBeCloseTo(ratio, 4);
        expect(length(r.motion, t, 'LeftLowerArm', 'LeftHand')).toBeCloseTo(length(MOTION, t, 'LeftLowerArm', 'LeftHand'), 5);
      }
      // Ramp frames are partial stretches.
      const first = length(r.motion, 20, 'LeftUpperArm', 'LeftLowerArm') / length(MOTION, 20, 'LeftUpperArm', 'LeftLowerArm');
      expect(Math.abs(first - 1)).toBeGreaterThan(0);
      expect(Math.abs(first - 1)).toBeLessThan(Math.abs(ratio - 1));
    }
    const shrinkOrGrow = new Set(Array.from({ length: 20 }, (_, i) => i).map((seed) => injectAnomaly(MOTION, { kind: 'boneStretch', seed }).label.variant));
    expect(shrinkOrGrow.size).toBe(2);
  });

  it('ikFlip reflects the elbow across the shoulder-hand line and keeps bone lengths', () => {
    const r = injectAnomaly(MOTION, { kind: 'ikFlip', limb: 'rightArm', startFrame: 10, frameCount: 50, seed: 4 });
    expect(r.label.joints).toEqual(['RightLowerArm']);
    for (let t = 10; t < 60; t++) {
      expect(length(r.motion, t, 'RightUpperArm', 'RightLowerArm')).toBeCloseTo(length(MOTION, t, 'RightUpperArm', 'RightLowerArm'), 5);
      expect(length(r.motion, t, 'RightLowerArm', 'RightHand')).toBeCloseTo(length(MOTION, t, 'RightLowerArm', 'RightHand'), 5);
    }
    for (const t of [20, 35, 50]) {
      const sh = at(MOTION, t, J_OF('RightUpperArm'));
      const hand = at(MOTION, t, J_OF('RightHand'));
      const elbow = at(MOTION, t, J_OF('RightLowerArm'));
      const axis = scale(sub(hand, sh), 1 / dist(hand, sh));
      const foot = add(sh, scale(axis, dot(sub(elbow, sh), axis)));
      const reflected = sub(scale(foot, 2), elbow);
      expect(dist(at(r.motion, t, J_OF('RightLowerArm')), reflected)).toBeLessThan(1e-5);
      expect(dist(reflected, elbow)).toBeGreaterThan(0.05);
    }
  });

  it('teleport moves every joint by the same vector', () => {
    for (const seed of [1, 2, 3]) {
      const r = injectAnomaly(MOTION, { kind: 'teleport', seed });
      const offset = sub(at(r.motion, r.label.startFrame, 0), at(MOTION, r.label.startFrame, 0));
      const d = Math.hypot(...offset);
      expect(d).toBeGreaterThanOrEqual(0.5 - 1e-3);
      expect(d).toBeLessThanOrEqual(3 + 0.2);
      expect(d).toBeCloseTo(r.label.params.distanceMetres as number, 4);
      for (let t = r.label.startFrame; t < r.label.endFrame; t++) {
        for (let j = 0; j < J; j++) {
          expect(dist(sub(at(r.motion, t, j), at(MOTION, t, j)), offset)).toBeLessThan(1e-4);
        }
      }
    }
  });

  it('limbSwap exchanges the two trajectories', () => {
    const r = injectAnomaly(MOTION, { kind: 'limbSwap', joints: ['LeftHand'], startFrame: 40, frameCount: 30, seed: 1 });
    expect(r.label.variant).toBe('hands');
    expect(r.label.joints.sort()).toEqual(['LeftHand', 'RightHand']);
    for (let t = 40; t < 70; t++) {
      expect(at(r.motion, t, J_OF('LeftHand'))).toEqual(at(MOTION, t, J_OF('RightHand')));
      expect(at(r.motion, t, J_OF('RightHand'))).toEqual(at(MOTION, t, J_OF('LeftHand')));
    }
    const feet = injectAnomaly(MOTION, { kind: 'limbSwap', limb: 'rightLeg', startFrame: 40, frameCount: 30, seed: 1 });
    expect(feet.label.joints.sort()).toEqual(['LeftFoot', 'LeftToes', 'RightFoot', 'RightToes']);
    expect(at(feet.motion, 50, J_OF('LeftToes'))).toEqual(at(MOTION, 50, J_OF('RightToes')));
  });

  it('networkStutter repeats the last pose on frozen frames', () => {
    const r = injectAnomaly(MOTION, { kind: 'networkStutter', startFrame: 20, frameCount: 80, severity: 1, seed: 2 });
    const frames = labelledFrames(r);
    expect(r.label.params.episodes).toBeGreaterThan(1);
    for (const t of frames) {
      for (let j = 0; j < J; j++) expect(at(r.motion, t, j)).toEqual(at(r.motion, t - 1, j));
    }
  });

  it('impossibleAngle hyperextends the knee beyond 60 deg, a rigid rotation of the foot', () => {
    const r = injectAnomaly(MOTION, { kind: 'impossibleAngle', limb: 'leftLeg', startFrame: 30, frameCount: 40, severity: 1, seed: 1 });
    expect(r.label.variant).toBe('kneeHyperextension');
    expect(r.label.joints).toEqual(['LeftFoot', 'LeftToes']);
    for (const t of [40, 50, 60]) {
      const hip = at(r.motion, t, J_OF('LeftUpperLeg'));
      const knee = at(r.motion, t, J_OF('LeftLowerLeg'));
      const foot = at(r.motion, t, J_OF('LeftFoot'));
      const thigh = sub(knee, hip);
      const shin = sub(foot, knee);
      const angle = Math.acos(dot(thigh, shin) / (Math.hypot(...thigh) * Math.hypot(...shin)));
      expect(angle / (Math.PI / 180)).toBeCloseTo(100, 1);
      // Hyperextended: the shin points forward of the thigh line (the body faces +Z).
      const perp = sub(shin, scale(thigh, dot(shin, thigh) / dot(thigh, thigh)));
      expect(perp[2]).toBeGreaterThan(0.2);
      expect(length(r.motion, t, 'LeftFoot', 'LeftToes')).toBeCloseTo(length(MOTION, t, 'LeftFoot', 'LeftToes'), 5);
      expect(length(r.motion, t, 'LeftLowerLeg', 'LeftFoot')).toBeCloseTo(length(MOTION, t, 'LeftLowerLeg', 'LeftFoot'), 5);
    }
    const spine = injectAnomaly(MOTION, { kind: 'impossibleAngle', limb: 'torso', seed: 1 });
    expect(spine.label.variant).toBe('spineBackward');
    expect(spine.label.joints).toContain('Head');
    expect(spine.label.joints).not.toContain('Spine');
  });

  it('impossibleAngle can fold the forearm through the upper arm', () => {
    let fold: InjectedAnomaly | undefined;
    for (let seed = 0; fold === undefined && seed < 50; seed++) {
      const r = injectAnomaly(MOTION, { kind: 'impossibleAngle', limb: 'leftArm', startFrame: 30, frameCount: 40, severity: 1, seed });
      if (r.label.variant === 'elbowFold') fold = r;
    }
    if (fold === undefined) throw new Error('no elbowFold in 50 seeds');
    expect(fold.label.joints).toEqual(['LeftHand']);
    for (const t of [40, 50, 60]) {
      // 200 deg of flexion: the hand passes back through the upper arm, next to the shoulder.
      expect(length(fold.motion, t, 'LeftUpperArm', 'LeftHand')).toBeLessThan(0.1);
      expect(length(fold.motion, t, 'LeftLowerArm', 'LeftHand')).toBeCloseTo(length(MOTION, t, 'LeftLowerArm', 'LeftHand'), 5);
    }
  });

  it('frozenLimb holds the leg rigid relative to the pelvis while the body walks on', () => {
    const r = injectAnomaly(MOTION, { kind: 'frozenLimb', limb: 'leftLeg', startFrame: 30, frameCount: 50, seed: 1 });
    expect(r.label.joints).toEqual(['LeftLowerLeg', 'LeftFoot', 'LeftToes']);
    const pelvisToFoot = (t: number): number[] =>
      (['Hips', 'LeftUpperLeg', 'RightUpperLeg'] as const).map((n) => length(r.motion, t, n, 'LeftFoot'));
    const held = pelvisToFoot(29);
    for (let t = 30; t < 77; t++) pelvisToFoot(t).forEach((d, i) => expect(d).toBeCloseTo(held[i] as number, 4));
    // ... whereas the original leg kept swinging.
    expect(maxDisplacement(r.motion, MOTION, J_OF('LeftFoot'), labelledFrames(r))).toBeGreaterThan(0.1);
  });

  it('spikePop pops 1-3 isolated frames by 20-60 cm', () => {
    for (const seed of SEEDS) {
      const r = injectAnomaly(MOTION, { kind: 'spikePop', seed });
      const frames = labelledFrames(r);
      expect(frames.length).toBeGreaterThanOrEqual(1);
      expect(frames.length).toBeLessThanOrEqual(3);
      for (let i = 1; i < frames.length; i++) expect((frames[i] as number) - (frames[i - 1] as number)).toBeGreaterThan(1);
      const j = J_OF(r.label.joints[0] as JointName);
      for (const t of frames) {
        const d = dist(at(r.motion, t, j), at(MOTION, t, j));
        expect(d).toBeGreaterThanOrEqual(0.2 - 1e-4);
        expect(d).toBeLessThanOrEqual(0.6 + 1e-4);
      }
    }
  });

  it('floatingOrSinking shifts the whole body vertically, growing gradually', () => {
    const r = injectAnomaly(MOTION, { kind: 'floatingOrSinking', startFrame: 10, frameCount: 90, severity: 1, seed: 5 });
    const dy = (t: number): number => (at(r.motion, t, 0)[1] - at(MOTION, t, 0)[1]) * Math.sign(r.label.params.heightMetres as number);
    expect(dy(10)).toBeGreaterThan(0);
    expect(dy(10)).toBeLessThan(0.2);
    expect(Math.max(...labelledFrames(r).map(dy))).toBeCloseTo(1, 3);
    for (let j = 0; j < J; j++) {
      const d = sub(at(r.motion, 50, j), at(MOTION, 50, j));
      expect(Math.abs(d[0]) + Math.abs(d[2])).toBeLessThan(1e-6);
    }
  });

  it('mirroredPose puts the left hand on the right side of the body', () => {
    const r = injectAnomaly(MOTION, { kind: 'mirroredPose', startFrame: 30, frameCount: 30, seed: 1 });
    for (const t of [30, 45, 59]) {
      const side = (m: Motion): number => at(m, t, J_OF('LeftHand'))[0] - at(m, t, J_OF('Hips'))[0];
      expect(side(MOTION)).toBeGreaterThan(0.1);
      expect(side(r.motion)).toBeLessThan(-0.1);
    }
  });

  it('driftingHand and footSkate keep bone lengths (IK) while moving the end effector', () => {
    for (const [kind, limb, a, b, c] of [
      ['driftingHand', 'leftArm', 'LeftUpperArm', 'LeftLowerArm', 'LeftHand'],
      ['footSkate', 'rightLeg', 'RightUpperLeg', 'RightLowerLeg', 'RightFoot'],
    ] as const) {
      const r = injectAnomaly(MOTION, { kind, limb, startFrame: 20, frameCount: 60, severity: 1, seed: 2 });
      for (let t = 20; t < 80; t++) {
        expect(length(r.motion, t, a, b)).toBeCloseTo(length(MOTION, t, a, b), 4);
        expect(length(r.motion, t, b, c)).toBeCloseTo(length(MOTION, t, b, c), 4);
      }
      expect(maxDisplacement(r.motion, MOTION, J_OF(c), labelledFrames(r))).toBeGreaterThan(0.05);
    }
  });

  it('reaches every variant of timeWarp and impossibleAngle', () => {
    const seeds = Array.from({ length: 60 }, (_, i) => i);
    const variants = (kind: AnomalyKind): Set<string> => new Set(seeds.map((seed) => injectAnomaly(MOTION, { kind, seed }).label.variant));
    expect(variants('timeWarp')).toEqual(new Set(['fastForward', 'jumpCut']));
    expect(variants('impossibleAngle')).toEqual(
      new Set(['spineBackward', 'headTwist', 'headBackward', 'headRoll', 'elbowFold', 'elbowHyperextension', 'kneeHyperextension']),
    );
  });
});

describe('validation', () => {
  const bad: [string, AnomalySpec][] = [
    ['unknown kind', { kind: 'explode' as AnomalyKind }],
    ['start past the end', { kind: 'teleport', startFrame: T }],
    ['negative start', { kind: 'teleport', startFrame: -1 }],
    ['span past the end', { kind: 'teleport', startFrame: 100, frameCount: 30 }],
    ['zero frames', { kind: 'teleport', frameCount: 0 }],
    ['fractional frames', { kind: 'teleport', frameCount: 2.5 }],
    ['severity above 1', { kind: 'teleport', severity: 1.5 }],
    ['unknown joint', { kind: 'spikePop', joints: ['Tail' as JointName] }],
    ['empty joints', { kind: 'spikePop', joints: [] }],
    ['wrong limb for the kind', { kind: 'ikFlip', limb: 'head' }],
    ['midline joint swap', { kind: 'limbSwap', joints: ['Head'] }],
  ];
  it.each(bad)('rejects %s', (_name, spec) => {
    expect(() => injectAnomaly(MOTION, spec)).toThrow(Error);
  });

  it('names the problem', () => {
    expect(() => injectAnomaly(MOTION, { kind: 'teleport', startFrame: 100, frameCount: 30 })).toThrow(/past the motion/);
    expect(() => injectAnomaly(MOTION, { kind: 'spikePop', joints: ['Tail' as JointName] })).toThrow(/unknown joint 'Tail'/);
  });

  it('works on a partial skeleton and rejects joints it lacks', () => {
    const names: JointName[] = ['Hips', 'Spine', 'Chest', 'Neck', 'Head'];
    const positions = new Float32Array(30 * names.length * 3);
    for (let t = 0; t < 30; t++) names.forEach((_, j) => positions.set([0, 1 + 0.2 * j, 0.04 * t], (t * names.length + j) * 3));
    const partial: Motion = { fps: 30, jointNames: names, frameCount: 30, positions };
    const r = injectAnomaly(partial, { kind: 'spikePop', seed: 1 });
    expect(r.label.jointMask.length).toBe(30 * names.length);
    expect(injectAnomaly(partial, { kind: 'teleport', seed: 1 }).label.joints).toEqual(names);
    expect(() => injectAnomaly(partial, { kind: 'spikePop', joints: ['LeftHand'] })).toThrow(/not in the motion/);
    expect(() => injectAnomaly(partial, { kind: 'ikFlip' })).toThrow(/ikFlip/);
  });
});

describe('randomAnomaly', () => {
  it('is deterministic for an rng seed and covers every kind', () => {
    const a = createRng(100);
    const b = createRng(100);
    const seen = new Set<AnomalyKind>();
    for (let i = 0; i < 120; i++) {
      const x = randomAnomaly(MOTION, a);
      const y = randomAnomaly(MOTION, b);
      expect(x.label).toEqual(y.label);
      expect(sameBits(x.motion.positions, y.motion.positions, 0, T * J * 3)).toBe(true);
      expect(x.label.severity).toBeGreaterThanOrEqual(0.5);
      seen.add(x.label.kind);
    }
    expect(seen.size).toBe(ANOMALY_KINDS.length);
  });

  it('respects kinds, severity and frame bounds', () => {
    const rng = createRng(7);
    for (let i = 0; i < 40; i++) {
      const r = randomAnomaly(MOTION, rng, { kinds: ['trackingJitter', 'frozenLimb'], severity: 0.3, minFrames: 10, maxFrames: 20 });
      expect(['trackingJitter', 'frozenLimb']).toContain(r.label.kind);
      expect(r.label.severity).toBe(0.3);
      expect(r.spec.frameCount).toBeGreaterThanOrEqual(10);
      expect(r.spec.frameCount).toBeLessThanOrEqual(20);
      expect(r.label.endFrame - r.label.startFrame).toBe(r.spec.frameCount);
    }
    expect(() => randomAnomaly(MOTION, rng, { kinds: [] })).toThrow(/empty/);
    expect(() => randomAnomaly(MOTION, rng, { minFrames: 30, maxFrames: 10 })).toThrow(/minFrames/);
  });
});

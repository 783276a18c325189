/**
 * Synthetic anomaly generator: corrupts a clean motion with faults that VR/AR
 * avatars really show (lost trackers, IK flips, network stutter, calibration
 * errors...), at labelled frames and joints.
 *
 * It feeds tests, the benchmark and the demo; it is NOT the judge (the detector is
 * evaluated on unseen real anomalies), so the kinds are many, varied and realistic
 * rather than easy: whole sub-chains move rigidly so descendants follow their
 * parent, and faults that a real system smooths ramp in/out over a few frames.
 *
 * Everything here is pure: the input motion is never mutated, and the same spec
 * (seed included) always yields the same output.
 */

import type { Motion } from '../model/motion.js';
import { CANONICAL_JOINTS, CANONICAL_PARENT, LIMB_OF_JOINT, MIRROR_JOINT } from '../model/skeleton.js';
import type { JointName, Limb } from '../model/skeleton.js';
import { createRng, MAX_SEED } from './random.js';
import type { Rng } from './random.js';

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export const ANOMALY_KINDS = [
  'trackingJitter',
  'ikFlip',
  'impossibleAngle',
  'teleport',
  'networkStutter',
  'boneStretch',
  'jointSnapToOrigin',
  'limbSwap',
  'timeWarp',
  'frozenLimb',
  'spikePop',
  'floatingOrSinking',
  'mirroredPose',
  'driftingHand',
  'footSkate',
  'bodyYawSnap',
] as const;

export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** One line per kind: what real VR/AR fault it imitates (for reports and the demo). */
export const ANOMALY_DESCRIPTIONS: Readonly<Record<AnomalyKind, string>> = {
  trackingJitter: 'high-frequency 1-5 cm noise on one limb, like an occluded optical tracker or a noisy IMU',
  ikFlip: 'elbow/knee swings to the wrong side of the shoulder-hand (hip-foot) line: the IK pole flips',
  impossibleAngle: 'a sub-chain rotated beyond human limits (head bent/twisted, elbow folded, knee hyperextended, spine bent back)',
  teleport: 'the whole body jumps 0.5-3 m (tracking-space relocalisation), then jumps back or stays offset',
  networkStutter: 'poses freeze for 3-15 frames then catch up with a jump, several times (packet loss)',
  boneStretch: 'one bone grows or shrinks by 20-60% (IK stretching to an unreachable target, bad scale calibration)',
  jointSnapToOrigin: 'a lost tracker snaps to the hips, the tracking-space origin or its last seen position',
  limbSwap: 'left and right hands (or feet) exchanged: controllers/trackers assigned to the wrong side',
  timeWarp: 'a lag then a 3-6x fast-forward to catch up (rubber-banding), or a jump-cut to stale/future frames',
  frozenLimb: 'one limb stays rigid relative to the body while the rest moves (IK target lost)',
  spikePop: '1-3 isolated frames where a joint and its children pop 20-60 cm away (tracking outlier)',
  floatingOrSinking: 'the body gradually floats up 30-100 cm or sinks through the floor (floor-height drift)',
  mirroredPose: 'the pose is mirrored left/right across the body plane (handedness conversion bug)',
  driftingHand: 'a hand or foot target drifts away (IMU dead-reckoning drift) and IK drags the limb after it',
  footSkate: 'a foot slides back and forth on the floor (locomotion cadence mismatched with root speed)',
  bodyYawSnap: 'the body snaps to a wrong heading about the vertical (yaw recentre while walking)',
};

/** Kinds whose frameMask may be sparse inside [startFrame, endFrame) (every other kind fills its span). */
export const SPARSE_KINDS: readonly AnomalyKind[] = ['networkStutter', 'spikePop'];

export interface AnomalySpec {
  readonly kind: AnomalyKind;
  /** First frame of the span; drawn from the seed when absent. */
  readonly startFrame?: number;
  /** Length of the span in frames; drawn from the kind's typical duration when absent. */
  readonly frameCount?: number;
  /** Target joints (the first one decides for single-joint kinds); takes precedence over `limb`. */
  readonly joints?: readonly JointName[];
  /** Target limb; by default each kind picks one it can corrupt. Ignored by whole-body kinds. */
  readonly limb?: Limb;
  /** 0..1 scales the magnitude inside each kind's realistic range; drawn in 0.5..1 when absent. */
  readonly severity?: number;
  /** Seed of every random choice; when absent it is drawn from the rng passed in (or 0). */
  readonly seed?: number;
}

/** A spec with every field that was drawn filled in: `injectAnomaly(motion, spec)` reproduces the result. */
export interface ResolvedAnomalySpec extends AnomalySpec {
  readonly startFrame: number;
  readonly frameCount: number;
  readonly severity: number;
  readonly seed: number;
}

export interface AnomalyLabel {
  readonly kind: AnomalyKind;
  /** Which flavour of the kind was applied (e.g. 'kneeHyperextension', 'jumpCut', 'hips'). */
  readonly variant: string;
  /** Bounding span of the corrupted frames: [startFrame, endFrame). */
  readonly startFrame: number;
  readonly endFrame: number;
  /** Joints whose positions were altered (a moved sub-chain includes the descendants carried along). */
  readonly joints: JointName[];
  readonly limbs: Limb[];
  readonly severity: number;
  /** 1 on corrupted frames (length T). */
  readonly frameMask: Uint8Array;
  /** 1 on corrupted joint-frames, frame-major (length T * J): frameMask x joints. */
  readonly jointMask: Uint8Array;
  /** Kind-specific magnitudes actually applied (e.g. ratio, distance in metres, angle in degrees). */
  readonly params: Readonly<Record<string, number>>;
}

export interface InjectedAnomaly {
  readonly motion: Motion;
  readonly label: AnomalyLabel;
  readonly spec: ResolvedAnomalySpec;
}

export interface RandomAnomalyOptions {
  readonly kinds?: readonly AnomalyKind[];
  readonly severity?: number;
  readonly minFrames?: number;
  readonly maxFrames?: number;
}

/** Corrupts a copy of `motion` as `spec` says. Random choices come from `spec.seed`, else from `rng`. */
export function injectAnomaly(motion: Motion, spec: AnomalySpec, rng?: Rng): InjectedAnomaly {
  validateMotion(motion);
  if (!(ANOMALY_KINDS as readonly string[]).includes(spec.kind)) {
    throw new Error(`unknown anomaly kind '${String(spec.kind)}'; expected one of ${ANOMALY_KINDS.join(', ')}`);
  }
  validateTargets(motion, spec);
  const seed = spec.seed ?? (rng ? rng.int(0, MAX_SEED) : 0);
  // Fold the kind in, so seed 1 of one kind does not share its span and severity with seed 1 of another.
  const root = createRng(seed + ANOMALY_KINDS.indexOf(spec.kind) * 0x9e3779b1);
  // Separate sub-streams, so fixing the span or the severity does not change the kind's own draws.
  const spanRng = root.fork();
  const kindRng = root.fork();
  let severity: number;
  if (spec.severity === undefined) {
    severity = root.uniform(0.5, 1);
  } else {
    if (!(spec.severity >= 0 && spec.severity <= 1)) throw new Error(`severity must be in [0, 1], got ${spec.severity}`);
    severity = spec.severity;
  }
  const [startFrame, frameCount] = resolveSpan(motion, spec, spanRng);

  const ctx: Ctx = {
    kind: spec.kind,
    spec,
    src: motion.positions,
    out: motion.positions.slice(),
    T: motion.frameCount,
    J: motion.jointNames.length,
    fps: motion.fps,
    names: motion.jointNames,
    parent: presentParents(motion.jointNames),
    start: startFrame,
    end: startFrame + frameCount,
    severity,
    rng: kindRng,
  };
  const result = KIND_IMPL[spec.kind](ctx);

  const resolved: ResolvedAnomalySpec = { ...spec, startFrame, frameCount, severity, seed };
  return {
    motion: { fps: motion.fps, jointNames: motion.jointNames, frameCount: motion.frameCount, positions: ctx.out },
    label: buildLabel(ctx, result),
    spec: resolved,
  };
}

/** Draws a kind, a severity, a span and a seed from `rng`, then injects. */
export function randomAnomaly(motion: Motion, rng: Rng, options: RandomAnomalyOptions = {}): InjectedAnomaly {
  validateMotion(motion);
  const kinds = options.kinds ?? ANOMALY_KINDS;
  if (kinds.length === 0) throw new Error('randomAnomaly: options.kinds is empty');
  const kind = rng.pick(kinds);
  const severity = options.severity ?? rng.uniform(0.5, 1);
  let frameCount: number | undefined;
  if (options.minFrames !== undefined || options.maxFrames !== undefined) {
    const T = motion.frameCount;
    const [dMin, dMax] = defaultSpanFrames(kind, motion.fps);
    const lo = Math.max(1, Math.min(T, Math.round(options.minFrames ?? dMin)));
    const hi = Math.min(T, Math.round(options.maxFrames ?? Math.max(lo, dMax)));
    if (hi < lo) throw new Error(`randomAnomaly: minFrames ${options.minFrames} > maxFrames ${options.maxFrames}`);
    frameCount = rng.int(lo, hi);
  }
  const spec: AnomalySpec = { kind, severity, seed: rng.int(0, MAX_SEED), ...(frameCount === undefined ? {} : { frameCount }) };
  return injectAnomaly(motion, spec);
}

// ---------------------------------------------------------------------------
// Validation and span selection
// ---------------------------------------------------------------------------

function validateMotion(motion: Motion): void {
  const J = motion.jointNames.length;
  if (J === 0) throw new Error('motion has no joints');
  if (!(motion.frameCount >= 1)) throw new Error(`motion has no frames (frameCount ${motion.frameCount})`);
  if (motion.positions.length !== motion.frameCount * J * 3) {
    throw new Error(`motion positions length ${motion.positions.length} != ${motion.frameCount} frames x ${J} joints x 3`);
  }
}

function validateTargets(motion: Motion, spec: AnomalySpec): void {
  if (spec.joints !== undefined) {
    if (spec.joints.length === 0) throw new Error(`${spec.kind}: spec.joints is empty`);
    for (const name of spec.joints) {
      if (!(CANONICAL_JOINTS as readonly string[]).includes(name)) throw new Error(`${spec.kind}: unknown joint '${name}'`);
      if (!motion.jointNames.includes(name)) throw new Error(`${spec.kind}: joint '${name}' is not in the motion`);
    }
  }
  if (spec.limb !== undefined && !ALL_LIMBS.includes(spec.limb)) {
    throw new Error(`${spec.kind}: unknown limb '${String(spec.limb)}'; expected one of ${ALL_LIMBS.join(', ')}`);
  }
  if (spec.seed !== undefined && !Number.isFinite(spec.seed)) throw new Error(`seed must be finite, got ${spec.seed}`);
}

/** Typical duration of each kind in seconds, and how often a default span runs to the end of the clip. */
const DEFAULT_SPAN: Readonly<Record<AnomalyKind, { min: number; max: number; toEnd: number }>> = {
  trackingJitter: { min: 0.5, max: 3, toEnd: 0 },
  ikFlip: { min: 0.3, max: 2, toEnd: 0 },
  impossibleAngle: { min: 0.5, max: 3, toEnd: 0 },
  teleport: { min: 0.3, max: 3, toEnd: 0.3 },
  networkStutter: { min: 1, max: 4, toEnd: 0 },
  boneStretch: { min: 0.7, max: 4, toEnd: 0 },
  jointSnapToOrigin: { min: 0.2, max: 2, toEnd: 0 },
  limbSwap: { min: 0.5, max: 4, toEnd: 0.3 },
  timeWarp: { min: 0.3, max: 1.5, toEnd: 0 },
  frozenLimb: { min: 1, max: 4, toEnd: 0 },
  spikePop: { min: 0.1, max: 0.4, toEnd: 0 },
  floatingOrSinking: { min: 2, max: 6, toEnd: 0.2 },
  mirroredPose: { min: 0.5, max: 3, toEnd: 0.3 },
  driftingHand: { min: 1, max: 4, toEnd: 0 },
  footSkate: { min: 1, max: 4, toEnd: 0 },
  bodyYawSnap: { min: 1, max: 4, toEnd: 0.3 },
};

function defaultSpanFrames(kind: AnomalyKind, fps: number): [number, number] {
  const d = DEFAULT_SPAN[kind];
  const lo = Math.max(1, Math.round(d.min * fps));
  return [lo, Math.max(lo, Math.round(d.max * fps))];
}

function isInt(x: number): boolean {
  return Number.isInteger(x);
}

function resolveSpan(motion: Motion, spec: AnomalySpec, rng: Rng): [number, number] {
  const T = motion.frameCount;
  let start = spec.startFrame;
  let count = spec.frameCount;
  if (start !== undefined && !(isInt(start) && start >= 0 && start < T)) {
    throw new Error(`${spec.kind}: startFrame ${start} is outside the motion [0, ${T})`);
  }
  if (count !== undefined) {
    if (!(isInt(count) && count >= 1)) throw new Error(`${spec.kind}: frameCount must be a positive integer, got ${count}`);
    if ((start ?? 0) + count > T) {
      throw new Error(`${spec.kind}: span [${start ?? 0}, ${(start ?? 0) + count}) runs past the motion's ${T} frames`);
    }
  }
  const d = DEFAULT_SPAN[spec.kind];
  if (count === undefined) {
    // Leave at least one clean frame before the fault when the clip allows it.
    const avail = start !== undefined ? T - start : T > 1 ? T - 1 : T;
    const [dMin, dMax] = defaultSpanFrames(spec.kind, motion.fps);
    const lo = Math.min(dMin, avail);
    const hi = Math.min(dMax, avail);
    const toEnd = d.toEnd > 0 && rng.bool(d.toEnd);
    if (start !== undefined) {
      count = toEnd ? avail : rng.int(lo, hi);
    } else {
      count = rng.int(lo, hi);
      if (toEnd) start = T - count;
    }
  }
  if (start === undefined) start = rng.int(count < T ? 1 : 0, T - count);
  return [start, count];
}

// ---------------------------------------------------------------------------
// Context, small vector maths, skeleton helpers
// ---------------------------------------------------------------------------

interface Ctx {
  readonly kind: AnomalyKind;
  readonly spec: AnomalySpec;
  /** Input positions: read only. */
  readonly src: Float32Array;
  /** Output positions: a copy of src, written only on corrupted joint-frames. */
  readonly out: Float32Array;
  readonly T: number;
  readonly J: number;
  readonly fps: number;
  readonly names: readonly JointName[];
  /** Nearest ancestor present in the motion (-1 for a root). */
  readonly parent: readonly number[];
  readonly start: number;
  readonly end: number;
  readonly severity: number;
  readonly rng: Rng;
}

interface KindResult {
  readonly variant: string;
  readonly joints: readonly number[];
  /** Corrupted frames; the whole span when absent. */
  readonly frames?: readonly number[];
  readonly params?: Record<string, number>;
}

type Vec3 = [number, number, number];

const UP: Vec3 = [0, 1, 0];
const DEG = Math.PI / 180;

const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);
const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;

function normalize(a: Vec3, fallback: Vec3): Vec3 {
  const n = norm(a);
  return n > 1e-9 ? scale(a, 1 / n) : fallback;
}

/** Rodrigues: v rotated by `angle` about the unit `axis`. */
function rotate(v: Vec3, axis: Vec3, angle: number): Vec3 {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const k = dot(axis, v) * (1 - c);
  const x = cross(axis, v);
  return [v[0] * c + x[0] * s + axis[0] * k, v[1] * c + x[1] * s + axis[1] * k, v[2] * c + x[2] * s + axis[2] * k];
}

/** Any unit vector perpendicular to the unit vector `a`. */
function perpendicular(a: Vec3): Vec3 {
  const helper: Vec3 = Math.abs(a[1]) < 0.9 ? UP : [1, 0, 0];
  return normalize(cross(a, helper), [0, 0, 1]);
}

function smoothstep(x: number): number {
  const c = Math.min(1, Math.max(0, x));
  return c * c * (3 - 2 * c);
}

/**
 * Weight of frame i of an n-frame span ramping in over `rampIn` and out over `rampOut`
 * frames; always > 0 inside the span (every labelled frame really is corrupted).
 */
function envelope(i: number, n: number, rampIn: number, rampOut: number): number {
  const rIn = Math.min(rampIn, Math.floor(n / 2));
  const rOut = Math.min(rampOut, Math.floor(n / 2));
  const wIn = i < rIn ? (i + 1) / (rIn + 1) : 1;
  const wOut = i >= n - rOut ? (n - i) / (rOut + 1) : 1;
  return smoothstep(Math.min(wIn, wOut));
}

function getP(ctx: Ctx, arr: Float32Array, t: number, j: number): Vec3 {
  const b = (t * ctx.J + j) * 3;
  return [arr[b] as number, arr[b + 1] as number, arr[b + 2] as number];
}

function src(ctx: Ctx, t: number, j: number): Vec3 {
  return getP(ctx, ctx.src, t, j);
}

function put(ctx: Ctx, t: number, j: number, v: Vec3): void {
  const b = (t * ctx.J + j) * 3;
  ctx.out[b] = v[0];
  ctx.out[b + 1] = v[1];
  ctx.out[b + 2] = v[2];
}

/** Linear interpolation between source frames at a fractional (clamped) frame index. */
function srcAt(ctx: Ctx, tf: number, j: number): Vec3 {
  const f = Math.min(ctx.T - 1, Math.max(0, tf));
  const a = Math.floor(f);
  const b = Math.min(ctx.T - 1, a + 1);
  const w = f - a;
  const pa = src(ctx, a, j);
  if (w === 0) return pa;
  const pb = src(ctx, b, j);
  return [lerp(pa[0], pb[0], w), lerp(pa[1], pb[1], w), lerp(pa[2], pb[2], w)];
}

function spanFrames(ctx: Ctx): number[] {
  const frames: number[] = [];
  for (let t = ctx.start; t < ctx.end; t++) frames.push(t);
  return frames;
}

function allJoints(ctx: Ctx): number[] {
  return ctx.names.map((_, j) => j);
}

/** For each joint of a (possibly partial) skeleton, the nearest canonical ancestor it contains. */
function presentParents(names: readonly JointName[]): number[] {
  return names.map((name) => {
    let p = CANONICAL_PARENT[name];
    while (p !== null) {
      const k = names.indexOf(p);
      if (k >= 0) return k;
      p = CANONICAL_PARENT[p];
    }
    return -1;
  });
}

function idx(ctx: Ctx, name: JointName): number {
  return ctx.names.indexOf(name);
}

function need(ctx: Ctx, name: JointName): number {
  const k = idx(ctx, name);
  if (k < 0) throw new Error(`${ctx.kind}: needs joint '${name}', which the motion lacks`);
  return k;
}

function has(ctx: Ctx, ...names: JointName[]): boolean {
  return names.every((n) => idx(ctx, n) >= 0);
}

/** j and all its descendants, in index order. */
function subtree(ctx: Ctx, j: number): number[] {
  const result: number[] = [];
  for (let k = 0; k < ctx.J; k++) {
    let a = k;
    while (a !== -1 && a !== j) a = ctx.parent[a] ?? -1;
    if (a === j) result.push(k);
  }
  return result;
}

function translate(ctx: Ctx, t: number, joints: readonly number[], delta: Vec3): void {
  for (const k of joints) put(ctx, t, k, add(src(ctx, t, k), delta));
}

/** Rotates the source positions of `joints` at frame t about the line through `pivot` along the unit `axis`. */
function rotateJoints(ctx: Ctx, t: number, joints: readonly number[], pivot: Vec3, axis: Vec3, angle: number): void {
  for (const k of joints) put(ctx, t, k, add(pivot, rotate(sub(src(ctx, t, k), pivot), axis, angle)));
}

const ALL_LIMBS: readonly Limb[] = ['torso', 'head', 'leftArm', 'rightArm', 'leftLeg', 'rightLeg'];
type Extremity = 'leftArm' | 'rightArm' | 'leftLeg' | 'rightLeg';
const EXTREMITIES: readonly Extremity[] = ['leftArm', 'rightArm', 'leftLeg', 'rightLeg'];

/** Root, middle and end joint of each two-bone chain (shoulder-elbow-wrist, hip-knee-ankle). */
const CHAIN: Readonly<Record<Extremity, readonly [JointName, JointName, JointName]>> = {
  leftArm: ['LeftUpperArm', 'LeftLowerArm', 'LeftHand'],
  rightArm: ['RightUpperArm', 'RightLowerArm', 'RightHand'],
  leftLeg: ['LeftUpperLeg', 'LeftLowerLeg', 'LeftFoot'],
  rightLeg: ['RightUpperLeg', 'RightLowerLeg', 'RightFoot'],
};

const isArm = (limb: Extremity): boolean => limb === 'leftArm' || limb === 'rightArm';

function chainIdx(ctx: Ctx, limb: Extremity): [number, number, number] {
  const [a, b, c] = CHAIN[limb];
  return [need(ctx, a), need(ctx, b), need(ctx, c)];
}

function limbJoints(ctx: Ctx, limb: Limb): number[] {
  return allJoints(ctx).filter((j) => LIMB_OF_JOINT[ctx.names[j] as JointName] === limb);
}

/**
 * The limb a kind works on: the one spec.joints[0] belongs to, else spec.limb, else a
 * random usable one (or `chooseDefault`'s pick among them).
 */
function chooseLimb<L extends Limb>(
  ctx: Ctx,
  allowed: readonly L[],
  usable: (limb: L) => boolean,
  chooseDefault?: (candidates: L[]) => L,
): L {
  const first = ctx.spec.joints?.[0];
  const wanted = first !== undefined ? LIMB_OF_JOINT[first] : ctx.spec.limb;
  if (wanted !== undefined) {
    const hit = allowed.find((l) => l === wanted);
    if (hit === undefined) throw new Error(`${ctx.kind}: works on ${allowed.join(', ')}, not '${wanted}'`);
    if (!usable(hit)) throw new Error(`${ctx.kind}: the motion lacks the joints of '${hit}'`);
    return hit;
  }
  const candidates = allowed.filter(usable);
  if (candidates.length === 0) throw new Error(`${ctx.kind}: the motion has none of ${allowed.join(', ')}`);
  return chooseDefault ? chooseDefault(candidates) : ctx.rng.pick(candidates);
}

/** The joint a single-joint kind works on: spec.joints[0], else one of `defaults` in spec.limb (or anywhere). */
function chooseJoint(ctx: Ctx, defaults: readonly JointName[], anyInLimb: boolean): number {
  const first = ctx.spec.joints?.[0];
  if (first !== undefined) return need(ctx, first);
  const present = defaults.filter((n) => has(ctx, n));
  const limb = ctx.spec.limb;
  if (limb !== undefined) {
    const inLimb = present.filter((n) => LIMB_OF_JOINT[n] === limb);
    if (inLimb.length > 0) return need(ctx, ctx.rng.pick(inLimb));
    const anyJoint = limbJoints(ctx, limb).filter((j) => ctx.parent[j] !== -1);
    if (anyInLimb && anyJoint.length > 0) return ctx.rng.pick(anyJoint);
    throw new Error(`${ctx.kind}: no suitable joint in limb '${limb}'`);
  }
  if (present.length === 0) throw new Error(`${ctx.kind}: the motion has none of ${defaults.join(', ')}`);
  return need(ctx, ctx.rng.pick(present));
}

interface BodyFrame {
  readonly origin: Vec3;
  readonly left: Vec3;
  readonly up: Vec3;
  readonly forward: Vec3;
}

/**
 * An orthonormal body frame at frame t of `arr`: origin at `originName`, left from the
 * right joint to the left joint. Y up, right-handed, so forward = left x up. With
 * `horizontal` the frame keeps only the heading (up is world up).
 */
function frameFrom(
  ctx: Ctx,
  arr: Float32Array,
  t: number,
  originName: JointName,
  leftName: JointName,
  rightName: JointName,
  horizontal: boolean,
): BodyFrame {
  const o = getP(ctx, arr, t, need(ctx, originName));
  const lat = sub(getP(ctx, arr, t, need(ctx, leftName)), getP(ctx, arr, t, need(ctx, rightName)));
  if (horizontal) {
    const left = normalize([lat[0], 0, lat[2]], [1, 0, 0]);
    return { origin: o, left, up: UP, forward: cross(left, UP) };
  }
  const left = normalize(lat, [1, 0, 0]);
  const forward = normalize(cross(left, UP), perpendicular(left));
  return { origin: o, left, up: cross(forward, left), forward };
}

/** Pelvis frame; world axes at the first joint when the motion lacks hips/legs. */
function hipsFrame(ctx: Ctx, arr: Float32Array, t: number, horizontal: boolean): BodyFrame {
  if (has(ctx, 'Hips', 'LeftUpperLeg', 'RightUpperLeg')) {
    return frameFrom(ctx, arr, t, 'Hips', 'LeftUpperLeg', 'RightUpperLeg', horizontal);
  }
  return { origin: getP(ctx, arr, t, 0), left: [1, 0, 0], up: UP, forward: [0, 0, 1] };
}

const toLocal = (f: BodyFrame, p: Vec3): Vec3 => {
  const d = sub(p, f.origin);
  return [dot(d, f.left), dot(d, f.up), dot(d, f.forward)];
};
const toWorld = (f: BodyFrame, l: Vec3): Vec3 =>
  add(f.origin, add(scale(f.left, l[0]), add(scale(f.up, l[1]), scale(f.forward, l[2]))));

/**
 * Two-bone IK (law of cosines): places mid and end so the end reaches `target` (clamped
 * to the chain's reach), keeping both bone lengths and bending towards the original mid.
 */
function solveTwoBone(root: Vec3, mid: Vec3, end: Vec3, target: Vec3): { mid: Vec3; end: Vec3 } {
  const a = norm(sub(mid, root));
  const b = norm(sub(end, mid));
  const d = sub(target, root);
  const dist = norm(d);
  const dir = normalize(d, normalize(sub(end, root), [0, -1, 0]));
  const reach = Math.min(a + b - 1e-6, Math.max(Math.abs(a - b) + 1e-6, dist));
  const x = (a * a - b * b + reach * reach) / (2 * reach);
  const h = Math.sqrt(Math.max(0, a * a - x * x));
  const rel = sub(mid, root);
  const pole = normalize(sub(rel, scale(dir, dot(rel, dir))), perpendicular(dir));
  return { mid: add(root, add(scale(dir, x), scale(pole, h))), end: add(root, scale(dir, reach)) };
}

/** Moves a chain's end by `offset(t, i)` and re-solves the middle joint by IK; the end's children follow rigidly. */
function driveChainEnd(ctx: Ctx, limb: Extremity, offset: (t: number, i: number) => Vec3): number[] {
  const [a, b, c] = chainIdx(ctx, limb);
  const carried = subtree(ctx, c).filter((k) => k !== c);
  for (let t = ctx.start; t < ctx.end; t++) {
    const endP = src(ctx, t, c);
    const solved = solveTwoBone(src(ctx, t, a), src(ctx, t, b), endP, add(endP, offset(t, t - ctx.start)));
    put(ctx, t, b, solved.mid);
    put(ctx, t, c, solved.end);
    translate(ctx, t, carried, sub(solved.end, endP));
  }
  return [b, c, ...carried];
}

function randomUnit(rng: Rng): Vec3 {
  return normalize([rng.normal(), rng.normal(), rng.normal()], [1, 0, 0]);
}

// ---------------------------------------------------------------------------
// The kinds
// ---------------------------------------------------------------------------

/** A lost optical tracker / noisy IMU: per-frame noise, shared along the limb (IK spreads it) plus a bit per joint. */
function trackingJitter(ctx: Ctx): KindResult {
  const { rng } = ctx;
  let joints: number[];
  let weights: number[];
  let variant: string;
  if (ctx.spec.joints !== undefined) {
    joints = ctx.spec.joints.map((n) => need(ctx, n));
    weights = joints.map(() => 1);
    variant = 'joints';
  } else {
    const limb = chooseLimb(ctx, ['leftArm', 'rightArm', 'leftLeg', 'rightLeg', 'head'] as const, (l) => limbJoints(ctx, l).length > 0);
    joints = limbJoints(ctx, limb);
    // The tracked end of the limb shakes most; joints nearer the body inherit less of it.
    weights = joints.map((_, i) => (joints.length > 1 ? 0.35 + 0.65 * (i / (joints.length - 1)) : 1));
    variant = limb;
  }
  const rms = lerp(0.01, 0.05, ctx.severity);
  const sigma = rms / Math.sqrt(3); // per axis, so the 3-D rms displacement is 1-5 cm
  const n = ctx.end - ctx.start;
  for (let t = ctx.start; t < ctx.end; t++) {
    const w = envelope(t - ctx.start, n, 2, 2);
    const shared: Vec3 = [rng.normal(0, sigma), rng.normal(0, sigma), rng.normal(0, sigma)];
    joints.forEach((k, i) => {
      const own: Vec3 = [rng.normal(0, 0.35 * sigma), rng.normal(0, 0.35 * sigma), rng.normal(0, 0.35 * sigma)];
      put(ctx, t, k, add(src(ctx, t, k), scale(add(scale(shared, weights[i] as number), own), w)));
    });
  }
  return { variant, joints, params: { rmsMetres: rms } };
}

/** Mean distance of the middle joint from the root-end line over the span: how visible a flip would be. */
function meanBend(ctx: Ctx, limb: Extremity): number {
  const [a, b, c] = chainIdx(ctx, limb);
  let total = 0;
  for (let t = ctx.start; t < ctx.end; t++) {
    const A = src(ctx, t, a);
    const axis = normalize(sub(src(ctx, t, c), A), [0, -1, 0]);
    const rel = sub(src(ctx, t, b), A);
    total += norm(sub(rel, scale(axis, dot(rel, axis))));
  }
  return total / (ctx.end - ctx.start);
}

/**
 * The IK pole flips: the elbow/knee swings 180 deg about the shoulder-hand (hip-foot) line,
 * i.e. it is reflected across that line. Hand/foot stay put: they follow the tracker.
 */
function ikFlip(ctx: Ctx): KindResult {
  const limb = chooseLimb(
    ctx,
    EXTREMITIES,
    (l) => has(ctx, ...CHAIN[l]),
    (candidates) => {
      // A flip on a straight limb is invisible, so prefer limbs that are bent in this span.
      const bent = candidates.filter((l) => meanBend(ctx, l) > 0.03);
      if (bent.length > 0) return ctx.rng.pick(bent);
      return candidates.reduce((best, l) => (meanBend(ctx, l) > meanBend(ctx, best) ? l : best));
    },
  );
  const [a, b, c] = chainIdx(ctx, limb);
  const n = ctx.end - ctx.start;
  for (let t = ctx.start; t < ctx.end; t++) {
    const A = src(ctx, t, a);
    const axis = normalize(sub(src(ctx, t, c), A), [0, -1, 0]);
    // Real flips pop within a frame or two.
    rotateJoints(ctx, t, [b], A, axis, Math.PI * envelope(t - ctx.start, n, 1, 1));
  }
  return { variant: limb, joints: [b], params: { meanBendMetres: meanBend(ctx, limb) } };
}

/**
 * Bends a hinge (elbow/knee) to `flexion(t)` radians (0 = straight, negative =
 * hyperextended, > 180 deg = folded through the proximal bone) by rotating the distal
 * sub-chain about the hinge axis. `flexDir` is where the distal bone goes when the joint
 * flexes normally, fixing the sign of the axis when the limb is straight.
 */
function bendHinge(ctx: Ctx, limb: Extremity, targetFlexion: number, flexDir: 'forward' | 'backward'): number[] {
  const [a, b, c] = chainIdx(ctx, limb);
  const moved = subtree(ctx, c);
  const n = ctx.end - ctx.start;
  for (let t = ctx.start; t < ctx.end; t++) {
    const B = src(ctx, t, b);
    const u = sub(src(ctx, t, a), B);
    const v = sub(src(ctx, t, c), B);
    const f = hipsFrame(ctx, ctx.src, t, true);
    const dir = flexDir === 'forward' ? f.forward : scale(f.forward, -1);
    const anatomical = normalize(cross(u, dir), scale(f.left, -1));
    const c3 = cross(u, v);
    let axis = anatomical;
    let interior = Math.acos(Math.min(1, Math.max(-1, dot(u, v) / Math.max(1e-12, norm(u) * norm(v)))));
    if (norm(c3) > 1e-3 * norm(u) * norm(v)) {
      axis = normalize(c3, anatomical);
      // Measure the angle with the anatomical sign, so an already hyperextended limb is not mistaken for a flexed one.
      if (dot(axis, anatomical) < 0) {
        axis = scale(axis, -1);
        interior = -interior;
      }
    }
    const theta = (Math.PI - targetFlexion - interior) * envelope(t - ctx.start, n, 2, 2);
    rotateJoints(ctx, t, moved, B, axis, theta);
  }
  return moved;
}

/** Distance of `p` from the line through `o` along unit `axis`. */
function offAxis(p: Vec3, o: Vec3, axis: Vec3): number {
  const rel = sub(p, o);
  return norm(sub(rel, scale(axis, dot(rel, axis))));
}

/** A sub-chain rotated beyond human joint limits and held (a solver or retargeting failure). */
function impossibleAngle(ctx: Ctx): KindResult {
  const { rng, severity } = ctx;
  const limb = chooseLimb(ctx, ALL_LIMBS, (l) => {
    if (l === 'head') return has(ctx, 'Chest', 'Neck', 'Head');
    if (l === 'torso') return has(ctx, 'Spine', 'Chest');
    return has(ctx, ...CHAIN[l]);
  });
  const n = ctx.end - ctx.start;
  if (limb === 'torso') {
    // Spine bent backwards ~90 deg: the whole upper body folds back about the spine joint.
    const spine = need(ctx, 'Spine');
    const moved = subtree(ctx, need(ctx, 'Chest'));
    const angle = lerp(80, 120, severity) * DEG;
    for (let t = ctx.start; t < ctx.end; t++) {
      const right = scale(hipsFrame(ctx, ctx.src, t, true).left, -1);
      rotateJoints(ctx, t, moved, src(ctx, t, spine), right, angle * envelope(t - ctx.start, n, 2, 2));
    }
    return { variant: 'spineBackward', joints: moved, params: { angleDeg: angle / DEG } };
  }
  if (limb === 'head') {
    const chest = need(ctx, 'Chest');
    const neck = need(ctx, 'Neck');
    const moved = subtree(ctx, need(ctx, 'Head'));
    const neckAxis = (t: number): Vec3 => normalize(sub(src(ctx, t, neck), src(ctx, t, chest)), UP);
    // A twist about the neck's own axis only shows in positions if the head joint sits off that axis.
    let offset = 0;
    for (let t = ctx.start; t < ctx.end; t++) offset += offAxis(src(ctx, t, need(ctx, 'Head')), src(ctx, t, neck), neckAxis(t));
    const variants = offset / n > 0.02 ? ['headTwist', 'headBackward', 'headRoll'] : ['headBackward', 'headRoll'];
    const variant = rng.pick(variants);
    const sign = rng.bool() ? 1 : -1;
    const angle =
      variant === 'headTwist' ? lerp(150, 180, severity) : variant === 'headBackward' ? lerp(100, 160, severity) : lerp(100, 150, severity);
    for (let t = ctx.start; t < ctx.end; t++) {
      const f = hipsFrame(ctx, ctx.src, t, true);
      const axis = variant === 'headTwist' ? neckAxis(t) : variant === 'headBackward' ? scale(f.left, -1) : f.forward;
      const s = variant === 'headBackward' ? 1 : sign;
      rotateJoints(ctx, t, moved, src(ctx, t, neck), axis, s * angle * DEG * envelope(t - ctx.start, n, 2, 2));
    }
    return { variant, joints: moved, params: { angleDeg: angle } };
  }
  if (isArm(limb)) {
    const fold = rng.bool(0.6);
    // Forearm folded through the upper arm (flexion past ~150 deg), or elbow bent backwards.
    const flexion = fold ? lerp(170, 200, severity) : -lerp(45, 90, severity);
    const moved = bendHinge(ctx, limb, flexion * DEG, 'forward');
    return { variant: fold ? 'elbowFold' : 'elbowHyperextension', joints: moved, params: { flexionDeg: flexion } };
  }
  const flexion = -lerp(60, 100, severity);
  const moved = bendHinge(ctx, limb, flexion * DEG, 'backward');
  return { variant: 'kneeHyperextension', joints: moved, params: { flexionDeg: flexion } };
}

/** Tracking-space relocalisation: the whole body jumps; it jumps back at the span's end unless the span reaches the clip's end. */
function teleport(ctx: Ctx): KindResult {
  const distance = lerp(0.5, 3, ctx.severity);
  const heading = ctx.rng.uniform(0, 2 * Math.PI);
  const offset: Vec3 = [distance * Math.cos(heading), ctx.rng.uniform(-0.05, 0.05) * distance, distance * Math.sin(heading)];
  const joints = allJoints(ctx);
  for (let t = ctx.start; t < ctx.end; t++) translate(ctx, t, joints, offset);
  return {
    variant: ctx.end === ctx.T ? 'stays' : 'jumpBack',
    joints,
    params: { distanceMetres: norm(offset), dx: offset[0], dy: offset[1], dz: offset[2] },
  };
}

/** Packet loss: the last received pose is repeated for 3-15 frames, then the stream catches up with a jump. */
function networkStutter(ctx: Ctx): KindResult {
  const { rng } = ctx;
  const maxFreeze = Math.round(lerp(5, 15, ctx.severity));
  const joints = allJoints(ctx);
  const frames: number[] = [];
  let episodes = 0;
  for (let t = ctx.start; t < ctx.end; ) {
    const k = Math.min(rng.int(3, maxFreeze), ctx.end - t);
    const held = Math.max(0, t - 1);
    for (let f = t; f < t + k; f++) {
      for (const j of joints) put(ctx, f, j, src(ctx, held, j));
      frames.push(f);
    }
    episodes++;
    t += k + rng.int(2, 8);
  }
  return { variant: episodes > 1 ? 'repeated' : 'single', joints, frames, params: { episodes, maxFreezeFrames: maxFreeze } };
}

/** Bones whose stretch a real avatar shows (noodle arms reaching for a far controller, wrong leg length). */
const STRETCH_BONES: readonly JointName[] = [
  'LeftLowerArm',
  'LeftHand',
  'RightLowerArm',
  'RightHand',
  'LeftLowerLeg',
  'LeftFoot',
  'RightLowerLeg',
  'RightFoot',
  'Chest',
  'Neck',
  'Head',
];

/** One bone (named by its child joint) grows or shrinks; the child's whole sub-chain slides along the bone. */
function boneStretch(ctx: Ctx): KindResult {
  const child = chooseJoint(ctx, STRETCH_BONES, true);
  const parent = ctx.parent[child] ?? -1;
  if (parent < 0) throw new Error(`${ctx.kind}: joint '${ctx.names[child]}' has no parent bone to stretch`);
  const grow = ctx.rng.bool();
  const ratio = 1 + (grow ? 1 : -1) * lerp(0.2, 0.6, ctx.severity);
  const moved = subtree(ctx, child);
  const n = ctx.end - ctx.start;
  for (let t = ctx.start; t < ctx.end; t++) {
    const r = 1 + (ratio - 1) * envelope(t - ctx.start, n, 2, 2);
    translate(ctx, t, moved, scale(sub(src(ctx, t, child), src(ctx, t, parent)), r - 1));
  }
  return { variant: grow ? 'grow' : 'shrink', joints: moved, params: { ratio } };
}

const END_EFFECTORS: readonly JointName[] = ['LeftHand', 'RightHand', 'LeftFoot', 'RightFoot', 'Head'];

/**
 * Tracking loss: the joint (children carried) snaps to the hips (a tracker reported at its
 * parent's origin), to the tracking-space origin (0,0,0), or stays at its last seen world position.
 */
function jointSnapToOrigin(ctx: Ctx): KindResult {
  const j = chooseJoint(ctx, END_EFFECTORS, true);
  const hips = idx(ctx, 'Hips');
  const variants = ['origin'];
  if (hips >= 0 && hips !== j) variants.push('hips');
  if (ctx.start > 0) variants.push('lastSeen');
  const variant = ctx.rng.pick(variants);
  const moved = subtree(ctx, j);
  const lastSeen = src(ctx, Math.max(0, ctx.start - 1), j);
  for (let t = ctx.start; t < ctx.end; t++) {
    const target: Vec3 = variant === 'hips' ? src(ctx, t, hips) : variant === 'lastSeen' ? lastSeen : [0, 0, 0];
    translate(ctx, t, moved, sub(target, src(ctx, t, j)));
  }
  return { variant, joints: moved };
}

/** Retargeting/controller-assignment bug: a joint's sub-chain and its mirror twin exchange trajectories. */
function limbSwap(ctx: Ctx): KindResult {
  let j: number;
  const first = ctx.spec.joints?.[0];
  if (first !== undefined) j = need(ctx, first);
  else if (ctx.spec.limb !== undefined) {
    const limb = ctx.spec.limb;
    if (!(EXTREMITIES as readonly Limb[]).includes(limb)) throw new Error(`${ctx.kind}: works on arms or legs, not '${limb}'`);
    j = need(ctx, limb === 'leftArm' || limb === 'rightArm' ? 'LeftHand' : 'LeftFoot');
  } else j = need(ctx, ctx.rng.pick((['LeftHand', 'LeftFoot'] as const).filter((n) => has(ctx, n, MIRROR_JOINT[n]))));
  const name = ctx.names[j] as JointName;
  if (MIRROR_JOINT[name] === name) throw new Error(`${ctx.kind}: joint '${name}' is on the midline and has no twin to swap with`);
  const side = subtree(ctx, j);
  const twin = side.map((k) => need(ctx, MIRROR_JOINT[ctx.names[k] as JointName]));
  for (let t = ctx.start; t < ctx.end; t++) {
    side.forEach((k, i) => {
      const m = twin[i] as number;
      put(ctx, t, k, src(ctx, t, m));
      put(ctx, t, m, src(ctx, t, k));
    });
  }
  const base = name.replace(/^(Left|Right)/, '');
  return { variant: base === 'Hand' ? 'hands' : base === 'Foot' ? 'feet' : base, joints: [...side, ...twin] };
}

/**
 * Playback-time faults. 'fastForward': the stream lags, then plays 3-6x fast to catch up
 * (rubber-banding; positions stay continuous, speed jumps). 'jumpCut': stale or future
 * frames 10-30 frames away are shown, with a discontinuity at both ends.
 */
function timeWarp(ctx: Ctx): KindResult {
  const { rng, start: s, end: e } = ctx;
  const joints = allJoints(ctx);
  const variant = rng.bool() ? 'fastForward' : 'jumpCut';
  if (variant === 'fastForward') {
    const speed = lerp(3, 6, ctx.severity);
    const lagRate = rng.uniform(0, 0.4);
    // Map output steps i = 0..N (anchored at s-1 and e) onto source time, continuous at both ends:
    // lagRate * slow + speed * fast = N with slow + fast = N.
    const N = e - s + 1;
    const fast = (N * (1 - lagRate)) / (speed - lagRate);
    const slow = N - fast;
    for (let t = s; t < e; t++) {
      const i = t - s + 1;
      const g = i < slow ? lagRate * i : lagRate * slow + speed * (i - slow);
      for (const j of joints) put(ctx, t, j, srcAt(ctx, s - 1 + g, j));
    }
    return { variant, joints, params: { speed, lagRate } };
  }
  const skip = Math.round(lerp(10, 30, ctx.severity));
  // Prefer the direction that stays inside the clip.
  const forwardFits = e - 1 + skip <= ctx.T - 1;
  const backwardFits = s - skip >= 0;
  const sign = forwardFits && backwardFits ? (rng.bool() ? 1 : -1) : forwardFits ? 1 : backwardFits ? -1 : 1;
  for (let t = s; t < e; t++) {
    const from = Math.min(ctx.T - 1, Math.max(0, t + sign * skip));
    for (const j of joints) put(ctx, t, j, src(ctx, from, j));
  }
  return { variant, joints, params: { skipFrames: sign * skip } };
}

/**
 * IK target lost: the forearm/hand (shin/foot) keeps its last pose relative to the chest
 * (pelvis) and is carried along while the body moves on; it blends back on recovery.
 */
function frozenLimb(ctx: Ctx): KindResult {
  const limb = chooseLimb(ctx, EXTREMITIES, (l) =>
    isArm(l) ? has(ctx, ...CHAIN[l], 'Chest', 'LeftUpperArm', 'RightUpperArm') : has(ctx, ...CHAIN[l], 'Hips', 'LeftUpperLeg', 'RightUpperLeg'),
  );
  const moved = subtree(ctx, need(ctx, CHAIN[limb][1]));
  const frameAt = (t: number): BodyFrame =>
    isArm(limb)
      ? frameFrom(ctx, ctx.src, t, 'Chest', 'LeftUpperArm', 'RightUpperArm', false)
      : frameFrom(ctx, ctx.src, t, 'Hips', 'LeftUpperLeg', 'RightUpperLeg', false);
  const ref = Math.max(0, ctx.start - 1);
  const refFrame = frameAt(ref);
  const local = moved.map((k) => toLocal(refFrame, src(ctx, ref, k)));
  const n = ctx.end - ctx.start;
  for (let t = ctx.start; t < ctx.end; t++) {
    const f = frameAt(t);
    // Loss is instant; recovery is smoothed over a few frames.
    const w = ctx.end < ctx.T ? envelope(t - ctx.start, n, 0, 3) : 1;
    moved.forEach((k, i) => {
      const p = src(ctx, t, k);
      put(ctx, t, k, add(p, scale(sub(toWorld(f, local[i] as Vec3), p), w)));
    });
  }
  return { variant: limb, joints: moved };
}

/** Tracking outliers: 1-3 isolated frames where one joint (children carried) pops 20-60 cm away. */
function spikePop(ctx: Ctx): KindResult {
  const { rng } = ctx;
  const nonRoot = CANONICAL_JOINTS.filter((n) => CANONICAL_PARENT[n] !== null);
  const j = chooseJoint(ctx, nonRoot, true);
  const moved = subtree(ctx, j);
  const wanted = rng.int(1, 3);
  const frames: number[] = [];
  for (const t of rng.shuffle(spanFrames(ctx))) {
    if (frames.length >= wanted) break;
    if (frames.every((f) => Math.abs(f - t) > 1)) frames.push(t);
  }
  frames.sort((a, b) => a - b);
  const distance = lerp(0.2, 0.6, ctx.severity);
  for (const t of frames) translate(ctx, t, moved, scale(randomUnit(rng), distance));
  return { variant: frames.length > 1 ? 'multi' : 'single', joints: moved, frames, params: { distanceMetres: distance, spikes: frames.length } };
}

/** Floor-height calibration drift: the body gradually rises or sinks, then snaps back on recalibration. */
function floatingOrSinking(ctx: Ctx): KindResult {
  const { rng } = ctx;
  const float = rng.bool();
  const height = (float ? 1 : -1) * lerp(0.3, 1, ctx.severity);
  const n = ctx.end - ctx.start;
  const rise = Math.max(1, Math.round(n * rng.uniform(0.3, 0.7)));
  const joints = allJoints(ctx);
  for (let t = ctx.start; t < ctx.end; t++) {
    const i = t - ctx.start;
    const w = smoothstep((i + 1) / rise) * (ctx.end < ctx.T ? envelope(i, n, 0, 2) : 1);
    translate(ctx, t, joints, [0, height * w, 0]);
  }
  return { variant: float ? 'float' : 'sink', joints, params: { heightMetres: height } };
}

/** Handedness bug (a left/right-handed conversion missing an axis flip): the pose is mirrored across the body's sagittal plane. */
function mirroredPose(ctx: Ctx): KindResult {
  need(ctx, 'Hips');
  need(ctx, 'LeftUpperLeg');
  need(ctx, 'RightUpperLeg');
  const joints = allJoints(ctx);
  for (let t = ctx.start; t < ctx.end; t++) {
    const f = hipsFrame(ctx, ctx.src, t, true);
    for (const j of joints) {
      const p = src(ctx, t, j);
      put(ctx, t, j, sub(p, scale(f.left, 2 * dot(sub(p, f.origin), f.left))));
    }
  }
  return { variant: 'sagittal', joints };
}

/** IMU dead-reckoning drift of a hand or foot tracker; IK drags the elbow/knee after it; relocalisation snaps it back. */
function driftingHand(ctx: Ctx): KindResult {
  const limb = chooseLimb(ctx, EXTREMITIES, (l) => has(ctx, ...CHAIN[l]));
  const distance = lerp(0.15, 0.6, ctx.severity);
  const dir = randomUnit(ctx.rng);
  const n = ctx.end - ctx.start;
  const joints = driveChainEnd(ctx, limb, (_t, i) => scale(dir, (distance * (i + 1)) / n));
  return { variant: limb, joints, params: { driftMetres: distance } };
}

/** Foot skating: the locomotion animation's cadence does not match the root speed, so a foot slides along the ground. */
function footSkate(ctx: Ctx): KindResult {
  const { rng } = ctx;
  const limb = chooseLimb(ctx, ['leftLeg', 'rightLeg'] as const, (l) => has(ctx, ...CHAIN[l]));
  const amplitude = lerp(0.05, 0.25, ctx.severity);
  const hz = rng.uniform(0.8, 2);
  const phase = rng.uniform(0, 2 * Math.PI);
  const forward = hipsFrame(ctx, ctx.src, ctx.start, true).forward;
  const n = ctx.end - ctx.start;
  const joints = driveChainEnd(ctx, limb, (_t, i) =>
    scale(forward, amplitude * Math.sin((2 * Math.PI * hz * i) / ctx.fps + phase) * envelope(i, n, 3, 3)),
  );
  return { variant: limb, joints, params: { amplitudeMetres: amplitude, hz } };
}

/** Yaw recentre while walking: the body turns 45-180 deg about the vertical through the hips but keeps its path. */
function bodyYawSnap(ctx: Ctx): KindResult {
  const hips = need(ctx, 'Hips');
  const angle = (ctx.rng.bool() ? 1 : -1) * lerp(45, 180, ctx.severity);
  const joints = allJoints(ctx).filter((j) => j !== hips);
  for (let t = ctx.start; t < ctx.end; t++) rotateJoints(ctx, t, joints, src(ctx, t, hips), UP, angle * DEG);
  return { variant: angle > 0 ? 'left' : 'right', joints, params: { angleDeg: angle } };
}

const KIND_IMPL: Readonly<Record<AnomalyKind, (ctx: Ctx) => KindResult>> = {
  trackingJitter,
  ikFlip,
  impossibleAngle,
  teleport,
  networkStutter,
  boneStretch,
  jointSnapToOrigin,
  limbSwap,
  timeWarp,
  frozenLimb,
  spikePop,
  floatingOrSinking,
  mirroredPose,
  driftingHand,
  footSkate,
  bodyYawSnap,
};

// ---------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------

function buildLabel(ctx: Ctx, result: KindResult): AnomalyLabel {
  const frames = result.frames ?? spanFrames(ctx);
  if (frames.length === 0) throw new Error(`${ctx.kind}: internal error, no frame corrupted`);
  const joints = [...new Set(result.joints)].sort((a, b) => a - b);
  const frameMask = new Uint8Array(ctx.T);
  const jointMask = new Uint8Array(ctx.T * ctx.J);
  for (const t of frames) {
    frameMask[t] = 1;
    for (const j of joints) jointMask[t * ctx.J + j] = 1;
  }
  const names = joints.map((j) => ctx.names[j] as JointName);
  const limbs = ALL_LIMBS.filter((l) => names.some((n) => LIMB_OF_JOINT[n] === l));
  return {
    kind: ctx.kind,
    variant: result.variant,
    startFrame: frames.reduce((a, b) => Math.min(a, b)),
    endFrame: frames.reduce((a, b) => Math.max(a, b)) + 1,
    joints: names,
    limbs,
    severity: ctx.severity,
    frameMask,
    jointMask,
    params: result.params ?? {},
  };
}

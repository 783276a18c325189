/**
 * Physical priors added to the reconstruction term: evidence of motion no human body can
 * make, which holds in ANY motion, familiar or not, and needs no training data.
 *  - A skeleton is rigid: each joint's distance to its parent stays the avatar's own bone
 *    length (broken by stretch, tracking pops, snaps, swaps, jitter).
 *  - Joints have anatomical limits: elbows and knees bend one way and not fully back,
 *    necks and spines bend only so far (broken by IK flips, impossible angles).
 *  - Joints move continuously: an acceleration spike far beyond the avatar's own is a
 *    freeze that catches up, a jump-cut or a teleport (judged adaptively in scoring.ts).
 *  - A tracked body is never bit-still: a hand or foot that has moved and then holds its
 *    exact place on the segment its limb hangs from (to 0.01 mm, frame after frame) has lost
 *    its tracking or its packets (a frozen limb, a stalled stream).
 * Pure.
 */
import type { Motion } from './motion.js';
import { headingYaw } from './normalise.js';
import { densestRun } from './stats.js';
import { CANONICAL_JOINTS, MIRROR_JOINT, PARENT_INDEX, jointIndex, type JointName } from './skeleton.js';

/** Each joint's left/right counterpart by index (itself on the midline). */
const MIRROR_INDEX = CANONICAL_JOINTS.map((name) => jointIndex(MIRROR_JOINT[name]));

/** Relative half-width of the band of lengths that count as "the same" bone length. */
const LENGTH_TOLERANCE = 0.01;

/** The densest +-1% band of a set of lengths: its bounds and the median of the lengths in it. */
interface LengthBand {
  readonly center: number;
  readonly lo: number;
  readonly hi: number;
}

/** densestBand of lengths already sorted ascending, over sorted[from, to). Linear. */
function densestBandSorted(sorted: Float64Array, from = 0, to = sorted.length): LengthBand {
  const { from: bestFrom, to: bestTo } = densestRun(sorted, (lowest) => lowest * (1 + 2 * LENGTH_TOLERANCE), from, to);
  return { center: sorted[(bestFrom + bestTo - 1) >> 1]!, lo: sorted[bestFrom]!, hi: sorted[Math.max(bestFrom, bestTo - 1)]! };
}

/**
 * The avatar's own bone length: the centre of the densest +-1% band of the window's lengths.
 * A real bone keeps one length, so its frames pile up in one narrow band, while a fault
 * (a swap, a pop, jitter) scatters lengths; unlike the median this holds even when the
 * fault covers more than half the window.
 */
export function dominantLength(lengths: Float64Array): number {
  return densestBandSorted(Float64Array.from(lengths).sort()).center;
}

/**
 * Share of a bone's own frames that must lie in the band found with its mirror bone for that
 * band to be its reference (below it the rig is asymmetric: the bone keeps its own band).
 */
const MIN_SHARE_IN_MIRROR_BAND = 0.1;

/** Two ascending arrays merged into one (linear; the streaming path refreshes these often). */
function mergeSorted(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/**
 * A limb bone's length, with its mirror bone as a witness (both sorted ascending): the
 * densest band of BOTH sides' lengths. A body is left-right symmetric, so a fault that
 * changes one arm's bone for most of the window (a stretch held for seconds) is outvoted
 * by the untouched side, where the bone's own densest band would have taken the stretched
 * length as the norm and flagged the normal frames instead. The reference is then the
 * densest band of the bone's OWN lengths within that band (a slightly asymmetric rig keeps
 * each side's exact length).
 */
function witnessedLength(own: Float64Array, mirror: Float64Array): number {
  const band = densestBandSorted(mergeSorted(own, mirror));
  let from = 0;
  while (from < own.length && own[from]! < band.lo) from++;
  let to = from;
  while (to < own.length && own[to]! <= band.hi) to++;
  return to - from >= MIN_SHARE_IN_MIRROR_BAND * own.length ? densestBandSorted(own, from, to).center : densestBandSorted(own).center;
}

/**
 * Length of a 3-vector. Math.hypot guards against overflow that centimetre coordinates
 * never reach and costs ~10x more in V8; bone lengths are computed for every frame of
 * every avatar's window at each reference refresh.
 */
export function norm3(x: number, y: number, z: number): number {
  return Math.sqrt(x * x + y * y + z * z);
}

function boneLength(p: Float32Array, J: number, t: number, j: number, parent: number): number {
  const a = (t * J + j) * 3;
  const b = (t * J + parent) * 3;
  return norm3(p[a]! - p[b]!, p[a + 1]! - p[b + 1]!, p[a + 2]! - p[b + 2]!);
}

/**
 * The avatar's own length of each bone (by child joint; 0 for the root) over the motion's
 * frames: its densest band, witnessed by the mirror bone for left/right bones.
 */
export function boneReferenceLengths(motion: Motion): Float64Array {
  const J = motion.jointNames.length;
  const T = motion.frameCount;
  // Each bone's lengths over the frames, sorted ascending.
  const sorted = Array.from({ length: J }, (_, j) => {
    const parent = PARENT_INDEX[j]!;
    const out = new Float64Array(parent < 0 ? 0 : T);
    for (let t = 0; t < out.length; t++) out[t] = boneLength(motion.positions, J, t, j, parent);
    return out.sort();
  });
  const refs = new Float64Array(J);
  for (let j = 0; j < J; j++) {
    if (PARENT_INDEX[j]! < 0 || T === 0) continue;
    const m = MIRROR_INDEX[j]!;
    refs[j] = m !== j && sorted[m]!.length === T ? witnessedLength(sorted[j]!, sorted[m]!) : densestBandSorted(sorted[j]!).center;
  }
  return refs;
}

/** (to-from) x J: squared relative deviation of each bone's length from its reference length. */
export function boneDeviationsAgainst(motion: Motion, references: Float64Array, from = 0, to = motion.frameCount): Float32Array {
  const J = motion.jointNames.length;
  const out = new Float32Array((to - from) * J);
  for (let j = 0; j < J; j++) {
    const parent = PARENT_INDEX[j]!;
    const reference = references[j]!;
    if (parent < 0 || !(reference > 1e-6)) continue;
    for (let t = from; t < to; t++) out[(t - from) * J + j] = (boneLength(motion.positions, J, t, j, parent) / reference - 1) ** 2;
  }
  return out;
}

/** T x J: squared relative deviation of each bone's length from the avatar's own length (0 for the root). */
export function boneLengthDeviations(motion: Motion): Float32Array {
  return boneDeviationsAgainst(motion, boneReferenceLengths(motion));
}

interface JointLimit {
  /** The joint where the bend happens, its parent and its child. */
  readonly joint: JointName;
  readonly parent: JointName;
  readonly child: JointName;
  /** Largest anatomically possible angle between the two bones, degrees (0 = straight). */
  readonly maxBend: number;
  /** For knees: largest backward bend (hyperextension), degrees. */
  readonly maxHyperextension?: number;
}

/**
 * Anatomical limits, generous: elbow and knee flexion, neck and spine bends. None is
 * reached by any frame of the 910 real training clips (largest seen: elbow 147, knee 142,
 * neck 24, spine 13, chest 25 degrees; knees never hyperextend).
 */
export const JOINT_LIMITS: readonly JointLimit[] = [
  { joint: 'LeftLowerArm', parent: 'LeftUpperArm', child: 'LeftHand', maxBend: 160 },
  { joint: 'RightLowerArm', parent: 'RightUpperArm', child: 'RightHand', maxBend: 160 },
  { joint: 'LeftLowerLeg', parent: 'LeftUpperLeg', child: 'LeftFoot', maxBend: 165, maxHyperextension: 15 },
  { joint: 'RightLowerLeg', parent: 'RightUpperLeg', child: 'RightFoot', maxBend: 165, maxHyperextension: 15 },
  { joint: 'Neck', parent: 'Chest', child: 'Head', maxBend: 60 },
  { joint: 'Spine', parent: 'Hips', child: 'Chest', maxBend: 50 },
  { joint: 'Chest', parent: 'Spine', child: 'Neck', maxBend: 50 },
];

interface IndexedLimit extends JointLimit {
  readonly j: number;
  readonly pa: number;
  readonly ch: number;
}

/** The limits a joint list can be checked against, with their joint indices (memoised: the streaming path asks every tick). */
const indexedLimits = new WeakMap<readonly string[], IndexedLimit[]>();
function limitsFor(jointNames: readonly string[]): IndexedLimit[] {
  let limits = indexedLimits.get(jointNames);
  if (!limits) {
    const index = (name: JointName): number => jointNames.indexOf(name);
    limits = JOINT_LIMITS.map((l) => ({ ...l, j: index(l.joint), pa: index(l.parent), ch: index(l.child) })).filter((l) => l.j >= 0 && l.pa >= 0 && l.ch >= 0);
    indexedLimits.set(jointNames, limits);
  }
  return limits;
}

/**
 * Degrees beyond a limit that count as one unit of evidence. No real frame reaches a limit,
 * so the evidence climbs steeply past one: a head bent 15 degrees past the neck's limit is
 * 7.5 units (at 5 degrees a unit, 3 left such bends under the frame threshold while they
 * ramped in; held-out impossibleAngle recall 81.8% -> 87.0%, thresholds unchanged).
 */
export const LIMIT_DEGREES_PER_UNIT = 2;

/**
 * T x J: how far each joint bends beyond its anatomical limit, in units of
 * LIMIT_DEGREES_PER_UNIT (0 within limits). Knees also count bending backward, judged
 * against the body's left direction (a knee's hinge axis points to the body's left).
 */
export function jointLimitViolations(motion: Motion): Float32Array {
  const J = motion.jointNames.length;
  const T = motion.frameCount;
  const p = motion.positions;
  const out = new Float32Array(T * J);
  const limits = limitsFor(motion.jointNames);
  for (let t = 0; t < T; t++) {
    const yaw = headingYaw(p, J, t);
    const leftX = Math.cos(yaw);
    const leftZ = -Math.sin(yaw);
    for (const l of limits) {
      const o = t * J * 3;
      const ux = p[o + l.j * 3]! - p[o + l.pa * 3]!;
      const uy = p[o + l.j * 3 + 1]! - p[o + l.pa * 3 + 1]!;
      const uz = p[o + l.j * 3 + 2]! - p[o + l.pa * 3 + 2]!;
      const wx = p[o + l.ch * 3]! - p[o + l.j * 3]!;
      const wy = p[o + l.ch * 3 + 1]! - p[o + l.j * 3 + 1]!;
      const wz = p[o + l.ch * 3 + 2]! - p[o + l.j * 3 + 2]!;
      const norms = norm3(ux, uy, uz) * norm3(wx, wy, wz);
      if (!(norms > 1e-12)) continue;
      const bend = (Math.acos(Math.max(-1, Math.min(1, (ux * wx + uy * wy + uz * wz) / norms))) * 180) / Math.PI;
      let beyond = Math.max(0, bend - l.maxBend);
      if (l.maxHyperextension !== undefined) {
        // Hinge axis (u x w) projected on the body's left: negative means bent backward.
        const axisLeft = ((uy * wz - uz * wy) * leftX + (ux * wy - uy * wx) * leftZ) / norms;
        if (axisLeft < 0) beyond = Math.max(beyond, bend - l.maxHyperextension);
      }
      out[t * J + l.j] = beyond / LIMIT_DEGREES_PER_UNIT;
    }
  }
  return out;
}

/**
 * T x J: each joint's acceleration magnitude (central second difference, frame 0 and T-1
 * copy their neighbours), in skeleton scales per second squared. A tracking freeze that
 * catches up, a jump-cut or a teleport is a spike here however the avatar moves; it is
 * judged against the avatar's own accelerations (adaptively), so fast motion is not a fault.
 */
export function accelerations(motion: Motion, scale: number): Float32Array {
  const J = motion.jointNames.length;
  const T = motion.frameCount;
  const p = motion.positions;
  const out = new Float32Array(T * J);
  if (T < 3) return out;
  const k = (motion.fps * motion.fps) / scale;
  for (let t = 1; t < T - 1; t++) {
    for (let j = 0; j < J; j++) {
      const a = ((t - 1) * J + j) * 3;
      const b = (t * J + j) * 3;
      const c = ((t + 1) * J + j) * 3;
      out[t * J + j] = k * norm3(p[c]! - 2 * p[b]! + p[a]!, p[c + 1]! - 2 * p[b + 1]! + p[a + 1]!, p[c + 2]! - 2 * p[b + 2]! + p[a + 2]!);
    }
  }
  out.copyWithin(0, J, 2 * J);
  out.copyWithin((T - 1) * J, (T - 2) * J, (T - 1) * J);
  return out;
}

/**
 * Causal accelerations of frames [from, to), (to-from) x J: frame t's second difference uses
 * t-2, t-1 and t (what has arrived), where the offline one is centred on t. Frames without
 * two predecessors get 0: no evidence.
 */
export function causalAccelerations(motion: Motion, scale: number, from: number, to: number): Float32Array {
  const J = motion.jointNames.length;
  const p = motion.positions;
  const out = new Float32Array((to - from) * J);
  const k = (motion.fps * motion.fps) / scale;
  for (let t = Math.max(from, 2); t < to; t++) {
    for (let j = 0; j < J; j++) {
      const a = ((t - 2) * J + j) * 3;
      const b = ((t - 1) * J + j) * 3;
      const c = (t * J + j) * 3;
      out[(t - from) * J + j] = k * norm3(p[c]! - 2 * p[b]! + p[a]!, p[c + 1]! - 2 * p[b + 1]! + p[a + 1]!, p[c + 2]! - 2 * p[b + 2]! + p[a + 2]!);
    }
  }
  return out;
}

/**
 * The joints watched for holds, each with the joints it keeps its distances to while held
 * (a joint may be watched against several; the strongest hold counts): feet and toes on the
 * pelvis (Hips and both hip joints); hands on the clavicle (Shoulder and UpperArm joints),
 * and on the Chest alone, so a hand that an IK keeps in place on the torso is caught
 * whichever frame it is kept in (one that turns with the shoulders moves the clavicle
 * joints, but not the hand's distance to the chest; held-out frozen arms: frozenLimb frame
 * AUC 0.73 -> 0.91). Knees and elbows are left out: captured thighs and upper arms hold
 * still to this tolerance for a few frames at a time in real takes (the BVH's rotations are
 * rounded).
 */
const HOLD_CHECKS: readonly (readonly [JointName, readonly JointName[]])[] = [
  ['LeftHand', ['LeftShoulder', 'LeftUpperArm']],
  ['RightHand', ['RightShoulder', 'RightUpperArm']],
  ['LeftHand', ['Chest']],
  ['RightHand', ['Chest']],
  ['LeftFoot', ['Hips', 'LeftUpperLeg', 'RightUpperLeg']],
  ['LeftToes', ['Hips', 'LeftUpperLeg', 'RightUpperLeg']],
  ['RightFoot', ['Hips', 'LeftUpperLeg', 'RightUpperLeg']],
  ['RightToes', ['Hips', 'LeftUpperLeg', 'RightUpperLeg']],
];

/**
 * Metres within which a distance counts as unchanged from the previous frame. In the 910
 * real takes (111,698 frames) a watched joint holds for 3 frames in a row on 41 frames
 * (0.04%; the BVH's rotations are rounded), never for more than 5; a stalled stream or a
 * limb frozen by its rotations holds exactly.
 */
export const HOLD_TOLERANCE_METRES = 1e-5;

/** Held frames in a row at which a hold's evidence is full (it grows from the second). */
export const HOLD_FULL_FRAMES = 4;

/**
 * Held frames in a row after which a hold says nothing more (5 s at 30 fps): a limb still
 * for longer is a rig that does not animate it, not a glitch, and must not alert forever.
 */
export const HOLD_MAX_FRAMES = 150;

/** Evidence of a full hold, in the units of the standardised joint deviations. */
export const HOLD_UNITS = 15;

/**
 * Held frames in a row from which a hold's evidence doubles (a third of a second). No
 * watched joint of the 910 real takes held for more than 5 frames in a row, so a longer
 * hold is a stalled or lost tracker beyond doubt; a single held hand then lifts its frame
 * over the frame threshold on its own (held-out frozenLimb recall 81.8% -> 97.4%).
 */
export const HOLD_LONG_FRAMES = 10;

/** Evidence of a hold of `run` frames (each identical to the one before it). */
export function holdUnits(run: number): number {
  if (run < 2 || run > HOLD_MAX_FRAMES) return 0;
  const units = HOLD_UNITS * Math.min(1, (run - 1) / (HOLD_FULL_FRAMES - 1));
  return run >= HOLD_LONG_FRAMES ? 2 * units : units;
}

interface IndexedHoldCheck {
  readonly j: number;
  readonly anchors: readonly number[];
}

/** HOLD_CHECKS with joint indices, those a joint list has (memoised like limitsFor: the streaming path asks every tick). */
const indexedHoldChecks = new WeakMap<readonly string[], IndexedHoldCheck[]>();
function holdChecksFor(jointNames: readonly string[]): IndexedHoldCheck[] {
  let checks = indexedHoldChecks.get(jointNames);
  if (!checks) {
    checks = HOLD_CHECKS.map(([name, anchors]) => ({ j: jointNames.indexOf(name), anchors: anchors.map((a) => jointNames.indexOf(a)) })).filter(
      (c) => c.j >= 0 && c.anchors.every((a) => a >= 0),
    );
    indexedHoldChecks.set(jointNames, checks);
  }
  return checks;
}

/**
 * Offline: a hold of `run` frames ending at frame `last` that lasted HOLD_LONG_FRAMES or more
 * (longer than any real take's) is a stalled or lost tracker from its first frame, not only
 * once a live scan has counted that far.
 */
function raiseLongHold(out: Float32Array, J: number, j: number, from: number, last: number, run: number): void {
  // Frame last - run is the pose held; it must not be the first frame (never seen moving).
  if (run < HOLD_LONG_FRAMES || run > HOLD_MAX_FRAMES || last - run < 1) return;
  const units = holdUnits(HOLD_LONG_FRAMES);
  for (let t = Math.max(from, last - run + 1); t <= last; t++) out[(t - from) * J + j] = Math.max(out[(t - from) * J + j]!, units);
}

/**
 * Frames [from, to) x J: evidence that a watched joint holds its place on its segment, by
 * how many frames in a row it has (see holdUnits). Causal: frame t looks only at frames up
 * to t, so a stream scored a few frames at a time gets what the whole clip gets. A hold that
 * reaches back to the first frame available says nothing: the joint was never seen moving
 * (a rig that does not animate it). `wholeRuns` (offline scoring of whole clips only): a
 * hold longer than any real take's counts in full from its first frame (raiseLongHold).
 */
export function holdEvidence(motion: Motion, from = 0, to = motion.frameCount, wholeRuns = false): Float32Array {
  const J = motion.jointNames.length;
  const p = motion.positions;
  const out = new Float32Array((to - from) * J);
  const distance = (t: number, a: number, b: number): number => {
    const o = t * J * 3;
    return norm3(p[o + a * 3]! - p[o + b * 3]!, p[o + a * 3 + 1]! - p[o + b * 3 + 1]!, p[o + a * 3 + 2]! - p[o + b * 3 + 2]!);
  };
  const unchanged = (now: number, before: number): boolean => Math.abs(now - before) < HOLD_TOLERANCE_METRES;
  for (const { j, anchors } of holdChecksFor(motion.jointNames)) {
    const held = (t: number): boolean => anchors.every((a) => unchanged(distance(t, j, a), distance(t - 1, j, a)));
    // The run in progress at `from`: scanned back, at most one past HOLD_MAX_FRAMES.
    let run = 0;
    while (from - run - 1 >= 1 && run <= HOLD_MAX_FRAMES && held(from - run - 1)) run++;
    // Forward, each frame's distances are measured once and kept for the next frame.
    const first = Math.max(from, 1);
    if (first >= to) continue;
    let previous = Float64Array.from(anchors, (a) => distance(first - 1, j, a));
    let current = new Float64Array(anchors.length);
    for (let t = first; t < to; t++) {
      let still = true;
      for (let k = 0; k < anchors.length; k++) {
        current[k] = distance(t, j, anchors[k]!);
        if (!unchanged(current[k]!, previous[k]!)) still = false;
      }
      [previous, current] = [current, previous];
      if (!still && wholeRuns) raiseLongHold(out, J, j, from, t - 1, run);
      run = still ? run + 1 : 0;
      // t - run is the run's first frame; the frame before it must exist (seen moving).
      if (t - run >= 1) out[(t - from) * J + j] = Math.max(out[(t - from) * J + j]!, holdUnits(run));
    }
    if (wholeRuns) raiseLongHold(out, J, j, from, to - 1, run);
  }
  return out;
}

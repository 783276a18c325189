/**
 * Whole-body priors (pure): evidence that the body as a whole is where no body can be,
 * which no joint's own error shows, because the model's features are indifferent to
 * where the avatar stands and which way it faces (see normalise.ts).
 *  - Support: feet carry a body. The lowest foot well above the floor for longer than a
 *    jump lasts is floating; below it, sinking (a floor-height calibration drift).
 *  - Displacement: the Hips changing their velocity in one frame by far more than a body
 *    can (a teleport), and not jumping back. A jump right after the stream repeated its
 *    last pose is a stalled stream catching up, which restores the true place.
 *  - Heading: the body's heading changing its rate of turn in one frame by far more than a
 *    body can (a yaw snap, a pose mirrored by a handedness bug), and not turning back.
 * Only the onset of such a fault is a discontinuity; the frames after it look like normal
 * motion in the wrong place. The memory of the jump is what marks them, until the body
 * jumps back or JUMP_MEMORY_FRAMES pass (a VR teleport that was meant must not alert for
 * ever). What ends a fault must not start another, so a jump is not remembered when it
 * brings the body back: more than halfway to where it was, down onto the floor it floated
 * off, or at the end of a run of jumps frame after frame (a stream fast-forwarding to catch
 * up; a relocation takes a frame or two). A change too large for a body but too small for
 * a jump (a tracking spike) is not taken as the body's new motion, so the way back from it
 * does not look like a jump.
 *
 * Measured on the 910 real takes (111,698 frames): the Hips' change of velocity is at most
 * 3.5 cm per frame, the heading's change of turn rate at most 3.8 degrees per frame, the
 * lowest foot never more than 5 frames in a row over 10 cm above the floor and never more
 * than 1.2 cm below it. Every threshold below is twice or more those: at half of them one
 * take gets a trace of evidence (0.09 units), at them none.
 *
 * Causal: frame t uses frames up to t only, and its floor the first second of the last
 * `windowFrames`, so a stream gets what it would get offline from a window of the same
 * length. Offline scoring of whole clips may look ahead in one place (supportTwoSided): a
 * float that lasted counts from its start.
 */
import type { Motion } from './motion.js';
import { norm3 } from './kinematic-prior.js';
import { bodyLeft, lowestFootHeight, lowestFootHeights, restingLevel, wrapAngle, yawOfLeft } from './normalise.js';
import { jointIndex } from './skeleton.js';

/** Frames at the start of the window whose resting level is the floor (1 s at 30 fps). */
export const FLOOR_ANCHOR_FRAMES = 30;

/** Height above the floor, in skeleton scales (~15 cm), beyond which the lowest foot is off the ground. */
export const AIR_TOLERANCE_SCALES = 0.1;

/** Depth below the floor, in skeleton scales (~4.5 cm), beyond which the lowest foot is in it. */
export const SINK_TOLERANCE_SCALES = 0.03;

/** Frames in a row off (or in) the floor that say nothing: a jump's flight (0.4 s). */
export const SUPPORT_GRACE_FRAMES = 12;

/** Frames after the grace over which the support evidence grows to full. */
export const SUPPORT_RAMP_FRAMES = 18;

/** Support evidence per skeleton scale beyond the tolerance, at full (30 cm beyond: ~12 units). */
export const SUPPORT_UNITS_PER_SCALE = 60;

/** Change of the Hips' velocity in one frame, in skeleton scales (~15 cm), that is a jump. */
export const JUMP_SCALES = 0.1;

/** Displacement evidence per skeleton scale of the body's offset, up to DISPLACEMENT_CAP_SCALES. */
export const DISPLACEMENT_UNITS_PER_SCALE = 20;
export const DISPLACEMENT_CAP_SCALES = 2;

/** Change of the heading's turn rate in one frame, in degrees, that is a snap. */
export const HEADING_JUMP_DEGREES = 25;

/** Heading evidence per 45 degrees of the body's turn. */
export const HEADING_UNITS_PER_45_DEGREES = 15;

/** Frames after the last jump (5 s at 30 fps) after which its displacement says nothing. */
export const JUMP_MEMORY_FRAMES = 150;

/**
 * The heading counts only while the body's left vector is mostly horizontal: lying on one
 * side or bent double, its direction in the floor plane is noise.
 */
const LEVEL_LEFT_FRACTION = 0.7;

/**
 * A change of velocity (turn rate) up to this fraction of a jump (snap) is a body's own and
 * becomes the new reference; real takes stay under a third of the jump thresholds.
 */
const PLAUSIBLE_FRACTION = 0.5;

/**
 * Whether a jump took the body back: within half the jump threshold of where it was, or
 * more than halfway back from its offset (a return rarely undoes the outward jump exactly,
 * because the body kept moving in between, or because a mirrored body turned the other way).
 */
function returned(after: number, before: number, threshold: number): boolean {
  return after < threshold / 2 || after < before / 2;
}

/**
 * Jumps (snaps) in this many frames in a row or more are a body moving (turning) too fast,
 * not a relocation, which takes one frame, or two where a stream interpolates.
 */
export const FAST_RUN_FRAMES = 3;

/**
 * What a run of jumps left behind (the body's offset, or its turn), shared by the
 * displacement and heading checks: remembered until a jump brings it back (see returned)
 * or JUMP_MEMORY_FRAMES pass, and dropped after a run of FAST_RUN_FRAMES or more jumps in a
 * row (a body moving or turning too fast, a stream fast-forwarding to catch up: evidence
 * while it lasts, no offset after; a relocation takes a frame or two).
 */
class JumpMemory {
  readonly value: Float64Array;
  /** Frames since the last jump; Infinity: nothing remembered. */
  private since = Infinity;
  /** Jumps in a row so far, and the value and its age before the run began. */
  private run = 0;
  private readonly runStart: Float64Array;
  private runStartSince = Infinity;

  constructor(
    width: number,
    /** The size of a value. */
    private readonly measure: (value: Float64Array) => number,
    /** Brings a value back into its range after a jump (a turn wraps round). */
    private readonly normalise: (value: Float64Array) => void = () => {},
  ) {
    this.value = new Float64Array(width);
    this.runStart = new Float64Array(width);
  }

  get remembered(): boolean {
    return this.since !== Infinity;
  }

  /** A jump of `threshold` or more, which `add` adds to the value. */
  jump(add: (value: Float64Array) => void, threshold: number): void {
    if (this.run++ === 0) {
      this.runStart.set(this.value);
      this.runStartSince = this.since;
    }
    const before = this.size();
    add(this.value);
    this.normalise(this.value);
    this.since = 0;
    if (returned(this.size(), before, threshold)) this.clear();
  }

  /** A frame without a jump: ends a run, and drops what a fast one left. */
  quiet(): void {
    if (this.run >= FAST_RUN_FRAMES) {
      // Jumps frame after frame were a body moving (turning) too fast, not relocated.
      this.value.set(this.runStart);
      this.since = this.runStartSince + this.run;
    }
    this.run = 0;
  }

  size(): number {
    return this.measure(this.value);
  }

  clear(): void {
    this.value.fill(0);
    this.since = Infinity;
  }

  /** Once per frame, after its jumps: the size remembered (0 once forgotten); the memory then grows a frame older. */
  recall(): number {
    const since = this.since++;
    return since >= JUMP_MEMORY_FRAMES ? 0 : this.size();
  }
}

const HIPS = jointIndex('Hips');
const DEG = Math.PI / 180;

/** Evidence that grows from nothing after SUPPORT_GRACE_FRAMES in a row to full SUPPORT_RAMP_FRAMES later. */
function ramp(run: number): number {
  return Math.min(1, Math.max(0, run - SUPPORT_GRACE_FRAMES) / SUPPORT_RAMP_FRAMES);
}

/**
 * The body prior's scan of one motion or stream, frame after frame: its state (runs off
 * the floor, the offset and turn since the last jump) is carried from call to call, so a
 * stream's new frames cost only themselves.
 */
export class BodyPriorScan {
  /** Frames scanned so far: the stream index of the next frame. */
  private frame = 0;
  private anchorFrom = -1;
  private anchorTo = -1;
  private floor = 0;
  private air = 0;
  private sunk = 0;
  /** The Hips' velocity before the last frame that was not a jump, and the last frame's. */
  private readonly reference = new Float64Array(3);
  private readonly velocity = new Float64Array(3);
  private hasReference = false;
  /** The body's offset (metres) since the jumps it has not jumped back from. */
  private readonly offset = new JumpMemory(3, (v) => norm3(v[0]!, v[1]!, v[2]!));
  /** Whether the last frame repeated the one before it exactly (a stalled stream). */
  private stalled = false;
  /** Whether this frame's lowest foot is back on the floor after more than a jump's flight off it (or in it). */
  private backOnFloor = false;
  private yaw: number | null = null;
  private turnRate: number | null = null;
  /** The body's turn (radians, wrapped) since the snaps it has not turned back from. */
  private readonly turned = new JumpMemory(1, (v) => Math.abs(v[0]!), (v) => (v[0] = wrapAngle(v[0]!)));
  private readonly left = new Float64Array(3);

  /**
   * Per stream frame, when the scan keeps a trace (see supportTwoSided): the lowest foot's
   * excess beyond its tolerance, in skeleton scales (+ above, - below), and the support
   * evidence given.
   */
  private readonly trace: { excess: number[]; support: number[] } | null;

  /**
   * `windowFrames`: the floor is the resting level of the first second of the last this
   * many frames. `options.trace`: keep what supportTwoSided needs (offline, whole clips).
   */
  constructor(
    private readonly windowFrames: number,
    options: { readonly trace?: boolean } = {},
  ) {
    this.trace = options.trace ? { excess: [], support: [] } : null;
  }

  /**
   * Evidence of the motion's frames [from, to), which must be the next frames of this
   * scan; `first` is the stream index of the motion's frame 0 (a window of a longer
   * stream). The floor then comes from the window's frames only.
   */
  next(motion: Motion, scale: number, from: number, to: number, first = 0): Float32Array {
    if (first + from !== this.frame) throw new Error(`body prior: expected stream frame ${this.frame}, got ${first + from}`);
    const out = new Float32Array(to - from);
    for (let t = from; t < to; t++, this.frame++) {
      // Support first (a landing excuses a jump), heading before displacement (which updates `stalled` to this frame's).
      const support = this.support(motion, scale, t, first);
      const heading = this.heading(motion, t);
      out[t - from] = support + this.displacement(motion, scale, t) + heading;
    }
    return out;
  }

  /**
   * Offline, on the evidence this traced scan gave a whole clip (from stream frame 0): a
   * stretch off (or in) the floor that outlasted a jump's flight counts in full from its
   * first frame, not after the grace and the ramp that a live scan needs because it cannot
   * yet know how long the stretch will last. A stretch no longer than a jump's flight still
   * says nothing, so no real take gets any evidence this way either.
   */
  supportTwoSided(evidence: Float32Array): void {
    if (!this.trace) throw new Error('body prior: supportTwoSided needs a scan that keeps a trace');
    if (evidence.length !== this.trace.excess.length) throw new Error(`body prior: ${evidence.length} frames of evidence for a trace of ${this.trace.excess.length}`);
    const { excess, support } = this.trace;
    for (let start = 0; start < excess.length; ) {
      let end = start + 1;
      const sign = Math.sign(excess[start]!);
      while (end < excess.length && Math.sign(excess[end]!) === sign) end++;
      if (sign !== 0 && end - start > SUPPORT_GRACE_FRAMES) {
        for (let t = start; t < end; t++) evidence[t] = evidence[t]! - support[t]! + SUPPORT_UNITS_PER_SCALE * Math.abs(excess[t]!);
      }
      start = end;
    }
  }

  /** Floating and sinking. */
  private support(motion: Motion, scale: number, t: number, first: number): number {
    // A stream's window may start a few frames later than windowFrames before this frame.
    const from = Math.max(first, this.frame - this.windowFrames + 1);
    const to = Math.min(from + FLOOR_ANCHOR_FRAMES, this.frame + 1);
    if (from !== this.anchorFrom || to !== this.anchorTo) {
      this.floor = restingLevel(lowestFootHeights(motion, from - first, to - first), scale);
      this.anchorFrom = from;
      this.anchorTo = to;
    }
    const height = (lowestFootHeight(motion, t) - this.floor) / scale;
    const above = height - AIR_TOLERANCE_SCALES;
    const below = -height - SINK_TOLERANCE_SCALES;
    const wasUnsupported = Math.max(this.air, this.sunk) > SUPPORT_GRACE_FRAMES;
    this.air = above > 0 ? this.air + 1 : 0;
    this.sunk = below > 0 ? this.sunk + 1 : 0;
    this.backOnFloor = wasUnsupported && this.air === 0 && this.sunk === 0;
    const evidence = SUPPORT_UNITS_PER_SCALE * (Math.max(0, above) * ramp(this.air) + Math.max(0, below) * ramp(this.sunk));
    if (this.trace) {
      this.trace.excess.push(above > 0 ? above : below > 0 ? -below : 0);
      this.trace.support.push(evidence);
    }
    return evidence;
  }

  /** Teleports: the Hips' unexplained jumps, summed while they last. */
  private displacement(motion: Motion, scale: number, t: number): number {
    if (this.frame === 0) return 0;
    const J = motion.jointNames.length;
    const p = motion.positions;
    const o = (t * J + HIPS) * 3;
    const q = ((t - 1) * J + HIPS) * 3;
    const { velocity, reference, offset } = this;
    for (let a = 0; a < 3; a++) velocity[a] = p[o + a]! - p[q + a]!;
    const jump = JUMP_SCALES * scale;
    const change = this.hasReference ? norm3(velocity[0]! - reference[0]!, velocity[1]! - reference[1]!, velocity[2]! - reference[2]!) : 0;
    // A jump counts unless the stream is catching up after a stall.
    if (change > jump && !this.stalled) {
      offset.jump((value) => {
        for (let a = 0; a < 3; a++) value[a] = value[a]! + velocity[a]! - reference[a]!;
      }, jump);
    } else {
      offset.quiet();
      // Between a body's own change and a jump, a change no body makes but too small to call
      // a jump (a tracking spike, say) is not taken as the new velocity, so the way back from
      // it is not mistaken for a jump either.
      if (change <= jump * PLAUSIBLE_FRACTION) {
        reference.set(velocity);
        this.hasReference = true;
      }
    }
    if (this.backOnFloor && offset.remembered) {
      // Landed back on the floor it floated off or sank into: its height is right again (the
      // support check judges heights; the jumps that ended a float were no teleport).
      offset.value[1] = 0;
      if (offset.size() < jump / 2) offset.clear();
    }
    this.stalled = velocity[0] === 0 && velocity[1] === 0 && velocity[2] === 0;
    return DISPLACEMENT_UNITS_PER_SCALE * Math.min(DISPLACEMENT_CAP_SCALES, offset.recall() / scale);
  }

  /** Yaw snaps: the heading's unexplained jumps, summed (wrapped) while they last. */
  private heading(motion: Motion, t: number): number {
    const left = bodyLeft(motion.positions, motion.jointNames.length, t, this.left);
    const horizontal = Math.sqrt(left[0]! * left[0]! + left[2]! * left[2]!);
    let counted = false;
    if (horizontal > LEVEL_LEFT_FRACTION * norm3(left[0]!, left[1]!, left[2]!)) {
      const yaw = yawOfLeft(left);
      if (this.yaw !== null) {
        const rate = wrapAngle(yaw - this.yaw);
        // The first rate is judged against standing still: no body starts turning faster than a snap.
        const change = wrapAngle(rate - (this.turnRate ?? 0));
        const snap = HEADING_JUMP_DEGREES * DEG;
        // A snap counts unless the stream is catching up after a stall.
        counted = Math.abs(change) > snap && !this.stalled;
        if (counted) {
          this.turned.jump((value) => (value[0] = value[0]! + change), snap);
        } else if (Math.abs(change) <= snap * PLAUSIBLE_FRACTION) {
          // As for the Hips' velocity: a change between a body's own and a snap is not taken.
          this.turnRate = rate;
        }
      }
      this.yaw = yaw;
    } else {
      this.yaw = null;
      this.turnRate = null;
    }
    if (!counted) this.turned.quiet();
    return (HEADING_UNITS_PER_45_DEGREES * this.turned.recall()) / (45 * DEG);
  }
}

/**
 * Whole-body evidence (support, displacement, heading) of each frame of a clip, in the
 * units of the standardised joint deviations; every joint of a frame gets it. `scale`:
 * the skeleton scale (see skeletonScale). Linear in the clip's length. Causal, as a live
 * stream gets it, unless `twoSided` (offline scoring of whole clips: see supportTwoSided).
 */
export function bodyEvidence(motion: Motion, scale: number, windowFrames: number, twoSided = false): Float32Array {
  const scan = new BodyPriorScan(windowFrames, { trace: twoSided });
  const out = scan.next(motion, scale, 0, motion.frameCount);
  if (twoSided) scan.supportTwoSided(out);
  return out;
}

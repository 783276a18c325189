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
 * ever).
 *
 * Measured on the 910 real takes (111,698 frames): the Hips' change of velocity is at most
 * 3.5 cm per frame, the heading's change of turn rate at most 3.8 degrees per frame, the
 * lowest foot never more than 5 frames in a row over 10 cm above the floor and never more
 * than 1.2 cm below it. Every threshold below is twice or more those: at half of them one
 * take gets a trace of evidence (0.09 units), at them none.
 *
 * Causal: frame t uses frames up to t only, and its floor the first second of the last
 * `windowFrames`, so the offline scores and the streamed ones (over a window of the same
 * length) agree.
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
  private readonly offset = new Float64Array(3);
  private hasReference = false;
  private stalled = false;
  private offsetAge = Infinity;
  private yaw: number | null = null;
  private turnRate: number | null = null;
  private turned = 0;
  private turnAge = Infinity;
  private readonly left = new Float64Array(3);

  /** `windowFrames`: the floor is the resting level of the first second of the last this many frames. */
  constructor(private readonly windowFrames: number) {}

  /**
   * Evidence of the motion's frames [from, to), which must be the next frames of this
   * scan; `first` is the stream index of the motion's frame 0 (a window of a longer
   * stream). The floor then comes from the window's frames only.
   */
  next(motion: Motion, scale: number, from: number, to: number, first = 0): Float32Array {
    if (first + from !== this.frame) throw new Error(`body prior: expected stream frame ${this.frame}, got ${first + from}`);
    const out = new Float32Array(to - from);
    for (let t = from; t < to; t++, this.frame++) {
      out[t - from] = this.support(motion, scale, t, first) + this.displacement(motion, scale, t) + this.heading(motion, t);
    }
    return out;
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
    this.air = above > 0 ? this.air + 1 : 0;
    this.sunk = below > 0 ? this.sunk + 1 : 0;
    return SUPPORT_UNITS_PER_SCALE * (Math.max(0, above) * ramp(this.air) + Math.max(0, below) * ramp(this.sunk));
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
    if (this.hasReference && norm3(velocity[0]! - reference[0]!, velocity[1]! - reference[1]!, velocity[2]! - reference[2]!) > jump) {
      // A jump: the body is now offset by it, unless the stream is catching up after a stall.
      if (!this.stalled) {
        for (let a = 0; a < 3; a++) offset[a] = offset[a]! + velocity[a]! - reference[a]!;
        this.offsetAge = 0;
        // Jumped back (near enough): in place again.
        if (norm3(offset[0]!, offset[1]!, offset[2]!) < jump / 2) {
          offset.fill(0);
          this.offsetAge = Infinity;
        }
      }
    } else {
      reference.set(velocity);
      this.hasReference = true;
    }
    this.stalled = velocity[0] === 0 && velocity[1] === 0 && velocity[2] === 0;
    const age = this.offsetAge++;
    if (age >= JUMP_MEMORY_FRAMES) return 0;
    return DISPLACEMENT_UNITS_PER_SCALE * Math.min(DISPLACEMENT_CAP_SCALES, norm3(offset[0]!, offset[1]!, offset[2]!) / scale);
  }

  /** Yaw snaps: the heading's unexplained jumps, summed (wrapped) while they last. */
  private heading(motion: Motion, t: number): number {
    const left = bodyLeft(motion.positions, motion.jointNames.length, t, this.left);
    const horizontal = Math.sqrt(left[0]! * left[0]! + left[2]! * left[2]!);
    if (horizontal > LEVEL_LEFT_FRACTION * norm3(left[0]!, left[1]!, left[2]!)) {
      const yaw = yawOfLeft(left);
      if (this.yaw !== null) {
        const rate = wrapAngle(yaw - this.yaw);
        const change = this.turnRate === null ? 0 : wrapAngle(rate - this.turnRate);
        const snap = HEADING_JUMP_DEGREES * DEG;
        if (Math.abs(change) > snap) {
          this.turned = wrapAngle(this.turned + change);
          this.turnAge = 0;
          // Turned back (near enough): facing the right way again.
          if (Math.abs(this.turned) < snap / 2) {
            this.turned = 0;
            this.turnAge = Infinity;
          }
        } else {
          this.turnRate = rate;
        }
      }
      this.yaw = yaw;
    } else {
      this.yaw = null;
      this.turnRate = null;
    }
    const age = this.turnAge++;
    if (age >= JUMP_MEMORY_FRAMES) return 0;
    return (HEADING_UNITS_PER_45_DEGREES * Math.abs(this.turned)) / (45 * DEG);
  }
}

/**
 * Whole-body evidence (support, displacement, heading) of each frame of a clip, in the
 * units of the standardised joint deviations; every joint of a frame gets it. `scale`:
 * the skeleton scale (see skeletonScale). Linear in the clip's length.
 */
export function bodyEvidence(motion: Motion, scale: number, windowFrames: number): Float32Array {
  return new BodyPriorScan(windowFrames).next(motion, scale, 0, motion.frameCount);
}

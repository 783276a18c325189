/** A fixed-size history of one avatar's joint positions (frame-major, J x 3 per frame). */
import { CANONICAL_JOINTS } from './skeleton.js';

const J = CANONICAL_JOINTS.length;
const STRIDE = J * 3;

/**
 * The last `capacity` frames of one avatar, contiguous and oldest first. The buffer holds
 * twice the capacity, so frames are shifted down only once per `capacity` appended frames.
 */
export class PositionHistory {
  private readonly data: Float32Array;
  private start = 0;
  private end = 0;

  constructor(private readonly capacity: number) {
    this.data = new Float32Array(2 * capacity * STRIDE);
  }

  append(positions: Float32Array, frames: number): void {
    if (frames >= this.capacity) {
      this.data.set(positions.subarray((frames - this.capacity) * STRIDE, frames * STRIDE));
      this.start = 0;
      this.end = this.capacity;
      return;
    }
    if (this.end + frames > 2 * this.capacity) {
      const keep = Math.min(this.frames, this.capacity - frames);
      this.data.copyWithin(0, (this.end - keep) * STRIDE, this.end * STRIDE);
      this.start = 0;
      this.end = keep;
    }
    this.data.set(positions.subarray(0, frames * STRIDE), this.end * STRIDE);
    this.end += frames;
    this.start = Math.max(this.start, this.end - this.capacity);
  }

  get frames(): number {
    return this.end - this.start;
  }

  /** The frames held, without copying; valid until the next append. */
  view(): Float32Array {
    return this.data.subarray(this.start * STRIDE, this.end * STRIDE);
  }

  snapshot(): Float32Array {
    return this.view().slice();
  }
}

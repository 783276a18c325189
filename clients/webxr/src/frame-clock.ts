/**
 * Publishing at the declared fps from a render loop that runs at its own rate (XR headsets
 * render at 72-120 Hz, the protocol's fps is per connection): next(time) says which seq, if
 * any, the current render frame should be published as, so seq n always lies at n / fps s.
 */
export class FrameClock {
  private startMs: number | null = null;
  private lastSeq = -1;

  constructor(
    readonly fps = 30,
    private readonly firstSeq = 0,
  ) {
    if (!(fps > 0)) throw new RangeError(`fps must be positive, got ${fps}`);
  }

  /** The seq for a render frame at `timeMs` (any monotonic clock, e.g. the XR frame time), or null when its slot was already published. */
  next(timeMs: number): number | null {
    this.startMs ??= timeMs;
    const seq = this.firstSeq + Math.floor(((timeMs - this.startMs) * this.fps) / 1000 + 1e-6);
    if (seq <= this.lastSeq) return null;
    this.lastSeq = seq;
    return seq;
  }

  /** Starts over: the next call is seq firstSeq again (call after a pause longer than a second; the server restarts the window anyway). */
  reset(): void {
    this.startMs = null;
    this.lastSeq = -1;
  }
}

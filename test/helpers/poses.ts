/** Synthetic canonical poses (metres, Y up) for stream tests with the fake scorer. */
import { J, MARKER } from './fake-scorer.js';

/**
 * One frame: every joint on a small circle around the Hips (which walk along +Z with t), the
 * marker joint (LeftHand) `markerDistance` metres from the Hips. Fake score = markerDistance.
 */
export function pose(t: number, markerDistance = 0.5): Float32Array {
  const out = new Float32Array(J * 3);
  const z = t * 0.04;
  for (let j = 0; j < J; j++) {
    const angle = (2 * Math.PI * j) / J + 0.1 * Math.sin(t / 5);
    const r = j === 0 ? 0 : 0.3;
    out[j * 3] = r * Math.cos(angle);
    out[j * 3 + 1] = 1 + r * Math.sin(angle);
    out[j * 3 + 2] = z;
  }
  out[MARKER * 3] = markerDistance;
  out[MARKER * 3 + 1] = 1;
  out[MARKER * 3 + 2] = z;
  return out;
}

/** A clip of `frames` poses; frames in [from, to) carry the marker at `distance`. */
export function clipPositions(frames: number, anomaly?: { from: number; to: number; distance: number }): Float32Array {
  const out = new Float32Array(frames * J * 3);
  for (let t = 0; t < frames; t++) {
    const inside = anomaly !== undefined && t >= anomaly.from && t < anomaly.to;
    out.set(pose(t, inside ? anomaly.distance : 0.5), t * J * 3);
  }
  return out;
}

/** Little-endian float32 bytes of `values` (the protocol's `joints` bin). */
export function float32Bin(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

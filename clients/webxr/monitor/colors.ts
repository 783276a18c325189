/** Score -> colour, relative to the frame threshold (joint scores are on the frame score's scale). */

export type Rgb = readonly [number, number, number];

const CALM: Rgb = [0.25, 0.75, 0.55];
const WARM: Rgb = [1, 0.82, 0.2];
const HOT: Rgb = [1, 0.15, 0.12];

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];

/** Calm green up to half the threshold, yellow at the threshold, red from 3x the threshold; components in [0, 1]. */
export function scoreColor(score: number, threshold: number): Rgb {
  const u = threshold > 0 && Number.isFinite(score) ? Math.max(0, score) / threshold : 0;
  if (u <= 0.5) return CALM;
  if (u <= 1) return mix(CALM, WARM, (u - 0.5) / 0.5);
  if (u <= 3) return mix(WARM, HOT, Math.log(u) / Math.log(3));
  return HOT;
}

export function cssColor(rgb: Rgb): string {
  return `rgb(${rgb.map((c) => Math.round(c * 255)).join(', ')})`;
}

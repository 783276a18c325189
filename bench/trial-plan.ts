/**
 * Who does what in an end-to-end trial (pure): avatars split over load generator
 * processes, which avatars carry an injected anomaly (kind, onset, length), and which are
 * sampled for per-frame latency. Deterministic for a seed.
 */
import type { AnomalyKind } from '../src/synth/anomalies.js';
import { createRng } from '../src/synth/random.js';
import type { AnomalyAssignment } from './messages.js';

/** `count` indices spread evenly over [0, n) (all of them if count >= n). */
export function spreadIndices(n: number, count: number): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  if (count <= 0) return [];
  return Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * n) / count));
}

/** Avatars per generator: as even as possible, at most `perGenerator` each (more generators when needed). */
export function splitAvatars(avatars: number, perGenerator: number): number[] {
  if (avatars <= 0) return [];
  const generators = Math.max(1, Math.ceil(avatars / Math.max(1, perGenerator)));
  return Array.from({ length: generators }, (_, g) => Math.floor(((g + 1) * avatars) / generators) - Math.floor((g * avatars) / generators));
}

export interface AnomalyPlanOptions {
  /** Fraction of avatars with one injected anomaly (if above 0, at least one when there are two avatars or more). */
  readonly fraction: number;
  readonly kinds: readonly AnomalyKind[];
  /** Length of each anomaly, seconds. */
  readonly seconds: number;
  readonly severity: number;
  /** Onsets are drawn uniformly in [earliestSeconds, latestSeconds] of each avatar's stream. */
  readonly earliestSeconds: number;
  readonly latestSeconds: number;
  readonly fps: number;
  readonly seed: number;
}

/** Anomalies by global avatar index. */
export function planAnomalies(avatars: number, options: AnomalyPlanOptions): Map<number, Omit<AnomalyAssignment, 'avatarIndex'>> {
  const count = avatars >= 2 && options.fraction > 0 ? Math.max(1, Math.round(avatars * options.fraction)) : 0;
  const rng = createRng(options.seed);
  const out = new Map<number, Omit<AnomalyAssignment, 'avatarIndex'>>();
  const latest = Math.max(options.earliestSeconds, options.latestSeconds);
  spreadIndices(avatars, count).forEach((avatar, k) => {
    out.set(avatar, {
      kind: options.kinds[k % options.kinds.length]!,
      onsetSeq: Math.round(rng.uniform(options.earliestSeconds, latest) * options.fps),
      frames: Math.max(1, Math.round(options.seconds * options.fps)),
      severity: options.severity,
      seed: rng.int(0, 0x7fffffff),
    });
  });
  return out;
}

export interface GeneratorShare {
  readonly generator: number;
  /** Global index of this generator's first avatar. */
  readonly first: number;
  readonly avatars: number;
  readonly anomalies: AnomalyAssignment[];
  readonly latencyAvatars: number[];
}

/** Splits avatars, anomalies and latency samples (all by global index) into generator shares with local indices. */
export function shareOut(avatars: number, perGenerator: number, anomalies: ReadonlyMap<number, Omit<AnomalyAssignment, 'avatarIndex'>>, latencySample: number): GeneratorShare[] {
  const sampled = new Set(spreadIndices(avatars, latencySample));
  let first = 0;
  return splitAvatars(avatars, perGenerator).map((count, generator) => {
    const share: GeneratorShare = { generator, first, avatars: count, anomalies: [], latencyAvatars: [] };
    for (let local = 0; local < count; local++) {
      const global = first + local;
      const anomaly = anomalies.get(global);
      if (anomaly) share.anomalies.push({ avatarIndex: local, ...anomaly });
      if (sampled.has(global)) share.latencyAvatars.push(local);
    }
    first += count;
    return share;
  });
}

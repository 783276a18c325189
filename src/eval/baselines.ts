/**
 * Two simple per-frame anomaly baselines, fitted on normal motion only, that the neural
 * detector must beat:
 *  - speed-zscore: how unusual is the fastest-moving joint's speed?
 *  - pca-reconstruction: how far is the frame's (pose, pose velocity) vector from the
 *    linear subspace that normal motion occupies?
 * Both are deterministic (no randomness; fitting sub-samples every k-th frame).
 */
import type { Motion } from '../model/motion.js';
import { FEATURE_SIZE, motionFeatures, skeletonScale } from '../model/normalise.js';
import { JOINT_COUNT } from '../model/skeleton.js';

export interface FrameBaseline {
  readonly name: string;
  /** One score per frame, higher = more anomalous. */
  frameScores(motion: Motion): Float32Array;
}

function checkClip(motion: Motion): void {
  if (motion.jointNames.length !== JOINT_COUNT) {
    throw new Error(`expected ${JOINT_COUNT} canonical joints, got ${motion.jointNames.length}`);
  }
  if (motion.frameCount < 2) throw new Error(`need at least 2 frames, got ${motion.frameCount}`);
}

// ---------------------------------------------------------------- speed z-score

/**
 * Per-joint speed in skeleton scales per second (T x J), so tall and short avatars compare.
 * Frame 0 copies frame 1: there is no previous frame, and a zero would look like a freeze.
 */
export function jointSpeeds(motion: Motion): Float32Array {
  checkClip(motion);
  const J = motion.jointNames.length;
  const T = motion.frameCount;
  const p = motion.positions;
  const perSecond = motion.fps / skeletonScale(motion);
  const out = new Float32Array(T * J);
  for (let t = 1; t < T; t++) {
    for (let j = 0; j < J; j++) {
      const a = ((t - 1) * J + j) * 3;
      const b = (t * J + j) * 3;
      const dx = p[b]! - p[a]!;
      const dy = p[b + 1]! - p[a + 1]!;
      const dz = p[b + 2]! - p[a + 2]!;
      out[t * J + j] = Math.sqrt(dx * dx + dy * dy + dz * dz) * perSecond;
    }
  }
  out.copyWithin(0, J, 2 * J);
  return out;
}

/**
 * Smallest std used for a z-score, in skeleton scales per second (about 1.5 mm/s): a joint
 * that never moved in the normal data must still give finite z-scores.
 */
const MIN_SPEED_STD = 1e-3;

export interface SpeedZScoreBaseline extends FrameBaseline {
  /** Per-joint mean speed on normal frames (skeleton scales per second). */
  readonly mean: Float64Array;
  /** Per-joint speed standard deviation on normal frames. */
  readonly std: Float64Array;
}

export function fitSpeedZScore(normal: readonly Motion[]): SpeedZScoreBaseline {
  if (normal.length === 0) throw new Error('fitSpeedZScore: no normal motions');
  const J = JOINT_COUNT;
  const sum = new Float64Array(J);
  const sumSq = new Float64Array(J);
  let n = 0;
  // Speeds are cheap (one pass, J per frame), so every normal frame is used.
  for (const motion of normal) {
    const speeds = jointSpeeds(motion);
    for (let i = 0; i < speeds.length; i++) {
      const v = speeds[i]!;
      sum[i % J]! += v;
      sumSq[i % J]! += v * v;
    }
    n += motion.frameCount;
  }
  const mean = sum.map((s) => s / n);
  const std = sumSq.map((s, j) => Math.max(MIN_SPEED_STD, Math.sqrt(Math.max(0, s / n - mean[j]! ** 2))));
  return {
    name: 'speed-zscore',
    mean,
    std,
    frameScores(motion: Motion): Float32Array {
      const speeds = jointSpeeds(motion);
      const out = new Float32Array(motion.frameCount);
      for (let t = 0; t < motion.frameCount; t++) {
        let worst = 0;
        for (let j = 0; j < J; j++) {
          const z = Math.abs(speeds[t * J + j]! - mean[j]!) / std[j]!;
          if (z > worst) worst = z;
        }
        out[t] = worst;
      }
      return out;
    },
  };
}

// ---------------------------------------------------------------- PCA reconstruction

/** Per-frame vector: FEATURE_SIZE features followed by their rate of change. */
export const PCA_DIMS = 2 * FEATURE_SIZE;

/**
 * T x PCA_DIMS frame vectors: normalised features, then their first difference times fps
 * (a per-second rate, so clips at different frame rates are comparable). Frame 0 copies
 * frame 1's difference.
 */
export function pcaFrameVectors(motion: Motion): Float64Array {
  checkClip(motion);
  const { features } = motionFeatures(motion);
  const T = motion.frameCount;
  const F = FEATURE_SIZE;
  const out = new Float64Array(T * PCA_DIMS);
  for (let t = 0; t < T; t++) {
    const cur = Math.max(t, 1);
    const o = t * PCA_DIMS;
    for (let c = 0; c < F; c++) {
      out[o + c] = features[t * F + c]!;
      out[o + F + c] = (features[cur * F + c]! - features[(cur - 1) * F + c]!) * motion.fps;
    }
  }
  return out;
}

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major, not modified) by cyclic Jacobi
 * rotations. Returns eigenvalues sorted descending and the matching unit eigenvectors as
 * rows (vectors[k * n + i]). Jacobi is slow for big matrices but simple, robust and
 * accurate, and for n = 132 it converges in well under a second.
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  if (matrix.length !== n * n) throw new Error(`matrix length ${matrix.length} is not ${n}x${n}`);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i]! * a[i]!;
  const tolerance = 1e-22 * scale;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! * a[p * n + q]!;
    if (off <= tolerance) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        // Rotation angle that zeroes a[p][q] (Numerical Recipes' stable form).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // Columns p and q of A.
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          // Rows p and q of A.
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          // Columns p and q of V accumulate the eigenvectors.
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y]! - a[x * n + x]! || x - y);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((col, k) => {
    values[k] = a[col * n + col]!;
    for (let i = 0; i < n; i++) vectors[k * n + i] = v[i * n + col]!;
  });
  return { values, vectors };
}

/** Fewest leading components whose eigenvalues reach `fraction` of the total variance. */
export function componentsForVariance(values: Float64Array, fraction: number): number {
  let total = 0;
  for (const v of values) total += Math.max(0, v);
  if (!(total > 0)) return 0;
  let acc = 0;
  for (let k = 0; k < values.length; k++) {
    acc += Math.max(0, values[k]!);
    // Tiny slack so varianceKept = 1 does not demand components lost to rounding.
    if (acc >= fraction * total * (1 - 1e-12)) return k + 1;
  }
  return values.length;
}

/** Fitting uses at most this many frames (every k-th frame beyond it): keeps fitting in seconds. */
const MAX_FIT_FRAMES = 30_000;

/** Channels with (almost) no spread in the normal data keep unit scale instead of blowing up. */
const MIN_DIM_STD = 1e-6;

export interface PcaOptions {
  /** Fraction of the standardised variance the kept components explain (0, 1]; default 0.95. */
  readonly varianceKept?: number;
}

export interface PcaBaseline extends FrameBaseline {
  /** Length of the frame vector (PCA_DIMS). */
  readonly dimension: number;
  /** Number of principal components kept. */
  readonly componentCount: number;
  /** Fraction of standardised variance those components explain. */
  readonly explainedVariance: number;
}

export function fitPcaReconstruction(normal: readonly Motion[], options: PcaOptions = {}): PcaBaseline {
  const varianceKept = options.varianceKept ?? 0.95;
  if (!(varianceKept > 0 && varianceKept <= 1)) throw new Error(`varianceKept must be in (0, 1], got ${varianceKept}`);
  if (normal.length === 0) throw new Error('fitPcaReconstruction: no normal motions');
  const D = PCA_DIMS;
  const totalFrames = normal.reduce((s, m) => s + m.frameCount, 0);
  const stride = Math.max(1, Math.ceil(totalFrames / MAX_FIT_FRAMES));

  // Collect every stride-th frame across the concatenated clips (global index, so short clips still contribute).
  const rows: Float64Array[] = [];
  let globalIndex = 0;
  for (const motion of normal) {
    const vectors = pcaFrameVectors(motion);
    for (let t = 0; t < motion.frameCount; t++, globalIndex++) {
      if (globalIndex % stride === 0) rows.push(vectors.subarray(t * D, (t + 1) * D));
    }
  }
  const n = rows.length;

  const mean = new Float64Array(D);
  for (const r of rows) for (let d = 0; d < D; d++) mean[d]! += r[d]!;
  for (let d = 0; d < D; d++) mean[d]! /= n;
  const std = new Float64Array(D);
  for (const r of rows) for (let d = 0; d < D; d++) std[d]! += (r[d]! - mean[d]!) ** 2;
  for (let d = 0; d < D; d++) {
    const s = Math.sqrt(std[d]! / n);
    std[d] = s > MIN_DIM_STD ? s : 1;
  }

  // Covariance of the standardised vectors (upper triangle, then mirrored).
  const cov = new Float64Array(D * D);
  const z = new Float64Array(D);
  for (const r of rows) {
    for (let d = 0; d < D; d++) z[d] = (r[d]! - mean[d]!) / std[d]!;
    for (let i = 0; i < D; i++) {
      const zi = z[i]!;
      if (zi === 0) continue;
      const o = i * D;
      for (let j = i; j < D; j++) cov[o + j]! += zi * z[j]!;
    }
  }
  for (let i = 0; i < D; i++) {
    for (let j = i; j < D; j++) {
      const c = cov[i * D + j]! / n;
      cov[i * D + j] = c;
      cov[j * D + i] = c;
    }
  }

  const { values, vectors } = symmetricEigen(cov, D);
  const k = componentsForVariance(values, varianceKept);
  const components = vectors.slice(0, k * D);
  let total = 0;
  let kept = 0;
  values.forEach((v, i) => {
    total += Math.max(0, v);
    if (i < k) kept += Math.max(0, v);
  });

  return {
    name: 'pca-reconstruction',
    dimension: D,
    componentCount: k,
    explainedVariance: total > 0 ? kept / total : 0,
    frameScores(motion: Motion): Float32Array {
      const frames = pcaFrameVectors(motion);
      const out = new Float32Array(motion.frameCount);
      const x = new Float64Array(D);
      for (let t = 0; t < motion.frameCount; t++) {
        const o = t * D;
        let norm = 0;
        for (let d = 0; d < D; d++) {
          const v = (frames[o + d]! - mean[d]!) / std[d]!;
          x[d] = v;
          norm += v * v;
        }
        // |x - W^T W x|^2 = |x|^2 - |W x|^2 for orthonormal rows of W: half the work of forming
        // the residual. In float64 the cancellation costs ~1e-14 |x|^2, far below float32 output.
        let projected = 0;
        for (let c = 0; c < k; c++) {
          const w = c * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += components[w + d]! * x[d]!;
          projected += dot * dot;
        }
        const err = Math.max(0, norm - projected);
        out[t] = err;
      }
      return out;
    },
  };
}

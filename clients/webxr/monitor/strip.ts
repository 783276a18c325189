/**
 * A per-avatar strip of frame scores against the frame threshold (after figure 6 of the
 * NFlowAD paper): one bar per scored span of frames at its seq, the threshold as a dashed line,
 * over-threshold bars in red, open alert episodes shaded. Scores span four orders of
 * magnitude, so the axis is logarithmic in units of the threshold.
 */

export interface ScorePoint {
  /** Newest frame of the span scored in one server tick. */
  readonly seq: number;
  /** Frames in that span. */
  readonly frames: number;
  /** The span's highest frame score. */
  readonly score: number;
  readonly alerting: boolean;
}

/** Frames shown (10 s at 30 fps). */
export const STRIP_FRAMES = 300;

/** Height in [0, 1] of `score` on an axis whose top is `top` (both in units of the threshold, top >= 1). */
export function stripHeight(score: number, threshold: number, top: number): number {
  const u = threshold > 0 ? Math.max(0, score) / threshold : 0;
  return Math.min(1, Math.log1p(u) / Math.log1p(top));
}

/** The axis top: at least 4 thresholds, enough for the highest score shown, at most 1000. */
export function stripTop(points: readonly ScorePoint[], threshold: number): number {
  let peak = 0;
  for (const p of points) peak = Math.max(peak, p.score);
  return Math.min(1000, Math.max(4, threshold > 0 ? peak / threshold : 0));
}

export function drawStrip(canvas: HTMLCanvasElement, points: readonly ScorePoint[], threshold: number): void {
  const ratio = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = canvas.clientHeight || 72;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = '#11161c';
  ctx.fillRect(0, 0, width, height);
  const last = points.length > 0 ? points[points.length - 1]!.seq : 0;
  const first = last - STRIP_FRAMES + 1;
  const visible = points.filter((p) => p.seq >= first);
  const top = stripTop(visible, threshold);
  const pad = 4;
  const plotH = height - 2 * pad;
  const x = (seq: number): number => ((seq - first) / STRIP_FRAMES) * width;
  const y = (score: number): number => height - pad - stripHeight(score, threshold, top) * plotH;

  for (const p of visible) {
    const x0 = x(p.seq - p.frames + 1);
    const x1 = x(p.seq + 1);
    if (p.alerting) {
      ctx.fillStyle = 'rgba(255, 60, 50, 0.16)';
      ctx.fillRect(x0, 0, x1 - x0, height);
    }
    const over = p.score > threshold;
    ctx.fillStyle = over ? '#ff4d3d' : '#5b8fb9';
    const yy = y(p.score);
    ctx.fillRect(x0, yy, Math.max(1, x1 - x0 - 0.5), height - pad - yy);
  }
  const ty = y(threshold);
  ctx.strokeStyle = '#ffd166';
  ctx.setLineDash([5, 4]);
  ctx.beginPath();
  ctx.moveTo(0, ty);
  ctx.lineTo(width, ty);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = '#ffd166';
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillText(`threshold ${threshold.toFixed(2)}`, 4, Math.max(10, ty - 3));
  ctx.fillStyle = '#8a98a8';
  ctx.textAlign = 'right';
  ctx.fillText(`seq ${last} · axis top ${(top * threshold).toFixed(1)}`, width - 4, 11);
  ctx.textAlign = 'left';
}

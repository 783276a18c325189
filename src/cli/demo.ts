/**
 * `motionguard demo`: a one-minute look at the detector. Takes a clip (a BVH file, the
 * first shared real clip when ../shared/data is present, else a procedural walk),
 * injects a fault, scores the clean and corrupted copies with the model and prints
 * what an operator would see.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Motion } from '../model/motion.js';
import type { MotionScorer } from '../model/scorer.js';
import { topKJoints } from '../model/scoring.js';
import { CANONICAL_JOINTS } from '../model/skeleton.js';
import type { ClipScores } from '../model/types.js';
import { ANOMALY_DESCRIPTIONS, ANOMALY_KINDS, injectAnomaly, type AnomalyKind } from '../synth/anomalies.js';
import { walkerMotion } from '../synth/walker.js';
import { listBvhFiles, loadBvhFile } from '../train/dataset.js';

const SHARED_DATA = path.resolve('../shared/data/bandai-namco-2/train');
const BARS = ' ▁▂▃▄▅▆▇█';

/** One character per frame group: the frame-score strip of the paper's figure 6, in a terminal. */
export function scoreStrip(scores: Float32Array, threshold: number, width = 60): string {
  const step = Math.max(1, Math.ceil(scores.length / width));
  // Log scale around the threshold: the threshold sits mid-height, 10x it fills the bar,
  // so one huge peak does not flatten everything else.
  const height = (x: number): number => Math.log1p(Math.max(0, x) / threshold) / Math.log1p(10);
  let strip = '';
  for (let i = 0; i < scores.length; i += step) {
    let peak = -Infinity;
    for (let k = i; k < Math.min(scores.length, i + step); k++) peak = Math.max(peak, scores[k]!);
    const level = Math.max(0, Math.min(BARS.length - 1, Math.round(height(peak) * (BARS.length - 1))));
    strip += peak > threshold ? `\u001b[31m${BARS[level]}\u001b[0m` : BARS[level];
  }
  return strip;
}

async function demoClip(file: string | undefined): Promise<{ name: string; motion: Motion }> {
  if (file) return { name: file, motion: await loadBvhFile(file) };
  if (existsSync(SHARED_DATA)) {
    const files = await listBvhFiles([SHARED_DATA]);
    const pick = files.find((f) => f.includes('_walk_')) ?? files[0]!;
    return { name: path.basename(pick), motion: await loadBvhFile(pick) };
  }
  return { name: 'procedural walk (no ../shared/data found)', motion: walkerMotion({ frames: 150 }) };
}

function summary(label: string, scores: ClipScores): string {
  const peak = scores.frameScores.indexOf(scores.clip.maxFrameScore);
  const joints = topKJoints(scores.jointScores, CANONICAL_JOINTS.length, Math.max(0, peak), 3).map((j) => CANONICAL_JOINTS[j]);
  return [
    `${label.padEnd(10)} ${scoreStrip(scores.frameScores, scores.thresholds.frame)}`,
    `${''.padEnd(10)} sequence score ${scores.sequenceScore.toFixed(2)} (threshold ${scores.thresholds.sequence.toFixed(2)}), ` +
      `${(100 * scores.clip.fraction).toFixed(0)}% of frames over the frame threshold, ` +
      `${scores.clip.anomalous ? `\u001b[31mANOMALOUS\u001b[0m (${scores.clip.reason})` : 'normal'}; top joints at the peak (frame ${peak}): ${joints.join(', ')}`,
  ].join('\n');
}

export async function runDemo(scorer: MotionScorer, options: { file?: string; kind?: string; seed?: number }): Promise<string> {
  const kind = (options.kind ?? 'limbSwap') as AnomalyKind;
  if (!(ANOMALY_KINDS as readonly string[]).includes(kind)) throw new Error(`unknown anomaly kind '${kind}' (known: ${ANOMALY_KINDS.join(', ')})`);
  const clip = await demoClip(options.file);
  const injected = injectAnomaly(clip.motion, { kind, seed: options.seed ?? 3 });
  const [clean, corrupted] = await scorer.scoreClips([clip.motion, injected.motion]);
  const { label } = injected;
  return [
    `clip: ${clip.name}, ${clip.motion.frameCount} frames at ${scorer.fps} fps`,
    `injected: ${kind} (${ANOMALY_DESCRIPTIONS[kind]})`,
    `          frames ${label.startFrame}-${label.endFrame - 1}, joints ${label.joints.slice(0, 4).join(', ')}${label.joints.length > 4 ? ', ...' : ''}`,
    '',
    summary('clean', clean!),
    summary('corrupted', corrupted!),
    '',
    `Try another fault: motionguard demo --kind ${ANOMALY_KINDS.filter((k) => k !== kind).slice(0, 3).join('|')}|... (${ANOMALY_KINDS.length} kinds)`,
  ].join('\n');
}

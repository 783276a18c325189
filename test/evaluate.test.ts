import { beforeAll, describe, expect, it } from 'vitest';
import { fitPcaReconstruction, fitSpeedZScore } from '../src/eval/baselines.js';
import { evaluate, reportMarkdown, type EvaluationReport } from '../src/eval/evaluate.js';
import { initBackend } from '../src/model/backend.js';
import { loadModel } from '../src/model/model-dir.js';
import { MotionScorer } from '../src/model/scorer.js';
import { walkerMotion } from './fixtures/walker.js';

describe('held-out evaluation (shipped model, procedural clips)', () => {
  let report: EvaluationReport;

  beforeAll(async () => {
    await initBackend('wasm');
    const scorer = new MotionScorer(await loadModel());
    const heldOut = [0, 1, 2].map((i) => ({ name: `walk-${i}`, motion: walkerMotion({ frames: 100, cadence: 0.9 + 0.1 * i, heading: 50 * i }) }));
    const unseen = [{ name: 'fast', motion: walkerMotion({ frames: 90, cadence: 1.6 }) }];
    const training = [3, 4, 5, 6].map((i) => walkerMotion({ frames: 90, cadence: 0.8 + 0.1 * i, phase: i }));
    report = await evaluate({
      scorer,
      heldOut,
      unseen,
      baselines: [fitSpeedZScore(training), fitPcaReconstruction(training)],
      kinds: ['spikePop', 'boneStretch', 'limbSwap'],
    });
  });

  it('injects every kind into every held-out clip and scores them all', () => {
    expect(report.heldOutClips).toBe(3);
    expect(report.unseenClips).toBe(1);
    expect(report.anomalousClips).toBe(9);
    expect(report.perKind.map((k) => k.clips)).toEqual([3, 3, 3]);
  });

  it('reports ranking figures in [0, 1] for the model and each baseline', () => {
    for (const x of [report.clipAuc, report.frameAuc, report.recall, report.falsePositiveRate, report.clipAucVsUnseen]) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(1);
    }
    expect(Object.keys(report.baselines)).toEqual(['speed-zscore', 'pca-reconstruction']);
    // Physical faults this blatant are found whatever the motion: the rigid-bone prior alone ranks them first.
    expect(report.perKind.find((k) => k.kind === 'boneStretch')!.clipAuc).toBe(1);
  });

  it('renders a markdown table with a row per kind', () => {
    const md = reportMarkdown(report);
    expect(md).toMatch(/\| clip ROC AUC \(sequenceScore\) \|/);
    for (const kind of ['spikePop', 'boneStretch', 'limbSwap']) expect(md).toContain(`| ${kind} | 3 |`);
  });
});

import { describe, expect, it } from 'vitest';
import { alertOutcomes, type ReceivedAlert } from '../bench/alert-outcomes.js';
import { planAnomalies, shareOut, splitAvatars, spreadIndices } from '../bench/trial-plan.js';

const sentAt = (_avatar: string, seq: number): number => 1000 + (seq * 1000) / 30;

describe('bench alert outcomes', () => {
  const anomalies = [
    { avatar: 'a', kind: 'boneStretch', onsetSeq: 90, endSeq: 180 },
    { avatar: 'b', kind: 'limbSwap', onsetSeq: 120, endSeq: 210 },
    { avatar: 'c', kind: 'trackingJitter', onsetSeq: 100, endSeq: 190 },
  ];

  it('measures detection latency from the onset frame being sent to the start alert arriving', () => {
    const alerts: ReceivedAlert[] = [
      { avatar: 'a', state: 'start', seq: 99, receivedAtMs: sentAt('a', 90) + 420 },
      { avatar: 'n1', state: 'start', seq: 40, receivedAtMs: 2000 },
      { avatar: 'n1', state: 'end', seq: 120, receivedAtMs: 6000 },
      { avatar: 'n2', state: 'start', seq: 200, receivedAtMs: 9000 },
    ];
    const result = alertOutcomes(anomalies, alerts, sentAt);
    expect(result.anomalies[0]).toEqual({ avatar: 'a', kind: 'boneStretch', onsetSeq: 90, outcome: 'detected', latencyMs: 420, framesAfterOnset: 9 });
    expect(result.anomalies[1]!.outcome).toBe('missed');
    expect(result.falseStartsOnNormalAvatars).toBe(2);
    expect(result.falseStarts).toEqual([
      { avatar: 'n1', seq: 40 },
      { avatar: 'n2', seq: 200 },
    ]);
  });

  it('counts a start before the onset as a false alert and does not credit an episode already open at the onset', () => {
    const alerts: ReceivedAlert[] = [
      { avatar: 'b', state: 'start', seq: 60, receivedAtMs: 3000 },
      { avatar: 'c', state: 'start', seq: 30, receivedAtMs: 2000 },
      { avatar: 'c', state: 'end', seq: 95, receivedAtMs: 4200 },
      { avatar: 'c', state: 'start', seq: 104, receivedAtMs: sentAt('c', 100) + 300 },
    ];
    const result = alertOutcomes(anomalies, alerts, sentAt);
    expect(result.falseStartsBeforeOnset).toBe(2);
    expect(result.anomalies[1]!.outcome).toBe('already_alerting');
    expect(result.anomalies[1]!.latencyMs).toBeNull();
    // c's early episode ended before its onset: the later start is a detection.
    expect(result.anomalies[2]).toMatchObject({ outcome: 'detected', latencyMs: 300, framesAfterOnset: 4 });
  });
});

describe('bench trial plan', () => {
  it('spreads samples and splits avatars evenly over generator processes', () => {
    expect(spreadIndices(10, 3)).toEqual([1, 5, 8]);
    expect(spreadIndices(3, 10)).toEqual([0, 1, 2]);
    expect(spreadIndices(5, 0)).toEqual([]);
    expect(splitAvatars(2500, 1000)).toEqual([833, 833, 834]);
    expect(splitAvatars(10, 1000)).toEqual([10]);
    expect(splitAvatars(0, 1000)).toEqual([]);
  });

  it('plans a fraction of avatars with anomalies, kinds in turn, onsets within the window, reproducibly', () => {
    const options = { fraction: 0.1, kinds: ['trackingJitter', 'limbSwap'] as const, seconds: 3, severity: 1, earliestSeconds: 3, latestSeconds: 6, fps: 30, seed: 5 };
    const plan = planAnomalies(100, options);
    expect(plan.size).toBe(10);
    const specs = [...plan.values()];
    expect(specs.map((s) => s.kind).slice(0, 4)).toEqual(['trackingJitter', 'limbSwap', 'trackingJitter', 'limbSwap']);
    for (const s of specs) {
      expect(s.onsetSeq).toBeGreaterThanOrEqual(90);
      expect(s.onsetSeq).toBeLessThanOrEqual(180);
      expect(s.frames).toBe(90);
    }
    expect(planAnomalies(100, options)).toEqual(plan);
    expect(planAnomalies(1, options).size).toBe(0);
    expect(planAnomalies(2, options).size).toBe(1);
    expect(planAnomalies(100, { ...options, fraction: 0 }).size).toBe(0); // the false-alert trial
  });

  it('hands each generator its avatars, anomalies and latency samples with local indices', () => {
    const anomalies = planAnomalies(30, { fraction: 0.1, kinds: ['boneStretch'], seconds: 2, severity: 1, earliestSeconds: 3, latestSeconds: 4, fps: 30, seed: 1 });
    const shares = shareOut(30, 20, anomalies, 6);
    expect(shares.map((s) => s.avatars)).toEqual([15, 15]);
    expect(shares[1]!.first).toBe(15);
    expect(shares.flatMap((s) => s.anomalies.map((a) => s.first + a.avatarIndex)).sort((a, b) => a - b)).toEqual([...anomalies.keys()].sort((a, b) => a - b));
    expect(shares.reduce((n, s) => n + s.latencyAvatars.length, 0)).toBe(6);
    for (const s of shares) for (const i of [...s.latencyAvatars, ...s.anomalies.map((a) => a.avatarIndex)]) expect(i).toBeLessThan(s.avatars);
  });
});

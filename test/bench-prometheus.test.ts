import { describe, expect, it } from 'vitest';
import { counterDelta, histogram, histogramDelta, histogramQuantile, metricByLabel, metricSum, parsePrometheus } from '../bench/prometheus.js';
import { machineBusy, parseMachineStat, parseProcStat, parseProcStatus } from '../bench/proc.js';

const EXPOSITION = `# HELP motionguard_frames_dropped_total Frames that were never scored, by reason.
# TYPE motionguard_frames_dropped_total counter
motionguard_frames_dropped_total{reason="duplicate"} 0
motionguard_frames_dropped_total{reason="backlog"} 12
motionguard_frames_received_total{result="accepted"} 3000
motionguard_frames_received_total{result="rejected"} 2
# TYPE motionguard_frame_to_score_latency_seconds histogram
motionguard_frame_to_score_latency_seconds_bucket{le="0.05"} 10
motionguard_frame_to_score_latency_seconds_bucket{le="0.1"} 60
motionguard_frame_to_score_latency_seconds_bucket{le="0.2"} 99
motionguard_frame_to_score_latency_seconds_bucket{le="+Inf"} 100
motionguard_frame_to_score_latency_seconds_sum 9.5
motionguard_frame_to_score_latency_seconds_count 100
process_cpu_seconds_total 1.5 1700000000000
weird_label{path="a\\"b"} 1
`;

describe('bench Prometheus parsing', () => {
  const scrape = parsePrometheus(EXPOSITION);

  it('reads samples with labels, timestamps and escaped quotes', () => {
    expect(metricSum(scrape, 'motionguard_frames_received_total')).toBe(3002);
    expect(metricSum(scrape, 'motionguard_frames_received_total', { result: 'accepted' })).toBe(3000);
    expect(metricSum(scrape, 'process_cpu_seconds_total')).toBe(1.5);
    expect(scrape.find((s) => s.name === 'weird_label')!.labels.path).toBe('a"b');
    expect(metricSum(scrape, 'absent_metric')).toBe(0);
  });

  it('diffs counters by label between two scrapes', () => {
    const later = parsePrometheus(EXPOSITION.replace('reason="backlog"} 12', 'reason="backlog"} 20'));
    expect(counterDelta(metricByLabel(scrape, 'motionguard_frames_dropped_total', 'reason'), metricByLabel(later, 'motionguard_frames_dropped_total', 'reason'))).toEqual({ duplicate: 0, backlog: 8 });
    expect(counterDelta({}, { shutdown: 3 })).toEqual({ shutdown: 3 });
  });

  it('estimates histogram quantiles as histogram_quantile does, with the bucket bound as a guarantee', () => {
    const h = histogram(scrape, 'motionguard_frame_to_score_latency_seconds');
    expect(h.count).toBe(100);
    expect(h.buckets.at(-1)!.le).toBe(Infinity);
    const p50 = histogramQuantile(h, 0.5);
    expect(p50.upperBound).toBe(0.1);
    expect(p50.estimate).toBeCloseTo(0.05 + 0.05 * (40 / 50), 10);
    expect(histogramQuantile(h, 0.99).upperBound).toBe(0.2);
    // The last 1% lies in +Inf: only "above the highest bound" is known.
    expect(histogramQuantile(h, 1)).toEqual({ estimate: 0.2, upperBound: Infinity });
    expect(histogramQuantile({ buckets: [], sum: 0, count: 0 }, 0.5).estimate).toBeNaN();
  });

  it('takes the observations between two scrapes', () => {
    const before = histogram(scrape, 'motionguard_frame_to_score_latency_seconds');
    const after = histogram(
      parsePrometheus(EXPOSITION.replace('le="0.05"} 10', 'le="0.05"} 10').replace('le="0.1"} 60', 'le="0.1"} 60').replace('le="0.2"} 99', 'le="0.2"} 109').replace('le="+Inf"} 100', 'le="+Inf"} 110').replace('_count 100', '_count 110').replace('_sum 9.5', '_sum 11')),
      'motionguard_frame_to_score_latency_seconds',
    );
    const delta = histogramDelta(before, after);
    expect(delta.count).toBe(10);
    expect(delta.sum).toBeCloseTo(1.5);
    expect(histogramQuantile(delta, 0.5).upperBound).toBe(0.2);
  });
});

describe('bench /proc parsing', () => {
  it('reads utime + stime after the last parenthesis (command names may hold spaces and parentheses)', () => {
    const stat = '1234 (node (bench) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 1000000 5000 18446744073709551615';
    expect(parseProcStat(stat, 100).cpuSeconds).toBeCloseTo(3.0);
    expect(() => parseProcStat('garbage', 100)).toThrow();
  });

  it('reads resident memory, its peak and threads from status', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';
    expect(parseProcStatus(status)).toEqual({ rssBytes: 100 * 2 ** 20, peakRssBytes: 200 * 2 ** 20, threads: 11 });
  });

  it('counts idle and iowait as idle on the aggregate cpu line, and attributes busy time to others', () => {
    const a = parseMachineStat('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3\n', 100);
    const b = parseMachineStat('cpu  250 0 150 850 100 0 0 0 0 0\n', 100);
    expect(a).toEqual({ totalSeconds: 10, idleSeconds: 8 });
    // 2 s busy over 1 s of wall time = 2 cores; our own processes used 1.5 CPU s of it.
    expect(machineBusy(a, b, 1, 1.5)).toEqual({ busyCores: 2, otherCores: 0.5 });
    expect(machineBusy(a, b, 1, 5).otherCores).toBe(0);
  });
});

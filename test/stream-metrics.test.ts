import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../src/stream/metrics.js';
import { ERROR_CODES } from '../src/stream/protocol.js';

interface Panel {
  type: string;
  datasource?: { uid: string };
  targets?: { expr: string }[];
}

describe('metrics', () => {
  it('names every own metric motionguard_*, in base units, counters ending in _total', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const all = await metrics.registry.getMetricsAsJSON();
    expect(all.length).toBeGreaterThan(15);
    for (const m of all) {
      expect(m.name).toMatch(/^motionguard_[a-z_]+$/);
      if (String(m.type) === 'counter') expect(m.name).toMatch(/_total$/);
      if (/latency|duration/.test(m.name)) expect(m.name).toMatch(/_seconds$/);
    }
  });

  it('starts every fixed label value at zero, so dashboards see it before it happens', async () => {
    const text = await new Metrics({ defaultMetrics: false }).text();
    for (const code of ERROR_CODES) expect(text).toContain(`motionguard_protocol_errors_total{code="${code}"} 0`);
    expect(text).toContain('motionguard_ticks_total{result="coalesced"} 0');
    expect(text).toContain('motionguard_frames_received_total{result="accepted"} 0');
    expect(text).toContain('motionguard_frames_dropped_total{reason="backlog"} 0');
    expect(text).toContain('motionguard_alerts_total{state="start"} 0');
  });

  it('adds the standard process and Node.js metrics by default', async () => {
    const text = await new Metrics().text();
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
  });

  it('the Grafana dashboard is valid JSON with a Prometheus data source variable and only queries metrics that exist', async () => {
    const dashboard = JSON.parse(await readFile('deploy/grafana/motionguard.json', 'utf8')) as {
      title: string;
      panels: Panel[];
      templating: { list: { name: string; type: string; query: unknown }[] };
    };
    expect(dashboard.title).toBe('motionguard');
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const exported = new Set(
      (await new Metrics().registry.getMetricsAsJSON()).flatMap((m) => (String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])),
    );
    const queried = new Set<string>();
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid).toBe('${datasource}');
      for (const target of panel.targets ?? []) {
        for (const name of target.expr.match(/\b(?:motionguard|process|nodejs)_[a-z0-9_]+/g) ?? []) queried.add(name);
      }
    }
    expect(queried.size).toBeGreaterThan(15);
    for (const name of queried) expect(exported, name).toContain(name);
    // Every own metric appears on the dashboard.
    const own = [...exported].filter((n) => n.startsWith('motionguard_') && !/_(sum|count)$/.test(n));
    for (const name of own) expect([...queried].some((q) => q === name || q.startsWith(`${name.replace(/_bucket$/, '')}_`)), name).toBe(true);
  });
});

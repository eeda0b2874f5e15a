import type { HealthReport } from '../health.js';
import type { Metrics } from '../metrics.js';
import type { LogRing } from './log-ring.js';

export interface OverviewSource {
  health(): HealthReport;
  gateway: { id?: string; site?: string };
  metrics: Metrics;
  /** The oldest reading still in the buffer, if any. */
  oldestReading(): { ts: number; seq: number } | undefined;
  /** The last log lines, for each plugin's last problem (kept after it recovered). */
  logRing?: LogRing;
}

/**
 * What the console's overview shows, built once per tick of the live stream: /health (plugins,
 * buffer, fleet link) plus the gateway's name, the oldest reading, and each plugin's calls per
 * second since the previous tick (from the same counters /metrics serves).
 */
export class Overview {
  private previous: { at: number; calls: Map<string, number> } | undefined;
  /** When the fleet link's acknowledged seq last moved, as seen by this stream (null: not since it started). */
  private fleetAcked: { seq: unknown; at: number | null } | undefined;

  constructor(private readonly source: OverviewSource) {}

  snapshot(now = Date.now()): Record<string, unknown> {
    const health = this.source.health();
    const calls = callsByPlugin(this.source.metrics);
    const rates: Record<string, number> = {};
    if (this.previous) {
      const seconds = Math.max((now - this.previous.at) / 1000, 0.001);
      for (const [plugin, total] of calls) rates[plugin] = Math.max(0, Math.round(((total - (this.previous.calls.get(plugin) ?? 0)) / seconds) * 10) / 10);
    }
    this.previous = { at: now, calls };
    const plugins = Object.fromEntries(Object.entries(health.plugins).map(([name, p]) => {
      const problem = this.source.logRing?.lastProblem(name);
      const last_problem = problem && { time: problem.time, level: problem.level, msg: problem.msg, ...(typeof problem.fields.err === 'string' ? { err: problem.fields.err } : {}), ...(problem.fields.exit !== undefined ? { exit: problem.fields.exit } : {}) };
      return [name, { ...p, calls: calls.get(name) ?? 0, calls_per_s: rates[name] ?? 0, ...(last_problem ? { last_problem } : {}) }];
    }));
    const oldest = this.source.oldestReading();
    const fleet = health.fleet as { acked_seq?: unknown } | undefined;
    if (fleet) {
      if (!this.fleetAcked) this.fleetAcked = { seq: fleet.acked_seq, at: null };
      else if (fleet.acked_seq !== this.fleetAcked.seq) this.fleetAcked = { seq: fleet.acked_seq, at: now };
    }
    return {
      ...health,
      ts: now,
      gateway: this.source.gateway,
      plugins,
      ...(fleet ? { fleet: { ...fleet, last_delivery_ts: this.fleetAcked!.at } } : {}),
      ...(health.buffer ? { buffer: { ...(health.buffer as object), oldest_ts: oldest?.ts ?? null } } : {}),
    };
  }
}

function callsByPlugin(metrics: Metrics): Map<string, number> {
  const totals = new Map<string, number>();
  for (const { labels, value } of metrics.pluginCalls.get().values) {
    const plugin = String(labels.plugin);
    totals.set(plugin, (totals.get(plugin) ?? 0) + value);
  }
  return totals;
}

import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the per-request path. prom-client hashes the label values on every
 * observation (~1 µs each); these keep one child per label set, update plain numbers (~20 ns), and
 * render the same Prometheus series at scrape time through prom-client's registry.
 */
interface MetricValue { labels: Record<string, string | number>; value: number; metricName?: string }

abstract class HotMetric<Child> {
  protected readonly children = new Map<string, { labels: Record<string, string>; child: Child }>();

  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'histogram', private readonly labelNames: readonly string[], registry: Registry) {
    registry.registerMetric(this as never);
  }

  /** The child for these label values, created once and reused. */
  labels(...values: string[]): Child {
    const key = values.join('\u0000');
    let entry = this.children.get(key);
    if (!entry) {
      entry = { labels: Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]])), child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  protected abstract create(): Child;
  protected abstract values(): MetricValue[];

  get() {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: 'sum' as const };
  }

  reset(): void {
    this.children.clear();
  }
}

export class HotCounter extends HotMetric<{ inc(n?: number): void; value: number }> {
  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    super(name, help, 'counter', labelNames, registry);
  }

  protected create() {
    return { value: 0, inc(n = 1) { this.value += n; } };
  }

  protected values(): MetricValue[] {
    return [...this.children.values()].map(({ labels, child }) => ({ labels, value: child.value }));
  }
}

export class HotHistogram extends HotMetric<{ observe(seconds: number): void }> {
  constructor(name: string, help: string, labelNames: readonly string[], private readonly buckets: readonly number[], registry: Registry) {
    super(name, help, 'histogram', labelNames, registry);
  }

  protected create() {
    const counts = new Float64Array(this.buckets.length);
    const buckets = this.buckets;
    const child = {
      counts, sum: 0, count: 0,
      observe(seconds: number) {
        child.sum += seconds;
        child.count++;
        for (let i = 0; i < buckets.length; i++) if (seconds <= buckets[i]) { counts[i]++; break; }
      },
    };
    return child;
  }

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    for (const { labels, child } of this.children.values()) {
      const c = child as unknown as { counts: Float64Array; sum: number; count: number };
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += c.counts[i];
        out.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: cumulative });
      });
      out.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: c.count });
      out.push({ metricName: `${this.name}_sum`, labels, value: c.sum });
      out.push({ metricName: `${this.name}_count`, labels, value: c.count });
    }
    return out;
  }
}

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.js';

/**
 * The gateway's Prometheus metrics, one registry per gateway instance (tests run several in one
 * process). Other parts (buffer, uplinks) register their own metrics on `registry`.
 */
export class Metrics {
  readonly registry = new Registry();

  // The per-request metrics: hot-path implementations, same series.
  readonly httpDuration = new HotHistogram('backworks_http_request_duration_seconds',
    'Latency of configured endpoints, by endpoint, method and status', ['endpoint', 'method', 'status'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], this.registry);

  readonly pluginCalls = new HotCounter('backworks_plugin_calls_total',
    'Calls into plugins, by plugin and call', ['plugin', 'call'], this.registry);

  readonly pluginDuration = new HotHistogram('backworks_plugin_call_duration_seconds',
    'Latency of plugin calls, by plugin and call', ['plugin', 'call'],
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], this.registry);

  readonly pluginErrors = new Counter({
    name: 'backworks_plugin_errors_total',
    help: 'Failed plugin calls, by plugin, call and kind (error, timeout, unavailable)',
    labelNames: ['plugin', 'call', 'kind'] as const,
    registers: [this.registry],
  });

  readonly breakerState = new Gauge({
    name: 'backworks_plugin_breaker_state',
    help: 'Circuit breaker state per plugin: 0 closed, 1 half-open, 2 open',
    labelNames: ['plugin'] as const,
    registers: [this.registry],
  });

  readonly pluginRestarts = new Gauge({
    name: 'backworks_plugin_restarts',
    help: 'Times the plugin host process was restarted since the service started',
    labelNames: ['plugin'] as const,
    registers: [this.registry],
  });

  readonly pluginUp = new Gauge({
    name: 'backworks_plugin_up',
    help: '1 when the plugin can take calls, 0 when it is failed, restarting or quarantined',
    labelNames: ['plugin'] as const,
    registers: [this.registry],
  });

  readonly readingsEmitted = new HotCounter('backworks_readings_emitted_total', 'Readings emitted by connector plugins', ['plugin'], this.registry);

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'backworks_' });
  }
}

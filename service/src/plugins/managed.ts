import { performance } from 'node:perf_hooks';
import { answeredStatus, type PluginHealth } from '../../../sdk/typescript/index.js';
import { BackworksError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { BREAKER_GAUGE, CircuitBreaker } from './breaker.js';
import { DeadlineExceeded, settleWithin } from './deadline.js';
import type { PluginDriver } from './driver.js';

export type PluginState = 'starting' | 'running' | 'failed' | 'stopped';

export interface ManagedSettings {
  critical: boolean;
  timeoutMs: number;
  failureThreshold: number;
  recoveryMs: number;
}

/** What /health and the fleet link show for one plugin. */
export interface PluginStatus {
  name: string;
  status: PluginHealth['status'];
  state: string;
  critical: boolean;
  breaker: CircuitBreaker['state'];
  consecutive_failures: number;
  restarts: number;
  /** A quarantined native plugin's next probe (ISO time). */
  next_probe_at?: string;
  /** Why a native plugin's host last stopped. */
  last_reason?: string;
  message?: string;
  details?: Record<string, unknown>;
}

/**
 * Whether an error a call ended with means the plugin failed, which the circuit breaker counts (the
 * contract of sdk/c/backworks_plugin.h, STATUS CODES). A status the plugin chose (4xx, 5xx but 500)
 * is its answer; so is the host refusing what it handed over (the buffer on a full disk): neither
 * says anything about the plugin's health.
 */
function isPluginFailure(err: unknown): boolean {
  if (answeredStatus(err) !== undefined) return false;
  if (err instanceof BackworksError) return err.status >= 500 && err.code !== 'BW_ERR_BUFFER_REFUSED';
  return true;
}

/**
 * One plugin under supervision: every call goes through `invoke`, which applies availability,
 * the circuit breaker, the deadline and the metrics, whatever kind of driver is underneath.
 */
export class ManagedPlugin {
  state: PluginState = 'starting';
  lastHealth: PluginHealth = { status: 'healthy' };
  failure?: string;
  readonly breaker: CircuitBreaker;
  /** Calls in progress; a replaced instance is shut down only once they have finished. */
  private inflight = 0;
  private drained?: () => void;

  constructor(
    readonly name: string,
    readonly driver: PluginDriver,
    readonly settings: ManagedSettings,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.breaker = new CircuitBreaker(settings.failureThreshold, settings.recoveryMs, (state) => {
      metrics.breakerState.labels(name).set(BREAKER_GAUGE[state]);
      this.log.warn({ plugin: name, breaker: state }, `circuit breaker ${state}`);
    });
    metrics.breakerState.labels(name).set(0);
  }

  has(capability: string): boolean {
    return this.driver.metadata.capabilities.includes(capability as never);
  }

  /** One call into the plugin, as a promise. */
  invoke<T>(call: string, work: () => T | Promise<T>, timeoutMs = this.settings.timeoutMs): Promise<T> {
    return new Promise<T>((resolve, reject) => this.run(call, work, timeoutMs, resolve, reject));
  }

  /**
   * One call into the plugin: `onValue` or `onError` runs once with the outcome (the error the
   * caller sees). Neither may throw. Callbacks rather than a promise because this is on every
   * request, and each promise a caller awaits is one more microtask; a plugin that answers
   * synchronously is answered synchronously. `started` is the caller's clock reading when it has
   * just taken one (a clock read costs as much as the breaker).
   */
  run<T>(call: string, work: () => T | Promise<T>, timeoutMs: number, onValue: (value: T) => void, onError: (err: unknown) => void,
    started = performance.now()): void {
    const refused = this.refusal(call);
    if (refused) { onError(refused); return; }
    const { calls, duration } = this.callMetrics(call);
    calls.inc();
    this.inflight++;
    let pending: T | Promise<T>;
    try {
      pending = work();
    } catch (err) {
      onError(this.settle(call, started, duration, err, timeoutMs));
      return;
    }
    if (!(pending instanceof Promise)) {
      this.settle(call, started, duration);
      onValue(pending);
      return;
    }
    settleWithin(pending, timeoutMs,
      (result) => { this.settle(call, started, duration); onValue(result); },
      (err) => onError(this.settle(call, started, duration, err, timeoutMs)));
  }

  /** Why a call cannot go in now (failed, restarting, circuit open), or undefined. */
  private refusal(call: string): BackworksError | undefined {
    let reason: string | undefined;
    if (this.state === 'starting') {
      this.metrics.pluginErrors.labels(this.name, call, 'unavailable').inc();
      return new BackworksError('BW_ERR_PLUGIN_STARTING', this.name);
    }
    if (this.state !== 'running') reason = this.state === 'failed' ? `failed: ${this.failure}` : this.state;
    else {
      const availability = this.driver.availability?.();
      if (availability && !availability.available) reason = availability.message ?? availability.state;
      else if (!this.breaker.allow()) reason = `circuit open, next probe in ${Math.ceil(this.breaker.retryInMs() / 1000)}s`;
    }
    if (reason === undefined) return undefined;
    this.metrics.pluginErrors.labels(this.name, call, 'unavailable').inc();
    return new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', this.name, reason);
  }

  /**
   * Books a finished call: latency, in-flight count, breaker. With an error (the 4th argument),
   * returns the error the caller sees. A plugin's own answer (see isPluginFailure) is a success
   * for the breaker and reaches the caller as it is.
   */
  private settle(call: string, started: number, duration: { observe(s: number): void }, ...failure: [unknown, number] | []): unknown {
    duration.observe((performance.now() - started) / 1000);
    if (--this.inflight === 0) this.drained?.();
    if (failure.length === 0) { this.breaker.success(); return undefined; }
    const [err, timeoutMs] = failure;
    if (!isPluginFailure(err)) { this.breaker.success(); return err; }
    this.breaker.failure();
    if (err instanceof DeadlineExceeded) {
      this.metrics.pluginErrors.labels(this.name, call, 'timeout').inc();
      this.driver.abandon?.(call);
      return new BackworksError('BW_ERR_PLUGIN_TIMEOUT', this.name, timeoutMs, call);
    }
    this.metrics.pluginErrors.labels(this.name, call, 'error').inc();
    if (err instanceof BackworksError) return err;
    return new BackworksError('BW_ERR_PLUGIN_FAILED', this.name, call, (err as Error)?.message ?? String(err));
  }

  /** Resolves when no call is in progress, or after `timeoutMs`; returns whether it drained. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.drained = undefined; resolve(false); }, timeoutMs);
      this.drained = () => { clearTimeout(timer); this.drained = undefined; resolve(true); };
    });
  }

  /** prom-client label lookups cost more than the increments: keep the children per call. */
  private readonly perCall = new Map<string, { calls: ReturnType<Metrics['pluginCalls']['labels']>; duration: ReturnType<Metrics['pluginDuration']['labels']> }>();
  private callMetrics(call: string) {
    let children = this.perCall.get(call);
    if (!children) {
      children = { calls: this.metrics.pluginCalls.labels(this.name, call), duration: this.metrics.pluginDuration.labels(this.name, call) };
      this.perCall.set(call, children);
    }
    return children;
  }

  /** Runs the plugin's health check through the breaker: after recovery_timeout it is the probe. */
  async checkHealth(): Promise<void> {
    if (this.state !== 'running') return;
    try {
      this.lastHealth = await this.invoke('health', () => this.driver.healthCheck());
    } catch (err) {
      this.lastHealth = { status: 'unhealthy', message: (err as Error).message };
    }
  }

  status(): PluginStatus {
    const availability = this.driver.availability?.();
    let status = this.lastHealth.status;
    let message = this.lastHealth.message;
    if (this.state !== 'running') { status = 'unhealthy'; message = this.failure ?? this.state; }
    else if (availability && !availability.available) { status = 'unhealthy'; message = availability.message ?? availability.state; }
    else if (this.breaker.state === 'open') { status = 'unhealthy'; message = 'circuit open'; }
    else if (this.breaker.state === 'half-open' && status === 'healthy') status = 'degraded';
    const restarts = availability?.restarts ?? 0;
    this.metrics.pluginUp.labels(this.name).set(status === 'unhealthy' ? 0 : 1);
    this.metrics.pluginRestarts.labels(this.name).set(restarts);
    return {
      name: this.name,
      status,
      state: this.state === 'running' && availability ? availability.state : this.state,
      critical: this.settings.critical,
      breaker: this.breaker.state,
      consecutive_failures: this.breaker.consecutiveFailures,
      restarts,
      ...(availability?.nextProbeAt ? { next_probe_at: new Date(availability.nextProbeAt).toISOString() } : {}),
      ...(availability?.lastReason ? { last_reason: availability.lastReason } : {}),
      ...(message ? { message } : {}),
      ...(this.lastHealth.details ? { details: this.lastHealth.details } : {}),
    };
  }
}

import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { EndpointAnswer, PluginRequest, PluginResponse, Reading } from '../../../sdk/typescript/index.js';
import type { PluginFindings } from '../config/load.js';
import { Value } from '@sinclair/typebox/value';
import { PluginSchema, type BackworksConfig, type PluginConfig } from '../config/schema.js';
import type { PluginTrustConfig } from '../config/sections/plugin-trust.js';
import { parseDuration, parseSize } from '../../../sdk/typescript/units.js';
import { BackworksError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { openTypeScriptPlugin } from './builtin.js';
import { bodyBytes, type PluginDriver } from './driver.js';
import { createHostContext, type HostServices } from './host-context.js';
import { ManagedPlugin, type PluginStatus } from './managed.js';
import { runAfterResponse, runBeforeRequest } from './hooks.js';
import { LifecycleQueue } from './lifecycle.js';

export interface ManagerOptions {
  log: Logger;
  metrics: Metrics;
  services: HostServices;
  /** Folder of backworks.yaml: plugin paths are relative to it. */
  configDir: string;
  stateDir: string;
  healthIntervalMs: number;
  /** plugin_trust: which native libraries may be opened; a reload replaces it (useTrust). */
  trust?: PluginTrustConfig;
}

/** A plugin's entry with the schema's defaults filled in: the schema is the one place a default is written. */
type PluginEntry = PluginConfig & Required<Pick<PluginConfig, 'timeout' | 'init_timeout' | 'failure_threshold' | 'recovery_timeout' | 'isolation' | 'critical'>>
  & { restart: Required<NonNullable<PluginConfig['restart']>> };

/** Every entry passes here, however it came (a loaded file, a reload, a test's attach). */
function withDefaults(entry: PluginConfig): PluginEntry {
  return Value.Default(PluginSchema, structuredClone(entry)) as PluginEntry;
}

const SHUTDOWN_DEADLINE_MS = 5_000;

/**
 * Loads the configured plugins, keeps them under supervision and routes calls: endpoint chains,
 * hooks, health, writes. Plugins start all at once, each under its own initialize deadline; one
 * that cannot start is `failed` with its reason and the others run.
 */
export class PluginManager {
  /**
   * Every job that creates or ends instances runs through this queue (start, reconcile, and the
   * gateway's reload, plugin-restart and shutdown), one at a time.
   */
  readonly lifecycle = new LifecycleQueue();
  /** Resolves once every plugin of start() is running or failed. */
  settled: Promise<void> = Promise.resolve();
  /** Libraries found by discovery and plugins refused by the deep checks, from the config last applied. */
  private findings: PluginFindings = {};
  /** Drivers in their initialize: stop() ends them rather than wait for their deadline. */
  private readonly initializing = new Set<PluginDriver>();
  private stopping = false;
  private reconciles = 0;
  /** In declared order: the order of the endpoint chain and of before_request hooks. Swapped whole on reload. */
  private current = new Map<string, ManagedPlugin>();
  /** The config each running plugin was started with, to tell on reload what changed. */
  private readonly entries = new Map<string, PluginEntry>();
  /** Device name -> name of the plugin that emitted it (a name, so a replaced instance takes over). */
  private readonly deviceOwners = new Map<string, string>();
  private beforeHooks: ManagedPlugin[] = [];
  private afterHooks: ManagedPlugin[] = [];
  private healthTimer?: NodeJS.Timeout;
  /** When the last health sweep finished (Date.now()): the systemd watchdog's sign that supervision runs. */
  lastHealthSweepAt = 0;

  constructor(private readonly options: ManagerOptions) {}

  get healthIntervalMs(): number {
    return this.options.healthIntervalMs;
  }

  /** Applies to plugins opened from now on; running plugins were checked when they were opened. */
  useTrust(trust: PluginTrustConfig | undefined): void {
    this.options.trust = trust;
  }

  get hasHooks(): boolean {
    return this.beforeHooks.length > 0 || this.afterHooks.length > 0 || this.criticalStarting;
  }

  /**
   * Starts every enabled plugin at once. Until its instance is up, a plugin is registered as
   * `starting` (calls answer 503 BW_ERR_PLUGIN_STARTING); then it is `running` or `failed` with its
   * reason. Resolves (also as `settled`) once every plugin is one or the other.
   */
  start(plugins: BackworksConfig['plugins'] = {}, findings: PluginFindings = {}): Promise<void> {
    this.findings = findings;
    const starts: Array<Promise<void>> = [];
    for (const [name, given] of Object.entries(plugins)) {
      if (given.enabled === false) continue;
      const entry = withDefaults(given);
      const placeholder = this.register(name, entry, this.placeholder(name, entry));
      if (entry.critical) this.holding.add(name);
      const opened = (driver: PluginDriver) => {
        if (!driver.metadata.capabilities.includes('before_request')) this.release(name);
      };
      starts.push(this.create(name, entry, opened).then((plugin) => this.replacePlaceholder(placeholder, plugin)));
    }
    this.criticalStarting = this.holding.size > 0;
    this.healthTimer = setInterval(() => void this.checkHealth(), this.options.healthIntervalMs);
    this.healthTimer.unref();
    this.settled = this.lifecycle.run('start', async () => {
      await Promise.all(starts);
      await this.checkHealth();
    });
    return this.settled;
  }

  /** A plugin's instance is up (or failed): it takes the place its placeholder held in the order. */
  private async replacePlaceholder(placeholder: ManagedPlugin, plugin: ManagedPlugin): Promise<void> {
    if (this.current.get(plugin.name) !== placeholder) { await this.shutdown(plugin); return; }
    this.current.set(plugin.name, plugin);
    this.release(plugin.name);
    this.indexHooks();
  }

  private release(name: string): void {
    this.holding.delete(name);
    this.criticalStarting = this.holding.size > 0;
  }

  /** Registers and initializes an opened driver (tests attach their own TypeScript plugins here). */
  async attach(name: string, driver: PluginDriver, given: PluginConfig): Promise<ManagedPlugin> {
    const entry = withDefaults(given);
    return this.register(name, entry, await this.initialize(name, driver, entry));
  }

  get plugins(): ReadonlyMap<string, ManagedPlugin> {
    return this.current;
  }

  /**
   * Applies a new `plugins:` section without a restart. Unchanged plugins are not touched. A changed
   * plugin starts anew beside the old one, must come up healthy, takes over, and only then is the old
   * instance drained and shut down (see takeOver for one that cannot start beside it; when the new
   * one is unhealthy the old config keeps running). New plugins, and failed ones, start; removed
   * ones are drained and shut down. `force` replaces the named plugins even when their config is
   * unchanged (a restart on request). Runs in the lifecycle queue.
   */
  reconcile(next: BackworksConfig['plugins'] = {}, force: ReadonlySet<string> = new Set(), findings?: PluginFindings): Promise<ReconcileReport> {
    return this.lifecycle.run(`reconcile ${++this.reconciles}`, () => this.applyReconcile(next, force, findings));
  }

  /** reconcile, for a job already in the lifecycle queue (the gateway's reload and plugin-restart). */
  async applyReconcile(next: BackworksConfig['plugins'] = {}, force: ReadonlySet<string> = new Set(), findings?: PluginFindings): Promise<ReconcileReport> {
    if (findings) this.findings = findings;
    const report: ReconcileReport = { kept: [], started: [], replaced: [], removed: [], refused: [] };
    const order = new Map<string, ManagedPlugin>();
    const retired: ManagedPlugin[] = [];
    for (const [name, given] of Object.entries(next)) {
      if (given.enabled === false) continue;
      const entry = withDefaults(given);
      const running = this.current.get(name);
      // A failed plugin is tried again: its library or its device may have been fixed since.
      if (running && running.state !== 'failed' && !force.has(name) && isDeepStrictEqual(this.entries.get(name), entry)) {
        order.set(name, running);
        report.kept.push(name);
        continue;
      }
      if (!running || running.state === 'failed') {
        order.set(name, await this.create(name, entry));
        if (running) retired.push(running);
        this.entries.set(name, entry);
        report.started.push(name);
        continue;
      }
      const { plugin, refused, oldRetired } = await this.takeOver(name, running, entry);
      order.set(name, plugin);
      if (refused !== undefined) { report.refused.push({ name, reason: refused }); continue; }
      if (!oldRetired) retired.push(running);
      this.entries.set(name, entry);
      report.replaced.push(name);
    }
    for (const [name, plugin] of this.current) {
      if (!order.has(name)) { retired.push(plugin); report.removed.push(name); this.entries.delete(name); }
    }
    this.current = order;
    this.indexHooks();
    await Promise.all(retired.map((p) => this.retire(p)));
    return report;
  }

  /**
   * A changed plugin's new instance must come up healthy beside the old one. One that cannot
   * (it needs what the old one holds: a listening port, a locked serial line) gets a second try in
   * place of it: the old instance is retired first, and when the new one still fails, the old
   * config is started again. A bad edit then costs that plugin a restart, never its service.
   */
  private async takeOver(name: string, running: ManagedPlugin, entry: PluginEntry): Promise<{ plugin: ManagedPlugin; refused?: string; oldRetired: boolean }> {
    // The new entry's library or config is refused by the checks: the old instance stays untouched.
    const problem = this.findings.problems?.get(name);
    if (problem !== undefined) {
      this.options.log.error({ plugin: name, reason: problem }, 'the changed plugin does not pass its checks: the old config keeps running');
      return { plugin: running, refused: problem, oldRetired: false };
    }
    const beside = await this.create(name, entry);
    if (await this.comesUp(beside) === undefined) return { plugin: beside, oldRetired: false };
    await this.retire(beside);
    this.options.log.warn({ plugin: name }, 'the new instance cannot start beside the old one: stopping the old one and trying again');
    await this.retire(running);
    const inPlace = await this.create(name, entry);
    const refused = await this.comesUp(inPlace);
    if (refused === undefined) return { plugin: inPlace, oldRetired: true };
    await this.retire(inPlace);
    this.options.log.error({ plugin: name, reason: refused }, 'the changed plugin does not start: the old config runs again');
    return { plugin: await this.create(name, this.entries.get(name)!), refused, oldRetired: true };
  }

  /** Checks a new instance's health: undefined when it is up, else why not. */
  private async comesUp(plugin: ManagedPlugin): Promise<string | undefined> {
    await plugin.checkHealth();
    const status = plugin.status();
    return status.status === 'unhealthy' ? status.message ?? 'unhealthy' : undefined;
  }

  private register(name: string, entry: PluginEntry, plugin: ManagedPlugin): ManagedPlugin {
    this.current.set(name, plugin);
    this.entries.set(name, entry);
    this.indexHooks();
    return plugin;
  }

  /** Opens and initializes a plugin that is not registered yet; one that cannot start is `failed` with why. */
  private async create(name: string, entry: PluginEntry, opened?: (driver: PluginDriver) => void): Promise<ManagedPlugin> {
    const timeoutMs = parseDuration(entry.timeout);
    const refused = this.findings.problems?.get(name);
    if (refused !== undefined) return this.failed(name, entry, refused);
    let driver: PluginDriver;
    try {
      driver = await this.open(name, entry, timeoutMs);
    } catch (err) {
      return this.failed(name, entry, (err as Error).message);
    }
    opened?.(driver);
    return this.initialize(name, driver, entry);
  }

  private failed(name: string, entry: PluginEntry, reason: string): ManagedPlugin {
    this.options.log.error({ plugin: name, err: reason }, 'plugin could not be loaded; the others run without it');
    const plugin = new ManagedPlugin(name, unloadable(name, reason), this.settings(entry, parseDuration(entry.timeout)), this.options.metrics, this.options.log);
    plugin.state = 'failed';
    plugin.failure = reason;
    return plugin;
  }

  /** Stands in for a plugin until its instance is up: no capabilities yet, calls answer "starting". */
  private placeholder(name: string, entry: PluginEntry): ManagedPlugin {
    return new ManagedPlugin(name, unloadable(name, 'starting'), this.settings(entry, parseDuration(entry.timeout)), this.options.metrics, this.options.log);
  }

  private async initialize(name: string, driver: PluginDriver, entry: PluginEntry): Promise<ManagedPlugin> {
    const { log, metrics } = this.options;
    const timeoutMs = parseDuration(entry.timeout);
    const initMs = parseDuration(entry.init_timeout);
    const plugin = new ManagedPlugin(name, driver, this.settings(entry, timeoutMs), metrics, log);
    const host = createHostContext(name, this.options.services, log, this.options.stateDir, this.options.configDir, this.trackOwners(plugin));
    this.initializing.add(driver);
    try {
      if (this.stopping) throw new Error('the gateway is stopping');
      plugin.state = 'running';
      await plugin.invoke('initialize', () => driver.initialize(entry.config ?? {}, host), initMs);
      log.info({ plugin: name, version: driver.metadata.version, capabilities: driver.metadata.capabilities }, 'plugin running');
    } catch (err) {
      plugin.state = 'failed';
      plugin.failure = (err as { code?: string }).code === 'BW_ERR_PLUGIN_TIMEOUT'
        ? `initialize did not finish within init_timeout (${entry.init_timeout})`
        : (err as Error).message;
      log.error({ plugin: name, err: plugin.failure }, 'plugin failed to initialize; the others run without it');
      // Whatever the driver still runs for it (a host, a retry) ends here.
      await settleWithin(driver.shutdown(), SHUTDOWN_DEADLINE_MS);
    } finally {
      this.initializing.delete(driver);
    }
    return plugin;
  }

  /** Lets calls in progress finish (up to the plugin's deadline), then shuts the instance down. */
  private async retire(plugin: ManagedPlugin): Promise<void> {
    await plugin.drain(plugin.settings.timeoutMs);
    await this.shutdown(plugin);
  }

  private async shutdown(plugin: ManagedPlugin): Promise<void> {
    if (plugin.state === 'running') {
      try {
        await plugin.invoke('shutdown', () => plugin.driver.shutdown(), SHUTDOWN_DEADLINE_MS);
      } catch (err) {
        this.options.log.warn({ plugin: plugin.name, err: (err as Error).message }, 'plugin did not shut down cleanly');
      }
    }
    plugin.state = 'stopped';
  }

  private async open(name: string, entry: PluginEntry, timeoutMs: number): Promise<PluginDriver> {
    if (entry.type === 'builtin') return openTypeScriptPlugin({ pack: entry.pack! });
    if (entry.type === 'typescript') return openTypeScriptPlugin({ module: path.resolve(this.options.configDir, entry.module!) });
    const { openNativePlugin } = await import('./native/index.js');
    const restart = entry.restart;
    const library = entry.path !== undefined ? path.resolve(this.options.configDir, entry.path) : this.findings.libraries?.get(name);
    if (library === undefined) throw new BackworksError('BW_ERR_PLUGIN_LOAD', name, 'no "path:" and no library of that name in plugin_discovery.directories');
    return openNativePlugin(name, {
      path: library,
      workingDir: this.options.configDir,
      isolation: entry.isolation,
      timeoutMs,
      initTimeoutMs: parseDuration(entry.init_timeout),
      limits: {
        memory: entry.limits?.memory ? parseSize(entry.limits.memory) : undefined,
        concurrency: entry.limits?.concurrency,
      },
      restart: {
        backoffMs: parseDuration(restart.backoff),
        maxBackoffMs: parseDuration(restart.max_backoff),
        maxCrashes: restart.max_crashes,
        windowMs: parseDuration(restart.window),
      },
    }, {
      log: this.options.log.child({ plugin: name }),
      stateDir: path.join(this.options.stateDir, 'plugins', name),
      trust: { config: this.options.trust, stateDir: this.options.stateDir },
    });
  }

  private settings(entry: PluginEntry, timeoutMs: number) {
    return {
      critical: entry.critical,
      timeoutMs,
      failureThreshold: entry.failure_threshold,
      recoveryMs: parseDuration(entry.recovery_timeout),
    };
  }

  /** Readings tell the manager which plugin owns which device, so writes find their way back. */
  private trackOwners(plugin: ManagedPlugin): (readings: Reading[]) => void {
    const emitted = this.options.metrics.readingsEmitted.labels(plugin.name);
    return (readings) => {
      for (const r of readings) if (this.deviceOwners.get(r.device) !== plugin.name) this.deviceOwners.set(r.device, plugin.name);
      emitted.inc(readings.length);
    };
  }

  /** Critical plugins starting whose hooks may guard requests (see beforeRequest). */
  private readonly holding = new Set<string>();
  /** Requests then go the hooks' way, which holds them off. */
  private criticalStarting = false;

  private indexHooks(): void {
    const running = [...this.current.values()];
    this.beforeHooks = running.filter((p) => p.has('before_request'));
    this.afterHooks = running.filter((p) => p.has('after_response')).reverse();
  }

  get(name: string): ManagedPlugin | undefined {
    return this.current.get(name);
  }

  /** A call to one named plugin (an endpoint with `plugin:`). */
  call(name: string, request: PluginRequest, timeoutMs?: number): Promise<EndpointAnswer> {
    return new Promise((resolve, reject) => this.callThen(name, request, timeoutMs, resolve, reject));
  }

  /**
   * `call` for the per-request path: the answer or the error goes to a callback, no promise.
   * `started`: the caller's clock reading, shared with the plugin's latency (see ManagedPlugin.run).
   */
  callThen(name: string, request: PluginRequest, timeoutMs: number | undefined,
    onValue: (answer: EndpointAnswer) => void, onError: (err: unknown) => void, started?: number): void {
    const plugin = this.current.get(name);
    if (!plugin) { onError(new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', name, 'not configured')); return; }
    plugin.run('process_endpoint_data', () => plugin.driver.processEndpointData(request.path, request.method, bodyBytes(request.body), request),
      timeoutMs ?? plugin.settings.timeoutMs, onValue, onError, started);
  }

  /**
   * The chain: plugins asked in declared order; the first answer that is not None wins.
   * While a plugin is still starting, "no answer" is not known yet: 503 starting, not 404.
   */
  async chain(request: PluginRequest, timeoutMs?: number): Promise<EndpointAnswer> {
    let starting: string | undefined;
    for (const plugin of this.current.values()) {
      if (plugin.state === 'starting') starting ??= plugin.name;
      if (!plugin.has('endpoint') || plugin.state !== 'running') continue;
      const answer = await plugin.invoke('process_endpoint_data',
        () => plugin.driver.processEndpointData(request.path, request.method, bodyBytes(request.body), request), timeoutMs);
      if (answer !== null && answer !== undefined) return answer;
    }
    if (starting !== undefined) throw new BackworksError('BW_ERR_PLUGIN_STARTING', starting);
    return null;
  }

  /**
   * A critical plugin still starting that has (or, before its descriptor is read, may have) a
   * before_request hook, an auth check say: no request passes before it is up.
   */
  beforeRequest(request: PluginRequest): Promise<void> {
    if (this.criticalStarting) return Promise.reject(new BackworksError('BW_ERR_PLUGIN_STARTING', [...this.holding][0]!));
    return runBeforeRequest(this.beforeHooks, request, this.options.log);
  }

  afterResponse(request: PluginRequest, response: PluginResponse): Promise<void> {
    return runAfterResponse(this.afterHooks, request, response, this.options.log);
  }

  async write(device: string, point: string, value: unknown): Promise<void> {
    const owner = this.current.get(this.deviceOwners.get(device) ?? '');
    if (!owner || !owner.has('write')) throw new BackworksError('BW_ERR_PLUGIN_NOT_WRITABLE', device);
    await owner.invoke('write', () => owner.driver.write(device, point, value));
  }

  async checkHealth(): Promise<void> {
    await Promise.all([...this.current.values()].map((p) => p.checkHealth()));
    this.lastHealthSweepAt = Date.now();
  }

  statuses(): PluginStatus[] {
    return [...this.current.values()].map((p) => p.status());
  }

  /**
   * The first step of a stop, before HTTP drains: plugins in their initialize are ended now (a
   * reload waiting for one would hold its request, and so the drain, until init_timeout), and none
   * starts any more.
   */
  endStarts(): void {
    this.stopping = true;
    for (const driver of this.initializing) void settleWithin(driver.shutdown(), SHUTDOWN_DEADLINE_MS);
  }

  /**
   * Shuts every plugin down, in reverse order, each within a deadline: the last lifecycle job.
   * It waits for the job in progress (whose instances it then stops too); plugins still in their
   * initialize are ended at once, jobs not yet begun are refused.
   */
  stop(): Promise<void> {
    clearInterval(this.healthTimer);
    this.endStarts();
    return this.lifecycle.close(async () => {
      for (const plugin of [...this.current.values()].reverse()) await this.shutdown(plugin);
    });
  }
}

export interface ReconcileReport {
  kept: string[];
  started: string[];
  replaced: string[];
  removed: string[];
  /** Changed plugins whose new instance was not healthy: the old one keeps running. */
  refused: Array<{ name: string; reason: string }>;
}

/** Stands in for a plugin whose library or module is not open, so it still shows in /health. */
function unloadable(name: string, reason: string): PluginDriver {
  const fail = async (): Promise<never> => { throw new BackworksError('BW_ERR_PLUGIN_LOAD', name, reason); };
  return {
    metadata: { name, version: 'unknown', description: '', capabilities: [] },
    initialize: fail, processEndpointData: fail, beforeRequest: fail, afterResponse: fail,
    healthCheck: fail, onConfigReload: fail, write: fail, shutdown: async () => {},
  };
}

/** Waits for `work` at most `ms`; its outcome does not matter (a shutdown that fails has ended too). */
function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(() => undefined, () => undefined),
    new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); }),
  ]).finally(() => clearTimeout(timer));
}

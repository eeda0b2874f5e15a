import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { BackworksError } from './errors.js';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig, type LoadedConfig } from './config/load.js';
import type { ConfigIssue } from '../../sdk/typescript/yaml.js';
import { parseDuration, parseSize } from '../../sdk/typescript/units.js';
import { overallStatus, type HealthReport } from './health.js';
import { EndpointRoutes } from './http/endpoints.js';
import { registerReservedRoutes } from './http/reserved.js';
import { createServer } from './http/server.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { packageVersion } from './paths.js';
import type { HostServices } from './plugins/host-context.js';
import { PluginManager, type ReconcileReport } from './plugins/manager.js';
import { openBufferFromConfig } from './buffer/from-config.js';
import type { DataBuffer } from './buffer/buffer.js';
import { apiDevices } from './http/api-devices.js';
import type { FleetLink } from './uplink/fleet-link.js';
import { startFleetLink } from './uplink/from-config.js';
import type { HealthStatus } from '../../sdk/typescript/index.js';
import { ControlPlane } from './auth/control-plane.js';
import { resolveTls, type TlsFiles } from './auth/tls.js';
import { consoleRoutes } from './console/routes.js';
import type { LogRing } from './console/log-ring.js';

export type ReloadResult =
  | { ok: true; plugins: ReconcileReport; endpoints: number; needsRestart: string[] }
  | { ok: false; issues: ConfigIssue[] };

/** Sections a running gateway cannot change in place: they take effect at the next start. */
const RESTART_ONLY = ['server', 'state_dir', 'storage', 'gateway', 'fleet', 'logging'] as const;

export interface GatewayOptions {
  log: Logger;
  /** Overrides server.port (`backworks run --port`); 0 picks a free port. */
  port?: number;
  host?: string;
  /** The last log lines, for the console (`backworks run` makes one). */
  logRing?: LogRing;
}

/** A section of /health contributed by another part; `status` other than healthy degrades the whole. */
export type HealthSource = () => { status?: HealthStatus } & Record<string, unknown>;

/**
 * Wires one running gateway together: config -> plugins -> HTTP. Storage opens first; plugins
 * start all at once while HTTP listens (an endpoint whose plugin is not up yet answers 503
 * starting); `settled` resolves once every plugin is running or failed. Stop is the reverse.
 */
export class Gateway {
  readonly metrics = new Metrics();
  readonly manager: PluginManager;
  readonly http: FastifyInstance;
  readonly stateDir: string;
  readonly services: HostServices;
  readonly buffer: DataBuffer;
  readonly controlPlane: ControlPlane;
  /** The certificate served, when HTTPS. */
  readonly tls: TlsFiles | undefined;
  fleet: FleetLink | undefined;
  private readonly endpoints: EndpointRoutes;
  /** Resolves once every plugin is running or failed ("plugins settled"); READY=1 waits for it. */
  settled: Promise<void> = Promise.resolve();
  private watcher: fs.FSWatcher | undefined;
  private readonly healthSources = new Map<string, HealthSource>();
  private readonly startedAt = Date.now();
  url = '';

  private constructor(public loaded: LoadedConfig, private readonly options: GatewayOptions) {
    const { config, dir } = loaded;
    this.stateDir = path.resolve(dir, config.state_dir ?? process.env.STATE_DIRECTORY ?? '.state');
    this.buffer = openBufferFromConfig(config.storage, this.stateDir, this.metrics.registry, options.log);
    this.services = this.buffer;
    this.addHealthSource('buffer', () => this.buffer.health());
    this.manager = new PluginManager({
      log: options.log,
      metrics: this.metrics,
      services: this.services,
      configDir: dir,
      stateDir: this.stateDir,
      healthIntervalMs: parseDuration(config.health!.interval!),
      trust: config.plugin_trust,
    });
    this.tls = resolveTls(config.server?.tls, listenHost(loaded, options), dir, this.stateDir, options.log);
    this.http = createServer({ log: options.log, bodyLimit: parseSize(config.server!.body_limit!), https: this.tls });
    this.controlPlane = new ControlPlane({ stateDir: this.stateDir, log: options.log, audit: this.buffer.audit, server: config.server, host: listenHost(loaded, options) });
    this.controlPlane.install(this.http);
    this.controlPlane.useEndpoints(config);
    registerReservedRoutes(this.http, this);
    void this.http.register(apiDevices, { buffer: this.buffer });
    void this.http.register(consoleRoutes, {
      health: () => this.health(),
      gateway: config.gateway ?? {},
      metrics: this.metrics,
      oldestReading: () => this.buffer.oldestReading(),
      logRing: options.logRing,
      log: options.log,
      sessions: this.controlPlane.sessions,
      configFile: () => this.loaded.file,
      config: () => this.loaded,
      documents: this.buffer,
      reload: () => this.reload(),
    });
    this.endpoints = new EndpointRoutes(this.http, { manager: this.manager, metrics: this.metrics, buffer: this.buffer });
    this.endpoints.replace(config.endpoints);
  }

  static async start(loaded: LoadedConfig, options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(loaded, options);
    const started = Date.now();
    const pluginsStarted = gateway.manager.start(loaded.config.plugins, loaded.plugins);
    const server = loaded.config.server ?? {};
    gateway.url = await gateway.http.listen({ port: options.port ?? server.port ?? 8080, host: listenHost(loaded, options) });
    await gateway.controlPlane.start(gateway.http);
    gateway.fleet = await startFleetLink(loaded.config, {
      buffer: gateway.buffer,
      registry: gateway.metrics.registry,
      log: options.log,
      version: packageVersion,
      configDir: loaded.dir,
      control: {
        health: () => gateway.health(),
        reload: () => gateway.reload(),
        restartPlugin: (name: string) => gateway.restartPlugin(name),
        write: (device: string, point: string, value: unknown) => gateway.manager.write(device, point, value),
        redactedConfig: () => gateway.loaded.redacted(),
      },
    });
    if (gateway.fleet) gateway.addHealthSource('fleet', () => gateway.fleet!.health());
    if (loaded.config.watch_config) gateway.watchConfig();
    options.log.info({ url: gateway.url, plugins: gateway.manager.plugins.size, endpoints: Object.keys(loaded.config.endpoints ?? {}).length }, 'gateway listening');
    gateway.settled = pluginsStarted.then(() => {
      const statuses = gateway.manager.statuses();
      options.log.info({
        ms: Date.now() - started,
        running: statuses.filter((p) => p.state === 'running').map((p) => p.name),
        // Failed, or quarantined after crashing in initialize (it is probed later): not serving now.
        failed: Object.fromEntries(statuses.filter((p) => p.state !== 'running').map((p) => [p.name, p.message])),
      }, 'plugins settled');
    });
    return gateway;
  }

  /**
   * Applies the config file again without a restart (SIGHUP, `backworks reload`, the MQTT reload
   * command, the file watch). An invalid file is refused with its issues and the running config
   * stays; unchanged plugins are not touched; endpoints are swapped without dropping requests.
   * Runs in the lifecycle queue: reloads asked while one waits there are that one reload.
   */
  reload(): Promise<ReloadResult> {
    return this.manager.lifecycle.run('reload', () => this.applyReload());
  }

  private async applyReload(): Promise<ReloadResult> {
    const { log } = this.options;
    let next: LoadedConfig;
    try {
      next = await loadConfig(this.loaded.file, { pluginsFailAlone: true });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      log.error({ issues: err.issues }, 'reload refused: the new configuration is invalid; the running one stays');
      return { ok: false, issues: err.issues };
    }
    this.manager.useTrust(next.config.plugin_trust);
    const plugins = await this.manager.applyReconcile(next.config.plugins, new Set(), next.plugins);
    this.controlPlane.useEndpoints(next.config);
    this.endpoints.replace(next.config.endpoints);
    const needsRestart = RESTART_ONLY.filter((key) => !isDeepStrictEqual(this.loaded.config[key], next.config[key]));
    this.loaded = next;
    const endpoints = Object.keys(next.config.endpoints ?? {}).length;
    log.info({ plugins, endpoints, needsRestart }, 'configuration reloaded');
    if (needsRestart.length) log.warn({ sections: needsRestart }, 'these sections changed and take effect at the next restart');
    return { ok: true, plugins, endpoints, needsRestart };
  }

  /**
   * Reloads when the file changes. The folder is watched, not the file: editors save by writing a
   * new file and renaming it over the old one. A burst of events becomes one reload.
   */
  private watchConfig(): void {
    const name = path.basename(this.loaded.file);
    let timer: NodeJS.Timeout | undefined;
    this.watcher = fs.watch(this.loaded.dir, (_event, file) => {
      if (file !== name) return;
      clearTimeout(timer);
      timer = setTimeout(() => void this.reload(), 300);
    });
    this.watcher.unref();
  }

  /**
   * Starts a new instance of one plugin, checks it, switches, then drains the old one. Restarts of
   * one plugin asked while one waits in the lifecycle queue are that one restart.
   */
  async restartPlugin(name: string): Promise<ReconcileReport> {
    if (!this.manager.get(name)) throw new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', name, 'not configured');
    return this.manager.lifecycle.run(`restart ${name}`,
      () => this.manager.applyReconcile(this.loaded.config.plugins, new Set([name]), this.loaded.plugins));
  }

  openHealth(): Record<string, unknown> {
    return this.controlPlane.openHealth();
  }

  redactedConfig(): unknown {
    return this.loaded.redacted();
  }

  addHealthSource(name: string, source: HealthSource): void {
    this.healthSources.set(name, source);
  }

  health(): HealthReport {
    const plugins = this.manager.statuses();
    let status = overallStatus(plugins);
    const sections: Record<string, unknown> = {};
    for (const [name, source] of this.healthSources) {
      const section = source();
      sections[name] = section;
      if (status === 'healthy' && section.status && section.status !== 'healthy') status = 'degraded';
    }
    return {
      status,
      version: packageVersion,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      plugins: Object.fromEntries(plugins.map((p) => [p.name, p])),
      ...sections,
    };
  }

  /** Stops taking requests, then shuts plugins down (in reverse order), then closes storage. */
  async stop(): Promise<void> {
    this.watcher?.close();
    this.manager.endStarts();
    await this.fleet?.stop();
    await this.controlPlane.stop();
    // A request in flight when the server closes keeps its keep-alive connection open after its
    // answer, until the client's keep-alive ends (72 s in fastify): close each one as it goes idle.
    const idle = setInterval(() => (this.http.server as { closeIdleConnections?: () => void }).closeIdleConnections?.(), 100);
    await this.http.close().finally(() => clearInterval(idle));
    await this.manager.stop();
    this.buffer.close();
  }
}

function listenHost(loaded: LoadedConfig, options: GatewayOptions): string {
  return options.host ?? loaded.config.server?.host ?? '0.0.0.0';
}

import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { LoadedConfig } from './config/load.js';
import { parseDuration, parseSize } from './config/units.js';
import { overallStatus, type HealthReport } from './health.js';
import { registerEndpoints } from './http/endpoints.js';
import { registerReservedRoutes } from './http/reserved.js';
import { createServer } from './http/server.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { packageVersion } from './paths.js';
import type { HostServices } from './plugins/host-context.js';
import { PluginManager } from './plugins/manager.js';
import { openBufferFromConfig } from './buffer/from-config.js';
import type { DataBuffer } from './buffer/buffer.js';
import { apiDevices } from './http/api-devices.js';
import type { FleetLink } from './uplink/fleet-link.js';
import { startFleetLink } from './uplink/from-config.js';
import type { HealthStatus } from '../../sdk/typescript/index.js';

export interface GatewayOptions {
  log: Logger;
  /** Overrides server.port (`backworks run --port`); 0 picks a free port. */
  port?: number;
  host?: string;
}

/** A section of /health contributed by another part; `status` other than healthy degrades the whole. */
export type HealthSource = () => { status?: HealthStatus } & Record<string, unknown>;

/**
 * Wires one running gateway together: config -> plugins -> HTTP. Start order is the order of the
 * data path (storage, plugins, then HTTP); stop is the reverse.
 */
export class Gateway {
  readonly metrics = new Metrics();
  readonly manager: PluginManager;
  readonly http: FastifyInstance;
  readonly stateDir: string;
  readonly services: HostServices;
  readonly buffer: DataBuffer;
  fleet: FleetLink | undefined;
  private readonly healthSources = new Map<string, HealthSource>();
  private readonly startedAt = Date.now();
  url = '';

  private constructor(readonly loaded: LoadedConfig, private readonly options: GatewayOptions) {
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
      healthIntervalMs: parseDuration(config.health?.interval ?? '10s'),
    });
    this.http = createServer({ log: options.log, bodyLimit: parseSize(config.server?.body_limit ?? '1MB') });
    registerReservedRoutes(this.http, this);
    void this.http.register(apiDevices, { buffer: this.buffer });
    registerEndpoints(this.http, config.endpoints, this.manager, this.metrics, this.buffer);
  }

  static async start(loaded: LoadedConfig, options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(loaded, options);
    await gateway.manager.start(loaded.config.plugins);
    const server = loaded.config.server ?? {};
    gateway.url = await gateway.http.listen({ port: options.port ?? server.port ?? 8080, host: options.host ?? server.host ?? '0.0.0.0' });
    gateway.fleet = startFleetLink(loaded.config, {
      buffer: gateway.buffer,
      registry: gateway.metrics.registry,
      log: options.log,
      version: packageVersion,
      configDir: loaded.dir,
      control: {
        health: () => gateway.health(),
        reload: async () => { throw new Error('reload is not available yet'); },
        restartPlugin: async () => { throw new Error('plugin-restart is not available yet'); },
        redactedConfig: () => loaded.redacted(),
      },
    });
    if (gateway.fleet) gateway.addHealthSource('fleet', () => gateway.fleet!.health());
    options.log.info({ url: gateway.url, plugins: gateway.manager.plugins.size, endpoints: Object.keys(loaded.config.endpoints ?? {}).length }, 'gateway listening');
    return gateway;
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
    await this.fleet?.stop();
    await this.http.close();
    await this.manager.stop();
    this.buffer.close();
  }
}

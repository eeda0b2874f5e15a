import type { FastifyInstance } from 'fastify';
import { BackworksError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { PluginManager } from '../plugins/manager.js';
import type { HealthReport } from '../health.js';
import type { ReloadResult } from '../gateway.js';

export interface GatewayView {
  health(): HealthReport;
  /** What /health adds to the state for a caller without a credential. */
  openHealth(): Record<string, unknown>;
  reload(): Promise<ReloadResult>;
  restartPlugin(name: string): Promise<unknown>;
  redactedConfig(): unknown;
  metrics: Metrics;
  manager: PluginManager;
}

/**
 * The gateway's own routes: /health, /metrics and the plugin part of /api. Who may call each is in
 * service/src/auth/route-roles.ts.
 */
export function registerReservedRoutes(app: FastifyInstance, gateway: GatewayView): void {
  app.get('/health', async (request, reply) => {
    const report = gateway.health();
    const code = report.status === 'unhealthy' ? 503 : 200;
    // Open to probes (systemd, load balancers); the details only with a credential.
    if (!request.principal) return reply.code(code).send({ status: report.status, ...gateway.openHealth() });
    return reply.code(code).send(report);
  });

  app.get('/api/config', async () => gateway.redactedConfig());

  app.get('/metrics', async (_request, reply) => {
    gateway.manager.statuses(); // refreshes the per-plugin gauges
    return reply.type(gateway.metrics.registry.contentType).send(await gateway.metrics.registry.metrics());
  });

  app.post('/api/reload', async (_request, reply) => {
    const result = await gateway.reload();
    return reply.code(result.ok ? 200 : 422).send(result);
  });

  app.post<{ Params: { name: string } }>('/api/plugins/:name/restart', async (request) => gateway.restartPlugin(request.params.name));

  app.get('/api/plugins', async () => ({
    plugins: [...gateway.manager.plugins.values()].map((p) => ({ ...p.driver.metadata, configSchema: undefined, ...p.status() })),
  }));

  app.get<{ Params: { name: string } }>('/api/plugins/:name', async (request) => {
    const plugin = gateway.manager.get(request.params.name);
    if (!plugin) throw new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', request.params.name, 'not configured');
    return { ...plugin.driver.metadata, ...plugin.status() };
  });

  app.put<{ Params: { device: string; point: string } }>('/api/devices/:device/points/:point', async (request) => {
    let value: unknown;
    try {
      value = (JSON.parse(String(request.body ?? '')) as { value?: unknown }).value;
    } catch {
      throw new BackworksError('BW_ERR_HTTP_BAD_REQUEST', 'body must be JSON like {"value": 42}');
    }
    if (value === undefined) throw new BackworksError('BW_ERR_HTTP_BAD_REQUEST', 'body must be JSON like {"value": 42}');
    await gateway.manager.write(request.params.device, request.params.point, value);
    return { device: request.params.device, point: request.params.point, value, written: true };
  });
}

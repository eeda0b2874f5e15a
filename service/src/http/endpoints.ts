import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PluginRequest, PluginResponse } from '../../../sdk/typescript/index.js';
import type { BackworksConfig, EndpointConfig } from '../config/schema.js';
import { parseDuration } from '../config/units.js';
import { BackworksError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { PluginManager } from '../plugins/manager.js';
import type { DataBuffer } from '../buffer/buffer.js';
import { dataEndpointHandler } from './api-devices.js';

/** Registers every endpoint of backworks.yaml as a route answered by its plugin (or the chain). */
export function registerEndpoints(app: FastifyInstance, endpoints: BackworksConfig['endpoints'], manager: PluginManager, metrics: Metrics, buffer?: DataBuffer): void {
  for (const [name, endpoint] of Object.entries(endpoints ?? {})) {
    for (const method of endpoint.methods ?? ['GET']) {
      const observe = metricsFor(metrics, name, method);
      app.route({ method, url: endpoint.path, handler: handlerFor(name, endpoint, manager, observe, buffer) });
    }
  }
}

function handlerFor(name: string, endpoint: EndpointConfig, manager: PluginManager, observe: (status: number, seconds: number) => void, buffer?: DataBuffer) {
  const timeoutMs = endpoint.timeout ? parseDuration(endpoint.timeout) : undefined;
  // `data:` endpoints answer from the buffer; hooks still run around them.
  const fromBuffer = endpoint.data && buffer ? dataEndpointHandler(buffer, endpoint.data, name) : undefined;
  const answer = fromBuffer ? async (req: PluginRequest) => fromBuffer(req) : endpoint.plugin
    ? (req: PluginRequest) => manager.call(endpoint.plugin!, req, timeoutMs)
    : (req: PluginRequest) => manager.chain(req, timeoutMs);

  return async (request: FastifyRequest, reply: FastifyReply) => {
    const started = process.hrtime.bigint();
    let status = 500;
    try {
      const req: PluginRequest = {
        endpoint: name,
        method: request.method,
        path: request.url.split('?', 1)[0],
        params: request.params as Record<string, string>,
        query: request.query as Record<string, string>,
        headers: request.headers,
        body: typeof request.body === 'string' ? request.body : '',
      };
      const hooks = manager.hasHooks;
      if (hooks) await manager.beforeRequest(req);
      const body = await answer(req);
      if (body === null || body === undefined) throw new BackworksError('BW_ERR_HTTP_NOT_FOUND', req.method, req.path);
      const response: PluginResponse = { status: 200, headers: { 'content-type': contentType(body) }, body };
      if (hooks) await manager.afterResponse(req, response);
      status = response.status;
      return reply.code(response.status).headers(response.headers).send(response.body);
    } catch (err) {
      status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode ?? 500;
      throw err;
    } finally {
      observe(status, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}

/** A body that looks like a JSON document is sent as JSON; anything else as text. */
function contentType(body: string): string {
  const first = body.trimStart()[0];
  return first === '{' || first === '[' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
}

/** Label lookups cost more than the observation: cache the child per status. */
function metricsFor(metrics: Metrics, endpoint: string, method: string) {
  const children = new Map<number, ReturnType<Metrics['httpDuration']['labels']>>();
  return (status: number, seconds: number) => {
    let child = children.get(status);
    if (!child) { child = metrics.httpDuration.labels(endpoint, method, String(status)); children.set(status, child); }
    child.observe(seconds);
  };
}

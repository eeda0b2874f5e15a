import FindMyWay, { type HTTPMethod, type Instance } from 'find-my-way';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PluginRequest, PluginResponse } from '../../../sdk/typescript/index.js';
import type { BackworksConfig, EndpointConfig } from '../config/schema.js';
import { HTTP_METHODS } from '../config/schema.js';
import { parseDuration } from '../config/units.js';
import { BackworksError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { PluginManager } from '../plugins/manager.js';
import type { DataBuffer } from '../buffer/buffer.js';
import { dataEndpointHandler } from './api-devices.js';

type Answer = (request: PluginRequest) => Promise<string | null | undefined> | string | null | undefined;
interface Route { name: string; answer: Answer; observe: (status: number, seconds: number) => void }

export interface EndpointDeps {
  manager: PluginManager;
  metrics: Metrics;
  buffer?: DataBuffer;
}

/**
 * The endpoints of backworks.yaml. fastify cannot remove a route once it listens, so configured
 * endpoints live in their own router behind one catch-all route, and a reload swaps the whole table
 * at once: a request already dispatched finishes on the table it started with, none is dropped.
 * The gateway's own routes (/health, /metrics, /api/…) are ordinary fastify routes and win.
 */
export class EndpointRoutes {
  private table: Instance<FindMyWay.HTTPVersion.V1> = FindMyWay();

  constructor(app: FastifyInstance, private readonly deps: EndpointDeps) {
    const dispatch = (request: FastifyRequest, reply: FastifyReply) => this.dispatch(request, reply);
    for (const url of ['/', '/*']) app.route({ method: [...HTTP_METHODS], url, exposeHeadRoute: false, handler: dispatch });
  }

  /** Builds the table for `endpoints` and puts it in place in one assignment. */
  replace(endpoints: BackworksConfig['endpoints']): void {
    const table = FindMyWay();
    for (const [name, endpoint] of Object.entries(endpoints ?? {})) {
      const answer = this.answerFor(name, endpoint);
      for (const method of endpoint.methods ?? ['GET']) {
        const route: Route = { name, answer, observe: observerFor(this.deps.metrics, name, method) };
        table.on(method as HTTPMethod, endpoint.path, () => {}, route);
      }
    }
    this.table = table;
  }

  private answerFor(name: string, endpoint: EndpointConfig): Answer {
    const { manager, buffer } = this.deps;
    const timeoutMs = endpoint.timeout ? parseDuration(endpoint.timeout) : undefined;
    // `data:` endpoints answer from the buffer; hooks still run around them.
    if (endpoint.data && buffer) return dataEndpointHandler(buffer, endpoint.data, name);
    if (endpoint.plugin) return (req) => manager.call(endpoint.plugin!, req, timeoutMs);
    return (req) => manager.chain(req, timeoutMs);
  }

  private async dispatch(request: FastifyRequest, reply: FastifyReply) {
    const q = request.url.indexOf('?');
    const path = q < 0 ? request.url : request.url.slice(0, q);
    const found = this.table.find(request.method as HTTPMethod, path);
    if (!found) return reply.callNotFound();
    const { name, answer, observe } = found.store as Route;
    const { manager } = this.deps;
    const started = performance.now();
    let status = 500;
    try {
      const req: PluginRequest = {
        endpoint: name,
        method: request.method,
        path,
        params: found.params as Record<string, string>,
        query: request.query as Record<string, string>,
        headers: request.headers,
        body: typeof request.body === 'string' ? request.body : '',
      };
      const hooks = manager.hasHooks;
      if (hooks) await manager.beforeRequest(req);
      const body = await answer(req);
      if (body === null || body === undefined) throw new BackworksError('BW_ERR_HTTP_NOT_FOUND', req.method, req.path);
      if (!hooks) {
        status = 200;
        return reply.type(contentType(body)).send(body);
      }
      const response: PluginResponse = { status: 200, headers: { 'content-type': contentType(body) }, body };
      await manager.afterResponse(req, response);
      status = response.status;
      return reply.code(response.status).headers(response.headers).send(response.body);
    } catch (err) {
      status = (err as { status?: number }).status ?? (err as { statusCode?: number }).statusCode ?? 500;
      throw err;
    } finally {
      observe(status, (performance.now() - started) / 1000);
    }
  }
}

/** A body that looks like a JSON document is sent as JSON; anything else as text. */
function contentType(body: string): string {
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x7b || c === 0x5b ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
  }
  return 'text/plain; charset=utf-8';
}

/** Label lookups cost more than the observation: cache the child per status. */
function observerFor(metrics: Metrics, endpoint: string, method: string) {
  const children = new Map<number, ReturnType<Metrics['httpDuration']['labels']>>();
  return (status: number, seconds: number) => {
    let child = children.get(status);
    if (!child) { child = metrics.httpDuration.labels(endpoint, method, String(status)); children.set(status, child); }
    child.observe(seconds);
  };
}

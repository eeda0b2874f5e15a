import { performance } from 'node:perf_hooks';
import FindMyWay, { type HTTPMethod, type Instance } from 'find-my-way';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EndpointAnswer, EndpointReply, PluginRequest, PluginResponse } from '../../../sdk/typescript/index.js';
import type { BackworksConfig, EndpointConfig } from '../config/schema.js';
import { HTTP_METHODS } from '../config/schema.js';
import { parseDuration } from '../../../sdk/typescript/units.js';
import { BackworksError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { PluginManager } from '../plugins/manager.js';
import type { DataBuffer } from '../buffer/buffer.js';
import { dataEndpointHandler } from './api-devices.js';

type Body = EndpointAnswer;
const NO_BODY = Buffer.alloc(0);
/**
 * Answers one request by calling `onValue` or `onError` once; neither throws. Callbacks rather
 * than a promise: this runs on every request, and each promise awaited on the way is a microtask.
 * `started` is the request's clock reading, which the plugin's latency shares.
 */
type Answer = (request: PluginRequest, onValue: (body: Body) => void, onError: (err: unknown) => void, started: number) => void;
interface Route { name: string; method: string; path: string; answer: Answer; observe: (status: number, seconds: number) => void }
/** The configured route a fastify route of its own serves, while that route serves it directly. */
interface Slot { route: Route | undefined }

export interface EndpointDeps {
  manager: PluginManager;
  metrics: Metrics;
  buffer?: DataBuffer;
}

/**
 * The endpoints of backworks.yaml. fastify cannot add or remove a route once it listens, so:
 *
 * - every configured endpoint is in a table of our own (find-my-way) behind one catch-all route,
 *   and a reload swaps the whole table at once: a request already dispatched finishes on the
 *   table it started with, none is dropped;
 * - the endpoints present at start are also fastify routes of their own, which saves the second
 *   route lookup on every request. Such a route serves whatever endpoint its METHOD and path have
 *   in the current table (a reload may change its plugin or config), and defers to the table when
 *   its endpoint was removed. Once a reload adds a route fastify does not know, fastify's pick may
 *   no longer be the table's (a new static path beside an old parametric one), so every route
 *   defers to the table until the set is back to known routes.
 *
 * The gateway's own routes (/health, /metrics, /api/…) are ordinary fastify routes and win.
 */
export class EndpointRoutes {
  private table: Instance<FindMyWay.HTTPVersion.V1> = FindMyWay();
  /** By "METHOD path": the fastify routes registered at start. */
  private readonly slots = new Map<string, Slot>();
  private registered = false;

  constructor(private readonly app: FastifyInstance, private readonly deps: EndpointDeps) {
    const viaTable = (request: FastifyRequest, reply: FastifyReply) => this.dispatch(request, reply);
    for (const url of CATCH_ALL) app.route({ method: [...HTTP_METHODS], url, exposeHeadRoute: false, handler: viaTable });
  }

  /**
   * Builds the table for `endpoints` and puts it in place in one assignment. The first call, made
   * before the server starts, also registers the endpoints as fastify routes.
   */
  replace(endpoints: BackworksConfig['endpoints']): void {
    const table = FindMyWay();
    const routes = new Map<string, Route>();
    for (const [name, endpoint] of Object.entries(endpoints ?? {})) {
      const answer = this.answerFor(name, endpoint);
      for (const method of endpoint.methods ?? ['GET']) {
        const route: Route = { name, method, path: endpoint.path, answer, observe: observerFor(this.deps.metrics, name, method) };
        table.on(method as HTTPMethod, endpoint.path, () => {}, route);
        routes.set(`${method} ${endpoint.path}`, route);
      }
    }
    if (!this.registered) this.register(routes);
    // fastify picks what the table picks as long as the table has no route fastify lacks (a route
    // fastify has and the table no longer has is served from the table, see the handler).
    const agree = [...routes].every(([key, route]) => this.slots.has(key) || CATCH_ALL.includes(route.path));
    for (const [key, slot] of this.slots) slot.route = agree ? routes.get(key) : undefined;
    this.table = table;
  }

  private register(routes: Map<string, Route>): void {
    this.registered = true;
    for (const [key, { method, path }] of routes) {
      if (CATCH_ALL.includes(path)) continue; // the catch-all's own URLs: served through the table
      const slot: Slot = { route: undefined };
      this.slots.set(key, slot);
      this.app.route({
        method, url: path, exposeHeadRoute: false,
        handler: (request, reply) => {
          if (slot.route) this.serve(slot.route, pathOf(request.url), request.params as Record<string, string>, request, reply);
          else this.dispatch(request, reply);
        },
      });
    }
  }

  private answerFor(name: string, endpoint: EndpointConfig): Answer {
    const { manager, buffer } = this.deps;
    const timeoutMs = endpoint.timeout ? parseDuration(endpoint.timeout) : undefined;
    // `data:` endpoints answer from the buffer; hooks still run around them.
    if (endpoint.data && buffer) {
      const handler = dataEndpointHandler(buffer, endpoint.data, name);
      return (req, onValue, onError) => {
        let body: string;
        try { body = handler(req); } catch (err) { onError(err); return; }
        onValue(body);
      };
    }
    if (endpoint.plugin) return (req, onValue, onError, started) => manager.callThen(endpoint.plugin!, req, timeoutMs, onValue, onError, started);
    return (req, onValue, onError) => { manager.chain(req, timeoutMs).then(onValue, onError); };
  }

  /** Through the table: the catch-all, and the routes registered at start once a reload changed the set. */
  private dispatch(request: FastifyRequest, reply: FastifyReply): void {
    const path = pathOf(request.url);
    const found = this.table.find(request.method as HTTPMethod, path);
    if (!found) { reply.callNotFound(); return; }
    this.serve(found.store as Route, path, found.params as Record<string, string>, request, reply);
  }

  /**
   * Answers with the endpoint's handler. Not async: fastify waits for reply.send, and an async
   * handler would cost a promise for fastify to wait on besides the plugin's own.
   */
  private serve(route: Route, path: string, params: Record<string, string>, request: FastifyRequest, reply: FastifyReply): void {
    const started = performance.now();
    const req: PluginRequest = {
      endpoint: route.name,
      method: request.method,
      path,
      params,
      query: request.query as Record<string, string>,
      headers: request.headers,
      body: Buffer.isBuffer(request.body) ? request.body : NO_BODY,
    };
    if (this.deps.manager.hasHooks) { void this.serveWithHooks(route, req, reply, started); return; }
    route.answer(req, (body) => {
      try {
        if (body === null || body === undefined) throw new BackworksError('BW_ERR_HTTP_NOT_FOUND', req.method, req.path);
        if (typeof body === 'string') {
          reply.type(contentType(body)).send(body);
          route.observe(200, (performance.now() - started) / 1000);
          return;
        }
        const status = body.status ?? 200;
        reply.code(status).type(body.contentType ?? contentType(body.body)).send(body.body);
        route.observe(status, (performance.now() - started) / 1000);
      } catch (err) {
        fail(route, reply, started, err);
      }
    }, (err) => fail(route, reply, started, err), started);
  }

  private async serveWithHooks(route: Route, req: PluginRequest, reply: FastifyReply, started: number): Promise<void> {
    const { manager } = this.deps;
    try {
      await manager.beforeRequest(req);
      const body = await new Promise<Body>((resolve, reject) => route.answer(req, resolve, reject, performance.now()));
      if (body === null || body === undefined) throw new BackworksError('BW_ERR_HTTP_NOT_FOUND', req.method, req.path);
      const answer: EndpointReply = typeof body === 'string' ? { body } : body;
      const response: PluginResponse = { status: answer.status ?? 200, headers: { 'content-type': answer.contentType ?? contentType(answer.body) }, body: answer.body };
      await manager.afterResponse(req, response);
      reply.code(response.status).headers(response.headers).send(response.body);
      route.observe(response.status, (performance.now() - started) / 1000);
    } catch (err) {
      fail(route, reply, started, err);
    }
  }
}

/** The two URLs of the catch-all route. */
const CATCH_ALL = ['/', '/*'];

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Answers with fastify's error handler ({error, status, code}) and books the status. */
function fail(route: Route, reply: FastifyReply, started: number, err: unknown): void {
  const status = (err as { status?: number })?.status ?? (err as { statusCode?: number })?.statusCode ?? 500;
  reply.send(err instanceof Error ? err : new Error(String(err)));
  route.observe(status, (performance.now() - started) / 1000);
}

/** A body that looks like a JSON document is sent as JSON; anything else as text. */
function contentType(body: string | Buffer): string {
  const text = typeof body === 'string';
  for (let i = 0; i < body.length; i++) {
    const c = text ? body.charCodeAt(i) : body[i];
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

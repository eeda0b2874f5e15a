import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { PluginError, type BackworksPlugin } from '../../sdk/typescript/index.js';
import type { BackworksConfig } from '../../service/src/config/schema.js';
import { EndpointRoutes } from '../../service/src/http/endpoints.js';
import { createServer } from '../../service/src/http/server.js';
import { BuiltinDriver } from '../../service/src/plugins/builtin.js';
import { createManager } from '../helpers/gateway.js';

/** A plugin that answers with its own name and what it was asked. */
function echo(name: string, extra: Partial<BackworksPlugin> = {}): BackworksPlugin {
  return {
    name, version: '1.0.0', initialize: () => {},
    processEndpointData: async (_endpoint, method, _data, request) => JSON.stringify({ by: name, method, path: request?.path, params: request?.params }),
    ...extra,
  };
}

/** fastify as the gateway builds it, with the endpoint routes of `endpoints` and the plugins a, b, slow. */
async function serve(endpoints: BackworksConfig['endpoints'], hooks?: BackworksPlugin) {
  const { manager, metrics } = createManager();
  if (hooks) await manager.attach(hooks.name, new BuiltinDriver(hooks), { type: 'builtin', pack: 'test/hooks', critical: true });
  for (const name of ['a', 'b']) await manager.attach(name, new BuiltinDriver(echo(name)), { type: 'builtin', pack: 'test/echo' });
  await manager.attach('slow', new BuiltinDriver(echo('slow', { processEndpointData: () => new Promise(() => {}) })),
    { type: 'builtin', pack: 'test/echo', timeout: '50ms' });
  const app = createServer({ log: pino({ level: 'silent' }), bodyLimit: 1024 });
  app.get('/health', async () => ({ status: 'healthy' }));
  const routes = new EndpointRoutes(app, { manager, metrics });
  routes.replace(endpoints);
  await app.ready();
  return { app, routes, manager, metrics };
}

const get = async (app: FastifyInstance, url: string) => {
  const res = await app.inject({ method: 'GET', url });
  return { status: res.statusCode, type: res.headers['content-type'], body: res.json() as Record<string, unknown> };
};

describe('configured endpoints', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => { await app?.close(); app = undefined; });

  it('serves what the current table says for a route registered at start, and 404s it once removed', async () => {
    const s = await serve({ items: { path: '/items/:id', plugin: 'a' }, root: { path: '/', plugin: 'a' } });
    app = s.app;
    expect(await get(app, '/items/7?x=1')).toEqual({ status: 200, type: 'application/json; charset=utf-8', body: { by: 'a', method: 'GET', path: '/items/7', params: { id: '7' } } });
    expect((await get(app, '/')).body).toMatchObject({ by: 'a', path: '/' });
    expect((await get(app, '/health')).body).toEqual({ status: 'healthy' });

    // Same path, another plugin: the route registered at start follows the table.
    s.routes.replace({ items: { path: '/items/:id', plugin: 'b' } });
    expect((await get(app, '/items/7')).body).toMatchObject({ by: 'b' });

    s.routes.replace({});
    expect(await get(app, '/items/7')).toMatchObject({ status: 404, body: { status: 404, code: 'BW_ERR_HTTP_NOT_FOUND' } });
    // Without an endpoint of its own, GET / leads a browser to the console.
    const root = await app.inject({ method: 'GET', url: '/' });
    expect({ status: root.statusCode, location: root.headers.location }).toEqual({ status: 302, location: '/console/' });
    expect((await app.inject({ method: 'POST', url: '/' })).statusCode).toBe(404);
  });

  it('routes a path added by a reload as the table would, beside a parametric route from the start', async () => {
    const s = await serve({ items: { path: '/items/:id', plugin: 'a' } });
    app = s.app;
    s.routes.replace({ items: { path: '/items/:id', plugin: 'a' }, special: { path: '/items/special', plugin: 'b' }, more: { path: '/more', methods: ['POST'], plugin: 'b' } });
    expect((await get(app, '/items/special')).body).toMatchObject({ by: 'b', params: {} });
    expect((await get(app, '/items/7')).body).toMatchObject({ by: 'a', params: { id: '7' } });
    expect((await app.inject({ method: 'POST', url: '/more', payload: 'x' })).json()).toMatchObject({ by: 'b', method: 'POST' });

    s.routes.replace({ items: { path: '/items/:id', plugin: 'a' } });
    expect((await get(app, '/items/special')).body).toMatchObject({ by: 'a', params: { id: 'special' } });
    expect((await app.inject({ method: 'POST', url: '/more' })).statusCode).toBe(404);
  });

  it('answers a missed deadline, a failing plugin and an unknown plugin as {error, status, code}', async () => {
    const s = await serve({ slow: { path: '/slow', plugin: 'slow' }, gone: { path: '/gone', plugin: 'nope' } });
    app = s.app;
    const slow = await get(app, '/slow');
    expect(slow).toMatchObject({ status: 504, body: { status: 504, code: 'BW_ERR_PLUGIN_TIMEOUT' } });
    expect(slow.body.error).toContain('slow');
    expect(await get(app, '/gone')).toMatchObject({ status: 503, body: { status: 503, code: 'BW_ERR_PLUGIN_UNAVAILABLE' } });
    const metrics = await s.metrics.registry.getSingleMetricAsString('backworks_http_request_duration_seconds');
    expect(metrics).toContain('backworks_http_request_duration_seconds_count{endpoint="slow",method="GET",status="504"} 1');
    expect(metrics).toContain('backworks_http_request_duration_seconds_count{endpoint="gone",method="GET",status="503"} 1');
  });

  it('runs the hooks around the handler when a plugin has some', async () => {
    const s = await serve({ items: { path: '/items/:id', plugin: 'a' } }, {
      name: 'guard', version: '1.0.0', initialize: () => {},
      beforeRequest: (request) => { if (request.headers['x-deny']) throw new PluginError('denied', 403); },
      afterResponse: (_request, response) => { response.headers['x-seen-by'] = 'guard'; },
    });
    app = s.app;
    const ok = await app.inject({ method: 'GET', url: '/items/1' });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['x-seen-by']).toBe('guard');
    expect(ok.json()).toMatchObject({ by: 'a', params: { id: '1' } });
    const denied = await app.inject({ method: 'GET', url: '/items/1', headers: { 'x-deny': '1' } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ status: 403, error: 'denied' });
  });
});

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_ROLES, isReservedPath } from '../../service/src/auth/route-roles.js';
import { loadConfig } from '../../service/src/config/load.js';
import { Gateway } from '../../service/src/gateway.js';
import { writeTemp } from '../helpers/tmp.js';

/**
 * Every route the gateway registers, walked: each has a rule (a reserved route in the one table,
 * a configured endpoint its auth/role), and each answers 401 without a credential, except /health,
 * which answers only its state.
 */

let gateway: Gateway;

beforeAll(async () => {
  const file = writeTemp('backworks.yaml', `
state_dir: ./state
plugins:
  ingest: { type: builtin, pack: general/http-ingest }
endpoints:
  ingest: { path: /ingest, methods: [GET, POST], plugin: ingest }
  by-device: { path: /machines/:device, data: { device: ":device" } }
  root: { path: /, plugin: ingest }
`);
  gateway = await Gateway.start(await loadConfig(file), { log: pino({ level: 'silent' }), port: 0, host: '127.0.0.1' });
}, 30_000);

afterAll(async () => { await gateway?.stop(); });

describe('the route table', () => {
  it('has a rule for every registered route', () => {
    const routes = gateway.controlPlane.routes;
    expect(routes.length).toBeGreaterThan(Object.keys(ROUTE_ROLES).length);
    const missing = routes.filter(({ method, url }) => {
      if (isReservedPath(url)) return !ROUTE_ROLES[`${method === 'HEAD' ? 'GET' : method} ${url}`];
      // configured endpoints and the catch-all that serves them (and 404s): the endpoint table, or viewer
      return false;
    });
    expect(missing).toEqual([]);
    // and every rule in the table is a route that exists
    const registered = new Set(routes.map((r) => `${r.method} ${r.url}`));
    expect(Object.keys(ROUTE_ROLES).filter((key) => !registered.has(key))).toEqual([]);
  });

  it('refuses a reserved route that has no rule, when it is registered', async () => {
    const { createServer } = await import('../../service/src/http/server.js');
    const { ControlPlane } = await import('../../service/src/auth/control-plane.js');
    const { tempDir } = await import('../helpers/tmp.js');
    const app = createServer({ log: pino({ level: 'silent' }), bodyLimit: 1024 });
    new ControlPlane({ stateDir: tempDir(), log: pino({ level: 'silent' }), audit: gateway.buffer.audit, server: undefined, host: '127.0.0.1' }).install(app);
    expect(() => app.get('/api/unlisted', async () => 'x')).toThrow('route GET /api/unlisted has no role in service/src/auth/route-roles.ts');
    await app.close();
  });

  it('answers 401 on every route without a credential, except the state on /health and the console\'s files', async () => {
    const seen: string[] = [];
    for (const { method, url } of gateway.controlPlane.routes) {
      const path = url.replace(/:\w+/g, 'x').replace('*', 'anything');
      const body = method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE'
        ? { headers: { 'content-type': 'application/json' }, body: '{"user": "nobody", "password": "wrong password here", "setup_token": "bwsetup_wrong"}' }
        : {};
      const res = await fetch(`${gateway.url}${path}`, { method, ...body });
      const text = await res.text();
      if (url === '/health') {
        expect(res.status).toBe(200);
        if (method === 'GET') expect(Object.keys(JSON.parse(text)).filter((k) => k !== 'setup')).toEqual(['status']);
      } else if (url.startsWith('/console/')) {
        // The console's files are open: the login form and the code, no data (/console/x is no file).
        expect(res.status).toBe(url === '/console/' ? 200 : 404);
        if (url === '/console/' && method === 'GET') expect(text).toContain('id="login-form"');
      } else {
        expect({ route: `${method} ${url}`, status: res.status }).toEqual({ route: `${method} ${url}`, status: 401 });
      }
      seen.push(`${method} ${url}`);
    }
    expect(seen).toEqual(expect.arrayContaining(['POST /api/reload', 'PUT /api/devices/:device/points/:point', 'GET /ingest', 'POST /ingest', 'GET /machines/:device', 'GET /', 'DELETE /*', 'GET /metrics', 'POST /api/auth/login']));
  });
});

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../helpers/service.js';
import { writeTemp } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { registerMap, startSimServer, type SimServer } from '../packs/manufacturing/modbus/helpers.js';
import { backworks } from './cli.js';

/**
 * Roles, tokens, sessions and the audit trail against the real, compiled gateway and a real Modbus
 * TCP server behind it. Credentials are made the way an operator makes them: with the CLI.
 */

const json = { 'content-type': 'application/json' };
const PASSWORD = 'a long enough passphrase';

let sim: SimServer;
let service: RunningService;
let file: string;
const tokens: Record<'viewer' | 'technician' | 'admin', string> = { viewer: '', technician: '', admin: '' };

const bearer = (token: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...init.headers as Record<string, string>, authorization: `Bearer ${token}` } });
const call = (route: string, init?: RequestInit) => fetch(`${service.url}${route}`, init);
const put = (token: string, value: unknown) => call('/api/devices/press/points/setpoint', bearer(token, { method: 'PUT', headers: json, body: JSON.stringify({ value }) }));

beforeAll(async () => {
  const map = registerMap();
  map.holding.set(0, 10);
  sim = await startSimServer(map);
  file = writeTemp('backworks.yaml', `
plugins:
  plc:
    type: builtin
    pack: manufacturing/modbus
    config:
      devices:
        - { name: press, address: "127.0.0.1:${sim.port}", interval: 200ms, points: [{ name: setpoint, table: holding, address: 0, access: read_write, max: 500 }] }
  ingest: { type: builtin, pack: general/http-ingest }
endpoints:
  readings: { path: /readings, methods: [GET, POST], plugin: ingest }
  public: { path: /public, plugin: ingest, auth: none }
  admin-only: { path: /admin-only, plugin: ingest, role: admin }
`);
  service = await startService(file);
  for (const role of ['viewer', 'technician', 'admin'] as const) {
    const created = await backworks(['token', 'create', '--role', role, '--name', `${role}-ci`, '-c', file]);
    expect(created.code).toBe(0);
    tokens[role] = created.stdout.trim();
  }
  // the plugin learns which device it owns from its first poll
  await waitFor('the first poll', () => sim.reads.length > 0);
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await sim?.close();
});

describe('roles', () => {
  it('token create -c FILE prints a token the running API accepts at once, and nothing else on stdout', async () => {
    const created = await backworks(['token', 'create', '--role', 'admin', '--name', 'ci', '-c', file]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^bw_[A-Za-z0-9_-]{43}\n$/);
    expect(created.stderr).toContain('"ci" (admin)');
    const res = await call('/api/tokens', bearer(created.stdout.trim()));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { tokens: Array<{ name: string }> }).tokens.map((t) => t.name)).toContain('ci');
  });

  it('a viewer reads but its writes answer 403', async () => {
    expect((await call('/api/plugins', bearer(tokens.viewer))).status).toBe(200);
    expect((await call('/readings', bearer(tokens.viewer))).status).toBe(200);
    const write = await put(tokens.viewer, 5);
    expect(write.status).toBe(403);
    expect(await write.json()).toMatchObject({ code: 'BW_ERR_AUTH_FORBIDDEN', error: 'PUT /api/devices/press/points/setpoint needs the technician role; token "viewer-ci" has viewer' });
    expect((await call('/api/reload', bearer(tokens.viewer, { method: 'POST' }))).status).toBe(403);
    expect((await call('/readings', bearer(tokens.viewer, { method: 'POST', headers: json, body: '{"device":"d","point":"p","value":1}' }))).status).toBe(403);
    expect((await call('/admin-only', bearer(tokens.technician))).status).toBe(403);
    expect(map().holding.get(0)).toBe(10);
  });

  it('a technician reloads and writes a point', async () => {
    const reload = await call('/api/reload', bearer(tokens.technician, { method: 'POST' }));
    expect(reload.status).toBe(200);
    expect(await reload.json()).toMatchObject({ ok: true });
    const write = await put(tokens.technician, 321);
    expect(write.status).toBe(200);
    await waitFor('the register write', () => map().holding.get(0) === 321);
    expect((await call('/api/tokens', bearer(tokens.technician))).status).toBe(403);
  });

  it('a point write needs application/json: text/plain answers 415 and writes nothing', async () => {
    const res = await call('/api/devices/press/points/setpoint', bearer(tokens.technician, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: '{"value": 7}' }));
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: 'BW_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE' });
    expect(map().holding.get(0)).not.toBe(7);
  });

  it('configured endpoints: a token by default, auth: none open', async () => {
    expect((await call('/readings')).status).toBe(401);
    expect((await call('/public')).status).toBe(200);
    expect((await call('/admin-only', bearer(tokens.admin))).status).toBe(200);
  });

  it('an admin manages tokens; a revoked or expired token answers 401', async () => {
    const created = await call('/api/tokens', bearer(tokens.admin, { method: 'POST', headers: json, body: '{"role": "viewer", "name": "short"}' }));
    expect(created.status).toBe(201);
    const { token, id } = (await created.json()) as { token: string; id: string };
    expect((await call('/api/plugins', bearer(token))).status).toBe(200);
    const list = await (await call('/api/tokens', bearer(tokens.admin))).text();
    expect(list).toContain(id);
    expect(list).not.toContain(token);
    expect(list).not.toMatch(/hash/);
    expect((await call(`/api/tokens/${id}`, bearer(tokens.admin, { method: 'DELETE' }))).status).toBe(200);
    const revoked = await call('/api/plugins', bearer(token));
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ code: 'BW_ERR_AUTH_INVALID' });

    // revoked by the CLI, beside the running service: it follows the file
    const cliToken = (await backworks(['token', 'create', '--role', 'viewer', '--name', 'cli-revoked', '-c', file])).stdout.trim();
    expect((await call('/api/plugins', bearer(cliToken))).status).toBe(200);
    const revoke = await backworks(['token', 'revoke', 'cli-revoked', '-c', file, '--json']);
    expect(JSON.parse(revoke.stdout)).toMatchObject({ name: 'cli-revoked', revoked: true });
    await waitFor('the revocation to reach the service', async () => (await call('/api/plugins', bearer(cliToken))).status === 401, { timeoutMs: 5000 });

    const expiring = await backworks(['token', 'create', '--role', 'viewer', '--expires', '1s', '-c', file]);
    const short = expiring.stdout.trim();
    expect((await call('/api/plugins', bearer(short))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call('/api/plugins', bearer(short))).status).toBe(401);
  });
});

describe('browser sessions', () => {
  const user = 'tech-anna';
  beforeAll(async () => {
    const added = await backworks(['user', 'add', user, '--role', 'technician', '-c', file, '--json'], `${PASSWORD}\n`);
    expect(JSON.parse(added.stdout)).toMatchObject({ name: user, role: 'technician' });
  });

  it('login answers an HttpOnly, Secure, SameSite=Strict cookie; a POST with it needs the CSRF token', async () => {
    const login = await call('/api/auth/login', { method: 'POST', headers: json, body: JSON.stringify({ user, password: PASSWORD }) });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^bw_session=bws_[\w-]+; HttpOnly; Secure; SameSite=Strict; Path=\/; Max-Age=\d+$/);
    const { csrf_token: csrf } = (await login.json()) as { csrf_token: string };
    const cookie = setCookie.split(';')[0];

    expect((await call('/api/plugins', { headers: { cookie } })).status).toBe(200);
    const noCsrf = await call('/api/reload', { method: 'POST', headers: { cookie } });
    expect(noCsrf.status).toBe(403);
    expect(await noCsrf.json()).toMatchObject({ code: 'BW_ERR_AUTH_CSRF' });
    expect((await call('/api/reload', { method: 'POST', headers: { cookie, 'x-csrf-token': 'bws_wrong' } })).status).toBe(403);
    expect((await call('/api/reload', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).status).toBe(200);

    expect((await call('/api/auth/logout', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).status).toBe(200);
    expect((await call('/api/plugins', { headers: { cookie } })).status).toBe(401);
  });

  it('20 bad passwords in a row are rate-limited, and then even the right one waits', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await call('/api/auth/login', { method: 'POST', headers: json, body: JSON.stringify({ user, password: `wrong password ${i}` }) });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(15).fill(429)]);
    const right = await call('/api/auth/login', { method: 'POST', headers: json, body: JSON.stringify({ user, password: PASSWORD }) });
    expect(right.status).toBe(429);
    const failed = service.logs.filter((l) => l.msg === 'login failed' && l.user === user);
    expect(failed).toHaveLength(5);
    expect(service.logs.filter((l) => l.msg === 'login refused: too many failed attempts')).toHaveLength(16);
  });
});

describe('cross-site and secrets', () => {
  it('answers no CORS headers, to a preflight or a request with an Origin', async () => {
    const preflight = await call('/api/reload', { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const get = await call('/api/plugins', bearer(tokens.viewer, { headers: { origin: 'http://evil.example' } }));
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('never shows a token, a password or a hash in the logs, /api/config or the audit', async () => {
    const config = await (await call('/api/config', bearer(tokens.viewer))).text();
    const audit = await (await call('/api/audit', bearer(tokens.admin))).text();
    const logs = JSON.stringify(service.logs);
    const hashes = fs.readFileSync(`${service.stateDir}/credentials.json`, 'utf8').match(/scrypt\$[^"]+|[0-9a-f]{64}/g)!;
    expect(hashes.length).toBeGreaterThan(4);
    for (const secret of [...Object.values(tokens), PASSWORD, ...hashes]) {
      for (const text of [config, audit, logs]) expect(text).not.toContain(secret);
    }
    expect((fs.statSync(`${service.stateDir}/credentials.json`).mode & 0o777).toString(8)).toBe('600');
  });
});

function map() {
  return sim.map;
}

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { backworks } from '../auth/cli.js';
import { CredentialStore } from '../../service/src/auth/credentials.js';
import { startMosquitto } from '../helpers/mosquitto.js';

/**
 * The API the console reads, as a script sees it: the live stream (and its end with the session),
 * the log lines with their filters, and checking and applying the config file.
 */

const PASSWORD = 'a technician passphrase';
const CONFIG = `plugins:
  machines:
    type: builtin
    pack: manufacturing/simulator
    config:
      devices:
        - name: press-1
          points:
            - { name: temperature, signal: sine, min: 20, max: 80, period: 60s, interval: 1s }
endpoints:
  latest: { path: /latest, data: { device: press-1 } }
`;
let service: RunningService;
let file: string;
let viewer: string;

beforeAll(async () => {
  file = path.join(tempDir('bw-console-api-'), 'backworks.yaml');
  fs.writeFileSync(file, CONFIG);
  service = await startService(file);
  expect((await backworks(['user', 'add', 'tom', '--role', 'technician', '-c', file], `${PASSWORD}\n`)).code).toBe(0);
  viewer = new CredentialStore(service.stateDir).createToken({ role: 'viewer', name: 'viewer' }).token;
}, 60_000);

afterAll(async () => { await service?.stop(); });

/** Reads server-sent events until `until` says stop; returns them as {event, data}. */
async function readEvents(res: Response, until: (events: Array<{ event: string; data: unknown }>) => boolean, timeoutMs = 20_000) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: Array<{ event: string; data: unknown }> = [];
  let text = '';
  const deadline = Date.now() + timeoutMs;
  while (!until(events) && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return events;
}

async function login(): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${service.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'tom', password: PASSWORD }) });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!.split(';')[0];
  return { cookie, csrf: ((await res.json()) as { csrf_token: string }).csrf_token };
}

describe('GET /api/events', () => {
  it('needs a credential, then streams an overview every second with each plugin and calls/s', async () => {
    expect((await fetch(`${service.url}/api/events`)).status).toBe(401);
    const res = await fetch(`${service.url}/api/events`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = await readEvents(res, (e) => e.filter((x) => x.event === 'overview').length >= 2);
    const overviews = events.filter((e) => e.event === 'overview').map((e) => e.data as Record<string, any>);
    expect(overviews).toHaveLength(2);
    expect(overviews[1].plugins.machines).toMatchObject({ state: 'running', breaker: 'closed', restarts: 0 });
    expect(typeof overviews[1].plugins.machines.calls_per_s).toBe('number');
    expect(overviews[1].buffer.oldest_ts).toBeGreaterThan(0);
    expect(overviews[1].ts).toBeGreaterThan(overviews[0].ts);
  });

  it('ends a browser\'s stream when its session ends (logout)', async () => {
    const { cookie, csrf } = await login();
    const res = await fetch(`${service.url}/api/events`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const logout = await fetch(`${service.url}/api/auth/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    expect(logout.status).toBe(200);
    const events = await readEvents(res, (e) => e.some((x) => x.event === 'session-ended'));
    expect(events.at(-1)).toEqual({ event: 'session-ended', data: { reason: 'the session ended (logout or expiry): log in again' } });
  });
});

describe('GET /api/logs', () => {
  it('answers the service\'s last lines, filtered by level and plugin, redacted like stdout', async () => {
    const all = (await (await service.fetch('/api/logs?limit=1000&level=trace')).json()) as { lines: Array<{ id: number; level: string; msg: string; plugin?: string }> };
    expect(all.lines.map((l) => l.msg)).toContain('gateway listening');
    const ids = all.lines.map((l) => l.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const after = (await (await service.fetch(`/api/logs?after=${ids.at(-2)}&level=trace`)).json()) as { lines: Array<{ id: number }> };
    expect(after.lines[0].id).toBe(ids.at(-1));
    const warnings = (await (await service.fetch('/api/logs?level=warn&limit=1000')).json()) as { lines: Array<{ level: string }> };
    expect(warnings.lines.every((l) => ['warn', 'error', 'fatal'].includes(l.level))).toBe(true);
    const none = (await (await service.fetch('/api/logs?plugin=no-such-plugin')).json()) as { lines: unknown[] };
    expect(none.lines).toEqual([]);
    const bad = await service.fetch('/api/logs?level=loud');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('query parameter "level" must be one of trace, debug, info, warn, error, fatal');
    // The login of the first test is there, without its password.
    expect(JSON.stringify(all)).not.toContain(PASSWORD);
  });
});

describe('GET /api/plugins/:name/library', () => {
  it('says a TypeScript pack has no library, and refuses a plugin that is not configured', async () => {
    expect(await (await service.fetch('/api/plugins/machines/library')).json()).toEqual({ name: 'machines', type: 'builtin', pack: 'manufacturing/simulator' });
    const missing = await service.fetch('/api/plugins/__proto__/library');
    expect(missing.status).toBe(503);
    expect(((await missing.json()) as { code: string }).code).toBe('BW_ERR_PLUGIN_UNAVAILABLE');
  });
});

describe('the config file', () => {
  it('is checked as backworks check does, each mistake at its line and column of the real file', async () => {
    const viewerCheck = await fetch(`${service.url}/api/config/check`, { method: 'POST', headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' }, body: '{"yaml": ""}' });
    expect(viewerCheck.status).toBe(403);
    const wrong = CONFIG.replace('period: 60s', 'period: 60').replace('endpoints:', 'endpoints:\n  bad: { path: /api/mine, plugin: nobody }');
    const res = await service.fetch('/api/config/check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yaml: wrong }) });
    expect(res.status).toBe(200);
    const check = (await res.json()) as { valid: boolean; errors: Array<{ file: string; line: number; column: number; message: string }> };
    expect(check.valid).toBe(false);
    expect(check.errors.map((e) => `${e.line}:${e.column}`)).toEqual(['9:76', '11:16', '11:35']);
    expect(check.errors.every((e) => e.file === file)).toBe(true);
    expect(check.errors[0].message).toBe('"period" must be a duration with a unit, such as 500ms, 2s, 5m, 1h or 7d; got 60; write 60s for 60 seconds');
    // The same as `backworks check` says of that text in a file.
    const elsewhere = path.join(tempDir(), 'backworks.yaml');
    fs.writeFileSync(elsewhere, wrong);
    const cli = JSON.parse((await backworks(['check', '--json', '-c', elsewhere])).stdout) as { errors: typeof check.errors };
    expect(cli.errors.map(({ file: _, ...rest }) => rest)).toEqual(check.errors.map(({ file: _, ...rest }) => rest));
    expect(fs.readFileSync(file, 'utf8')).toBe(CONFIG);
    expect(fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith('.backworks.yaml.'))).toEqual([]);
    const notJson = await service.fetch('/api/config/check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text": 1}' });
    expect(notJson.status).toBe(400);
  });

  it('is applied atomically with the previous text kept, then reloaded; a mistake changes nothing', async () => {
    const refused = await service.fetch('/api/config/file', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yaml: 'plugins: [' }) });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { applied: boolean }).applied).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe(CONFIG);

    const next = CONFIG.replace('latest: { path: /latest', 'latest: { path: /now');
    const res = await service.fetch('/api/config/file', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yaml: next }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ applied: true, check: { valid: true }, reload: { ok: true, endpoints: 1 } });
    expect(fs.readFileSync(file, 'utf8')).toBe(next);
    expect(fs.readFileSync(`${file}.prev`, 'utf8')).toBe(CONFIG);
    expect((await service.fetch('/now')).status).toBe(200);
    expect((await service.fetch('/latest')).status).toBe(404);
    const { text } = (await (await service.fetch('/api/config/file')).json()) as { text: string };
    expect(text).toBe(next);
  });
});

describe('the overview of a gateway with a fleet link', () => {
  it('names the gateway and shows the broker link, the uplink backlog and the last delivery seen', async () => {
    const broker = await startMosquitto();
    const dir = tempDir('bw-console-fleet-');
    const fleetFile = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(fleetFile, `gateway: {site: plant-7, id: line-3}
fleet:
  mqtt: {url: "${broker.url}", keepalive: 5s}
${CONFIG}`);
    const fleetService = await startService(fleetFile);
    try {
      const res = await fleetService.fetch('/api/events');
      // The simulator emits every second and the link drains it: the acknowledged seq moves while watched.
      const events = await readEvents(res, (e) => e.some((x) => x.event === 'overview' && (x.data as any).fleet?.last_delivery_ts));
      const last = events.filter((e) => e.event === 'overview').at(-1)!.data as Record<string, any>;
      expect(last.gateway).toEqual({ site: 'plant-7', id: 'line-3' });
      expect(last.fleet).toMatchObject({ state: 'online', broker: broker.url });
      expect(last.fleet.last_delivery_ts).toBeGreaterThan(Date.now() - 30_000);
      expect(typeof last.buffer.pending.fleet).toBe('number');
    } finally {
      await fleetService.stop();
      await broker.close();
    }
  });
});

describe('secrets written in the config file', () => {
  it('are "[redacted]" in the editor\'s text and put back on apply; a "[redacted]" where the file has none is a mistake', async () => {
    const broker = await startMosquitto({ users: { gw: 'broker-secret-value' } });
    const dir = tempDir('bw-console-secret-');
    const secretFile = path.join(dir, 'backworks.yaml');
    const text = `gateway: {site: plant-7, id: line-3}
fleet:
  mqtt:
    url: "${broker.url}"
    username: gw
    password: broker-secret-value   # the broker's account for this gateway
${CONFIG}`;
    fs.writeFileSync(secretFile, text);
    const svc = await startService(secretFile);
    try {
      const { text: shown } = (await (await svc.fetch('/api/config/file')).json()) as { text: string };
      expect(shown).toBe(text.replace('password: broker-secret-value', 'password: "[redacted]"'));
      const put = (yaml: string) => svc.fetch('/api/config/file', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yaml }) });

      const edited = shown.replace('latest: { path: /latest', 'latest: { path: /now');
      const res = await put(edited);
      expect(res.status).toBe(200);
      expect(fs.readFileSync(secretFile, 'utf8')).toBe(text.replace('latest: { path: /latest', 'latest: { path: /now'));
      expect(fs.readFileSync(`${secretFile}.prev`, 'utf8')).toBe(text);

      const misplaced = await put(edited.replace('username: gw', 'username: gw\n    token: "[redacted]"'));
      expect(misplaced.status).toBe(422);
      const { check } = (await misplaced.json()) as { check: { errors: Array<{ line: number; column: number; message: string }> } };
      expect(check.errors).toEqual([{ file: secretFile, line: 6, column: 12, message: '"[redacted]" stands for the value the file has here, and it has none: write the secret itself, or ${VAR} to take it from the environment' }]);
      expect(fs.readFileSync(secretFile, 'utf8')).not.toContain('token');
    } finally {
      await svc.stop();
      await broker.close();
    }
  });
});

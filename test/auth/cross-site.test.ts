import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../helpers/service.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';
import { backworks } from './cli.js';

/**
 * A web page on another site, opened in Debian's Chromium by someone on the plant network, tries
 * what needs no CORS preflight: HTML forms (text/plain shaped as JSON, urlencoded) and a no-cors
 * fetch, against an open endpoint and against the API while the user is logged in to the gateway.
 * Everything is refused, and nothing is stored or reloaded.
 */

const PASSWORD = 'a technician passphrase';
let service: RunningService;
let evil: http.Server;
let evilUrl: string;
let browser: BrowserContext;

const page = (gateway: string) => `<!doctype html><html><body>
<form id="json-as-text" method="POST" action="${gateway}/ingest" enctype="text/plain">
  <input name='{"device":"evil","point":"p","value":1,"x":"' value='"}'>
</form>
<form id="urlencoded" method="POST" action="${gateway}/ingest"><input name="device" value="evil"></form>
<form id="reload" method="POST" action="${gateway}/api/reload"><input name="x" value="1"></form>
<form id="write" method="POST" action="${gateway}/api/devices/press/points/setpoint" enctype="text/plain"><input name='{"value":' value='1}'></form>
</body></html>`;

beforeAll(async () => {
  const file = writeTemp('backworks.yaml', `
plugins:
  ingest: { type: builtin, pack: general/http-ingest }
endpoints:
  ingest: { path: /ingest, methods: [GET, POST], plugin: ingest, auth: none }
`);
  service = await startService(file);
  await backworks(['user', 'add', 'anna', '--role', 'technician', '-c', file], `${PASSWORD}\n`);
  // Another site: "localhost" is not the site "127.0.0.1" (ports do not make a site, hosts do).
  evil = http.createServer((_req, res) => { res.setHeader('content-type', 'text/html'); res.end(page(service.url)); });
  await new Promise<void>((resolve) => evil.listen(0, resolve));
  evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;
  const profile = path.join(tempDir('bw-chromium-'), 'profile');
  fs.mkdirSync(profile);
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  evil?.close();
  await service?.stop();
});

async function submit(form: string): Promise<{ status: number; body: string }> {
  const tab = await browser.newPage();
  await tab.goto(evilUrl);
  const [response] = await Promise.all([
    tab.waitForResponse((r) => r.url().startsWith(service.url)),
    tab.evaluate((id) => (document.getElementById(id) as HTMLFormElement).submit(), form),
  ]);
  const answer = { status: response.status(), body: await response.text() };
  await tab.close();
  return answer;
}

describe('cross-site requests from Chromium', () => {
  it('refuses form posts to an open endpoint: text/plain shaped as JSON and urlencoded answer 415, nothing is stored', async () => {
    const asText = await submit('json-as-text');
    expect(asText.status).toBe(415);
    expect(asText.body).toContain('Content-Type must be application/json, got \\"text/plain\\"');
    expect((await submit('urlencoded')).status).toBe(415);

    const tab = await browser.newPage();
    await tab.goto(evilUrl);
    await tab.evaluate((url) => fetch(`${url}/ingest`, { method: 'POST', mode: 'no-cors', body: '{"device":"evil","point":"p","value":2}' }), service.url);
    await tab.close();

    const stats = await (await fetch(`${service.url}/ingest`)).json() as { accepted: number; rejected: number };
    expect(stats).toMatchObject({ accepted: 0, rejected: 3 });
    const devices = await (await service.fetch('/api/devices')).json() as { devices: unknown[] };
    expect(devices.devices).toEqual([]);
  });

  it('a user logged in to the gateway in the same browser: the other site\'s posts carry no cookie and answer 401', async () => {
    const tab = await browser.newPage();
    await tab.goto(`${service.url}/health`);
    const login = await tab.evaluate(async (password) => {
      const res = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'anna', password }) });
      return { status: res.status, body: await res.json() as { csrf_token: string } };
    }, PASSWORD);
    expect(login.status).toBe(200);
    expect((await browser.cookies(service.url)).map((c) => ({ name: c.name, httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite })))
      .toEqual([{ name: 'bw_session', httpOnly: true, secure: true, sameSite: 'Strict' }]);
    // the session works on its own site, with its CSRF token
    const own = await tab.evaluate(async (csrf) => (await fetch('/api/reload', { method: 'POST', headers: { 'x-csrf-token': csrf } })).status, login.body.csrf_token);
    expect(own).toBe(200);
    await tab.close();

    const before = (await (await service.fetch('/api/audit')).json() as { rows: unknown[] }).rows.length;
    const reload = await submit('reload');
    expect(reload.status).toBe(401);
    const write = await submit('write');
    expect(write.status).toBe(401);
    const { rows } = await (await service.fetch(`/api/audit?after=0`)).json() as { rows: Array<{ who: string | null; route: string; status: number }> };
    expect(rows.slice(before).map((r) => [r.who, r.route, r.status])).toEqual([
      [null, '/api/reload', 401],
      [null, '/api/devices/press/points/setpoint', 401],
    ]);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../helpers/service.js';
import { writeTemp } from '../helpers/tmp.js';
import { backworks } from './cli.js';

const json = { 'content-type': 'application/json' };
const config = () => writeTemp('backworks.yaml', 'plugins:\n  ingest: { type: builtin, pack: general/http-ingest }\n');

describe('first start', () => {
  let service: RunningService | undefined;
  afterEach(async () => { await service?.stop(); service = undefined; });

  it('has no default password: a one-time setup token, logged by path, creates the first admin once', async () => {
    service = await startService(config());
    const tokenFile = path.join(service.stateDir, 'setup-token');
    const warned = service.logs.find((l) => l.setup_token_file === tokenFile);
    expect(warned?.msg).toContain(`the one-time setup token is in ${tokenFile}`);
    const secret = fs.readFileSync(tokenFile, 'utf8').trim();
    expect(JSON.stringify(service.logs)).not.toContain(secret);
    expect((fs.statSync(tokenFile).mode & 0o777).toString(8)).toBe('600');

    // `backworks status` says where the token is, from /health's open part
    const status = await backworks(['status', '--url', service.url]);
    expect(status.stdout).toContain(`the one-time setup token is in ${tokenFile}`);
    expect(status.stdout).toMatch(/^healthy {2}\(details need a token/);

    const setup = (body: object) => fetch(`${service!.url}/api/auth/setup`, { method: 'POST', headers: json, body: JSON.stringify(body) });
    expect((await setup({ setup_token: 'bwsetup_guess', user: 'root', password: 'a guessed passphrase' })).status).toBe(401);
    const short = await setup({ setup_token: secret, user: 'ops', password: 'short' });
    expect(short.status).toBe(400);
    expect((await short.json() as { error: string }).error).toContain('at least 12 characters');
    expect((await setup({ setup_token: secret, user: 'ops', password: 'the first admin passphrase' })).status).toBe(200);
    expect(fs.existsSync(tokenFile)).toBe(false);
    expect((await setup({ setup_token: secret, user: 'eve', password: 'a second admin passphrase' })).status).toBe(401);

    const login = await fetch(`${service.url}/api/auth/login`, { method: 'POST', headers: json, body: '{"user": "ops", "password": "the first admin passphrase"}' });
    expect(await login.json()).toMatchObject({ user: 'ops', role: 'admin' });
    expect(await (await fetch(`${service.url}/health`)).json()).toEqual({ status: 'healthy' });
  });

  it('user add --role admin on the box ends the setup; list, passwd and remove with --json', async () => {
    const file = config();
    service = await startService(file);
    const tokenFile = path.join(service.stateDir, 'setup-token');
    expect(fs.existsSync(tokenFile)).toBe(true);
    expect((await backworks(['user', 'add', 'ops', '--role', 'admin', '-c', file], 'an admin passphrase\n')).code).toBe(0);
    expect(fs.existsSync(tokenFile)).toBe(false);
    const list = JSON.parse((await backworks(['user', 'list', '-c', file, '--json'])).stdout) as { users: Array<{ name: string; role: string }> };
    expect(list.users).toEqual([expect.objectContaining({ name: 'ops', role: 'admin' })]);
    expect(JSON.stringify(list)).not.toContain('scrypt');

    const again = await backworks(['user', 'add', 'ops', '--role', 'viewer', '-c', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('user "ops" exists');
    const badRole = await backworks(['token', 'create', '--role', 'root', '-c', file]);
    expect(badRole).toMatchObject({ code: 2, stderr: 'backworks: role must be viewer, technician or admin, got "root"\n' });

    expect((await backworks(['user', 'passwd', 'ops', '-c', file], 'a changed passphrase\n')).code).toBe(0);
    const login = (password: string) => fetch(`${service!.url}/api/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ user: 'ops', password }) });
    expect((await login('an admin passphrase')).status).toBe(401);
    expect((await login('a changed passphrase')).status).toBe(200);
    expect(JSON.parse((await backworks(['user', 'remove', 'ops', '-c', file, '--json'])).stdout)).toEqual({ user: 'ops', removed: true });
    expect((await login('a changed passphrase')).status).toBe(401);

    for (const command of [['user'], ['user', 'add'], ['token', 'create'], ['token', 'revoke']]) {
      const help = await backworks([...command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: backworks ${command.join(' ')}`);
    }
  });

  it('the local socket is the owner\'s alone and grants admin: status and reload need no token on it', async () => {
    service = await startService(config());
    const socket = path.join(service.stateDir, 'run/backworks.sock');
    expect((fs.statSync(path.dirname(socket)).mode & 0o777).toString(8)).toBe('700');
    expect((fs.statSync(socket).mode & 0o777).toString(8)).toBe('600');
    const status = await backworks(['status', '--socket', socket, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'healthy', plugins: { ingest: { state: 'running' } } });
    const reload = await backworks(['reload', '--socket', socket]);
    expect(reload).toMatchObject({ code: 0, stdout: expect.stringContaining('reloaded:') });
    // over TCP without a token the same command is refused and says what to do
    const refused = await backworks(['reload', '--url', service.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('backworks token create --role technician');
  });
});

describe('check', () => {
  it('warns about auth: none beyond loopback, not on loopback', async () => {
    const endpoints = 'plugins:\n  ingest: { type: builtin, pack: general/http-ingest }\nendpoints:\n  open: { path: /open, plugin: ingest, auth: none }\n';
    const wide = writeTemp('backworks.yaml', `server: { host: 0.0.0.0 }\n${endpoints}`);
    const warned = await backworks(['check', '-c', wide]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toBe(`${wide}: warning: endpoints.open.auth is "none" and the server listens on 0.0.0.0: anyone who reaches the port calls /open without a credential; remove it (a token is the default), or listen on 127.0.0.1\n`);
    expect(JSON.parse((await backworks(['check', '-c', wide, '--json'])).stdout).warnings).toHaveLength(1);
    const local = await backworks(['check', '-c', writeTemp('backworks.yaml', `server: { host: 127.0.0.1 }\n${endpoints}`)]);
    expect(local).toMatchObject({ code: 0, stderr: '' });
  });
});

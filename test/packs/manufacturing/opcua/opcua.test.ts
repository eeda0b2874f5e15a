import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import createOpcua, { checkConfig } from '../../../../packs/manufacturing/opcua/index.js';
import { tempDir } from '../../../helpers/tmp.js';
import { collectingHost, freePort } from '../modbus/helpers.js';
import { startOpcuaServer, type TestServer } from './server.js';

/** The OPC UA pack against a node-opcua server the test starts, with security None and SignAndEncrypt. */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

async function server(port?: number): Promise<TestServer> {
  const s = await startOpcuaServer(port ?? await freePort());
  cleanups.push(() => s.stop().catch(() => undefined));
  return s;
}

async function start(config: unknown, stateDir = tempDir('bw-opcua-state-')) {
  const host = Object.assign(collectingHost(), { stateDir });
  const plugin = createOpcua();
  await plugin.initialize(config, host);
  cleanups.push(() => plugin.shutdown!());
  return { host, plugin, stateDir };
}

const points = [
  { name: 'temperature', node: 'ns=1;s=Press.Temperature', sampling_interval: '50ms', writable: true, unit: 'C' },
  { name: 'count', node: 'ns=1;s=Press.Count', mode: 'poll', writable: true },
  { name: 'running', node: 'ns=1;s=Press.Running', writable: true },
  { name: 'recipe', node: 'ns=1;s=Press.Recipe', mode: 'poll' },
];

describe('manufacturing/opcua (node-opcua server)', { timeout: 60_000 }, () => {
  it('security None, anonymous: monitored items, polled reads, writes checked against the node\'s data type', async () => {
    const s = await server();
    const { host, plugin } = await start({ servers: [{ name: 'press', endpoint: s.endpoint, publishing_interval: '100ms', poll_interval: '200ms', points }] });
    await host.until(() => ['temperature', 'count', 'running', 'recipe'].every((p) => host.last('press', p)), 15_000, 'first values');
    expect(host.last('press', 'temperature')).toMatchObject({ value: 20.5, quality: 'good' });
    expect(host.last('press', 'count')).toMatchObject({ value: 7, quality: 'good' });
    expect(host.last('press', 'recipe')).toMatchObject({ value: 'A', quality: 'good' });
    s.values.Temperature = 21.25;
    await host.until(() => host.last('press', 'temperature')?.value === 21.25, 5000, 'a change reported by the subscription');

    await plugin.write!('press', 'count', 42);
    await plugin.write!('press', 'running', true);
    await plugin.write!('press', 'temperature', 99.5);
    expect([s.values.Count, s.values.Running, s.values.Temperature]).toEqual([42, true, 99.5]);
    await host.until(() => host.last('press', 'count')?.value === 42, 5000, 'written count polled back');

    const refusals: Array<[string, unknown, number, string]> = [
      ['count', 1.5, 400, 'expects an integer'],
      ['count', 2 ** 31, 400, 'out of range'],
      ['running', 'yes', 400, 'expects true or false'],
      ['recipe', 'B', 400, 'not writable'],
      ['nope', 1, 404, 'no point'],
    ];
    for (const [point, value, status, text] of refusals) {
      await expect(plugin.write!('press', point, value), point).rejects.toMatchObject({ statusCode: status, message: expect.stringContaining(text) });
    }
    expect(s.values.Count).toBe(42);
    expect((await plugin.healthCheck!()).status).toBe('healthy');
  });

  it('SignAndEncrypt with Basic256Sha256 and a user; the client certificate is created once in the state directory', async () => {
    const s = await server();
    const config = { servers: [{ name: 'secure', endpoint: s.endpoint, security_mode: 'SignAndEncrypt', security_policy: 'Basic256Sha256', username: 'operator', password: 'secret', publishing_interval: '100ms', points: [points[0]] }] };
    const first = await start(config);
    await first.host.until(() => first.host.last('secure', 'temperature')?.quality === 'good', 20_000, 'a value over SignAndEncrypt');
    expect((await first.plugin.healthCheck!()).details).toMatchObject({ secure: { state: 'connected', security: 'SignAndEncrypt' } });
    const certFile = path.join(first.stateDir, 'pki', 'own', 'certs', 'client_certificate.pem');
    const cert = fs.readFileSync(certFile, 'utf8');
    expect(cert).toContain('BEGIN CERTIFICATE');
    await first.plugin.shutdown!();

    const again = await start(config, first.stateDir);
    await again.host.until(() => again.host.last('secure', 'temperature')?.quality === 'good', 20_000, 'a value after restart');
    expect(fs.readFileSync(certFile, 'utf8')).toBe(cert); // reused, not re-created

    const wrong = await start({ servers: [{ ...config.servers[0], name: 'wrong', password: 'guess' }] });
    await wrong.host.until(() => wrong.host.logs.some((l) => l.level === 'error'), 20_000, 'the refused login');
    const health = await wrong.plugin.healthCheck!();
    expect(health.status).toBe('unhealthy');
    expect(JSON.stringify(health.details)).toMatch(/BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid/);
  });

  it('reports stale while the server is down and recovers the session when it is back', async () => {
    const port = await freePort();
    let s = await server(port);
    const { host } = await start({ servers: [{ name: 'press', endpoint: s.endpoint, publishing_interval: '100ms', reconnect_max: '1s', points: [points[0]] }] });
    await host.until(() => host.last('press', 'temperature')?.quality === 'good', 15_000, 'first value');
    await s.stop();
    await host.until(() => host.last('press', 'temperature')?.quality === 'stale', 15_000, 'stale after the server went away');
    expect(host.last('press', 'temperature')?.value).toBe(20.5);
    s = await server(port);
    s.values.Temperature = 30;
    await host.until(() => host.last('press', 'temperature')?.value === 30 && host.last('press', 'temperature')?.quality === 'good', 30_000, 'values after the server came back');
  });

  it('loads node-opcua only when a server is configured', () => {
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(${JSON.stringify(path.join(repo, 'package.json'))});
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/node-opcua'));
      const mod = await import(${JSON.stringify(path.join(repo, 'dist/packs/manufacturing/opcua/index.js'))});
      const plugin = mod.default();
      const before = loaded();
      await plugin.initialize({ servers: [{ name: 'x', endpoint: 'opc.tcp://127.0.0.1:1', points: [{ name: 'p', node: 'i=2258' }] }] },
        { pluginName: 't', stateDir: ${JSON.stringify(tempDir('bw-opcua-lazy-'))}, log() {}, emit() {} });
      const after = loaded();
      await plugin.shutdown();
      console.log(JSON.stringify({ before, after }));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ before: false, after: true });
  });

  it('backworks opcua browse lists the nodes a technician needs for points', async () => {
    const s = await server();
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(repo, 'dist/service/src/cli.js'), 'opcua', 'browse', s.endpoint, '--depth', '1', '--json'], { timeout: 30_000 });
    // node-opcua prints its own warnings on stdout, around the JSON line
    const nodes = JSON.parse(stdout.split('\n').find((l) => l.startsWith('['))!) as Array<{ nodeId: string; browseName: string; nodeClass: string; dataType?: string }>;
    expect(nodes).toContainEqual(expect.objectContaining({ browseName: '1:Press', nodeClass: 'Object' }));
    expect(nodes).toContainEqual(expect.objectContaining({ nodeId: 'ns=1;s=Press.Temperature', browseName: '1:Temperature', nodeClass: 'Variable', dataType: 'Double' }));
    expect(nodes).toContainEqual(expect.objectContaining({ nodeId: 'ns=1;s=Press.Running', dataType: 'Boolean' }));
    const failed = await promisify(execFile)(process.execPath, [path.join(repo, 'dist/service/src/cli.js'), 'opcua', 'browse', `opc.tcp://127.0.0.1:${await freePort()}`], { timeout: 30_000 }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('cannot browse');
  });

  it('checks security settings and names without loading node-opcua', () => {
    const problems = checkConfig({ servers: [
      { name: 'a', endpoint: 'opc.tcp://h:4840', security_mode: 'None', security_policy: 'Basic256Sha256', points: [{ name: 'p', node: 'i=1' }] },
      { name: 'a', endpoint: 'opc.tcp://h:4840', security_mode: 'SignAndEncrypt', security_policy: 'None', password: 'x', points: [{ name: 'p', node: 'i=1', mode: 'poll', deadband: 1 }] },
    ] });
    expect(problems.map((p) => `${p.path.join('.')}: ${p.message}`)).toEqual([
      'servers.0.security_policy: security_policy Basic256Sha256 needs security_mode Sign or SignAndEncrypt',
      'servers.1.name: two servers are named "a"',
      'servers.1.security_policy: security_mode SignAndEncrypt needs a security policy such as Basic256Sha256',
      'servers.1.password: a password without a username: add `username`',
      'servers.1.points.0: point "p": deadband and sampling_interval apply to mode subscribe only',
    ]);
  });
});

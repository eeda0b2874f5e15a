/**
 * The .deb end to end. amd64: built by `deploy/package-deb.mjs`, installed with apt into a clean
 * Debian 12 root (debootstrap minbase), where `backworks --version`, `backworks check` on the shipped
 * config, the service answering /health as the backworks user, the quickstart running 30 s under
 * paced ingest, a native plugin in its host, remove
 * (state kept) and purge (state gone) are checked; lintian reports no error. arm64: the binaries are
 * ARM aarch64, every Rust plugin is there, and under qemu-user the bundled node runs
 * `backworks --version` and loads better-sqlite3 and koffi, and the plugin host reads the hl7
 * plugin's descriptor.
 *
 * Slow (a few minutes warm; downloads are cached in ~/.cache/backworks), needs root and Debian's mirror.
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/service.js';
import { freePort } from '../helpers/mosquitto.js';
import { DebianRoot, sh } from './debian-root.js';

const version = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
const debFor = (arch: string) => path.join(repoRoot, 'dist', `backworks_${version}_${arch}.deb`);

function buildPackage(arch: string): void {
  sh(process.execPath, [path.join(repoRoot, 'deploy/package-deb.mjs'), arch], { cwd: repoRoot });
}

async function waitForHealth(url: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return (await res.json()) as Record<string, unknown>;
    } catch { /* not listening yet */ }
    if (Date.now() > until) throw new Error(`${url} did not answer 200 in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A GET over HTTPS trusting only `ca`: the status, the body and the certificate the server showed. */
function httpsGet(port: number, route: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    https.request({ host: '127.0.0.1', servername: 'localhost', port, path: route, ca, headers, agent: false }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerX509Certificate()!.fingerprint256;
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, body, fingerprint }));
    }).on('error', reject).end();
  });
}

describe('the amd64 package in a clean Debian 12 root', { timeout: 600_000 }, () => {
  let root: DebianRoot;
  let lintian: Promise<string>;

  beforeAll(() => {
    buildPackage('amd64');
    // lintian takes minutes: it runs while the package is exercised.
    lintian = new Promise((resolve) => {
      let out = '';
      const child = spawn('lintian', ['--no-tag-display-limit', debFor('amd64')], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('exit', () => resolve(out));
    });
    root = DebianRoot.create();
    fs.copyFileSync(debFor('amd64'), root.path('tmp/backworks.deb'));
    // systemd is on every gateway; it brings systemd-analyze and makes deb-systemd-helper enable.
    root.run('apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd >/dev/null');
    root.run('apt-get install -y -qq /tmp/backworks.deb >/dev/null');
  }, 900_000);
  afterAll(() => root?.destroy());

  it('installs the service user, its folders, the enabled unit and the conffile', () => {
    const user = root.user('backworks');
    expect(root.run('getent group dialout | cut -d: -f3').trim()).toBe(String(user.groups.find((g) => g !== user.gid)));
    expect(root.run('stat -c "%U:%G %a" /var/lib/backworks /var/log/backworks /etc/backworks /etc/backworks/backworks.yaml').trim().split('\n'))
      .toEqual(['backworks:backworks 750', 'backworks:backworks 750', 'root:backworks 770', 'root:backworks 640']);
    expect(root.run("dpkg-query -W -f='${Conffiles}' backworks")).toContain('/etc/backworks/backworks.yaml');
    expect(fs.readlinkSync(root.path('etc/systemd/system/multi-user.target.wants/backworks.service'))).toBe('/lib/systemd/system/backworks.service');
    // The unit as the target's own systemd reads it.
    expect(root.run('systemd-analyze verify /lib/systemd/system/backworks.service 2>&1; echo rc=$?').trim()).toBe('rc=0');
  });

  it('runs backworks --version and backworks check on the shipped config with its own Node 24', () => {
    expect(root.run('backworks --version').trim()).toBe(version);
    expect(root.run('cd / && backworks check')).toContain('/etc/backworks/backworks.yaml: valid');
    expect(root.run('/usr/lib/backworks/node/bin/node --version').trim()).toMatch(/^v24\./);
    // The lazily loaded OPC UA stack is complete after the package's pruning of node_modules.
    expect(root.run('cd /usr/lib/backworks && node/bin/node -e "import(\'node-opcua\').then((m) => console.log(typeof m.OPCUAClient))"').trim()).toBe('function');
  });

  it('starts as the backworks user on the shipped config: HTTPS with the certificate it generated, nothing but /health without a credential, data in /var/lib/backworks', async () => {
    const port = await freePort();
    const service = root.spawn('/usr/bin/backworks run', { user: root.user('backworks'), env: { BACKWORKS_PORT: String(port) } });
    const logs: string[] = [];
    readline.createInterface({ input: service.stdout! }).on('line', (l) => logs.push(l));
    service.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    const exited = new Promise<number | null>((resolve) => service.once('exit', (code) => resolve(code)));
    try {
      const certFile = root.path('var/lib/backworks/tls/cert.pem');
      let open: { status: number; body: string; fingerprint: string } | undefined;
      for (const until = Date.now() + 20_000; !open;) {
        if (fs.existsSync(certFile)) open = await httpsGet(port, '/health', fs.readFileSync(certFile)).catch(() => undefined);
        if (!open && Date.now() > until) throw new Error('no HTTPS answer on /health within 20 s');
        if (!open) await new Promise((r) => setTimeout(r, 200));
      }
      const cert = fs.readFileSync(certFile);
      const fingerprint = new crypto.X509Certificate(cert).fingerprint256;
      expect(open.fingerprint).toBe(fingerprint);
      expect(logs.join('\n')).toContain(fingerprint);
      expect(JSON.parse(open.body)).toMatchObject({ status: 'healthy', setup: { pending: true, token_file: '/var/lib/backworks/setup-token' } });
      expect(root.run('stat -c "%U %a" /var/lib/backworks/credentials.json /var/lib/backworks/setup-token /var/lib/backworks/tls/key.pem').trim().split('\n'))
        .toEqual(['backworks 600', 'backworks 600', 'backworks 600']);
      // plain HTTP is not served beyond loopback
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
      for (const route of ['/metrics', '/api/plugins', '/api/devices', '/api/config', '/ingest']) {
        expect({ route, status: (await httpsGet(port, route, cert)).status }).toEqual({ route, status: 401 });
      }
      // root on the box makes a token with the CLI; the running service takes it at once
      const token = root.run('backworks token create --role technician --name deb-test 2>/dev/null').trim();
      expect(root.run('stat -c "%U %a" /var/lib/backworks/credentials.json').trim()).toBe('backworks 600');
      const auth = { authorization: `Bearer ${token}` };
      expect(JSON.parse((await httpsGet(port, '/health', cert, auth)).body)).toMatchObject({ status: 'healthy', version, plugins: { ingest: { status: 'healthy' } } });
      const posted = await new Promise<number>((resolve, reject) => {
        https.request({ host: '127.0.0.1', servername: 'localhost', port, path: '/ingest', method: 'POST', ca: cert, agent: false, headers: { ...auth, 'content-type': 'application/json' } }, (res) => { res.resume(); resolve(res.statusCode!); })
          .on('error', reject).end(JSON.stringify({ device: 'press-1', point: 'door', value: true }));
      });
      expect(posted).toBe(200);
      // and on the box, root reaches the local socket without a token
      expect(JSON.parse(root.run('backworks status --json'))).toMatchObject({ status: 'healthy', plugins: { ingest: { state: 'running' } } });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs.join('\n')}`);
    } finally {
      service.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(root.run('stat -c "%U %n" /var/lib/backworks/*.db').trim()).toBe('backworks /var/lib/backworks/buffer.db');
  });

  it('keeps running the quickstart (simulated readings, paced ingest) for 30 s: no abort when V8 collects SQLite statements', async () => {
    // Node 24's ObjectWrap aborted this service about one run in three (deploy/package/node-modules.mjs, addonHeaders).
    const port = await freePort();
    const service = root.spawn(`/usr/bin/backworks run -c /usr/share/backworks/examples/quickstart/backworks.yaml --port ${port}`, { env: { STATE_DIRECTORY: '/tmp/quickstart-state' } });
    const logs: string[] = [];
    service.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    service.stdout!.resume();
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) => service.once('exit', (code) => { exitCode = code; resolve(code); }));
    try {
      await waitForHealth(`http://127.0.0.1:${port}/health`);
      let accepted = 0;
      for (const until = Date.now() + 30_000; Date.now() < until && exitCode === undefined;) {
        const res = await fetch(`http://127.0.0.1:${port}/ingest`, { method: 'POST', body: JSON.stringify({ device: 'line-1', point: 'count', value: accepted }), headers: { 'content-type': 'application/json' } });
        if (res.status < 300) accepted++;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(exitCode, logs.join('')).toBeUndefined();
      expect(accepted).toBeGreaterThan(100);
      expect(await waitForHealth(`http://127.0.0.1:${port}/health`)).toMatchObject({ status: 'healthy' });
    } finally {
      service.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('runs a native plugin in its plugin host (the seed example)', async () => {
    const port = await freePort();
    const service = root.spawn(`/usr/bin/backworks run -c /usr/share/backworks/examples/seed/backworks.yaml --port ${port} --host 127.0.0.1`, { env: { STATE_DIRECTORY: '/tmp/seed-state' } });
    const exited = new Promise<number | null>((resolve) => service.once('exit', (code) => resolve(code)));
    try {
      await waitForHealth(`http://127.0.0.1:${port}/health`);
      const token = root.run('STATE_DIRECTORY=/tmp/seed-state backworks token create --role viewer -c /usr/share/backworks/examples/seed/backworks.yaml 2>/dev/null').trim();
      const res = await fetch(`http://127.0.0.1:${port}/my-feature`, { headers: { authorization: `Bearer ${token}` } });
      expect(await res.text()).toBe('{"message":"Hello from my plugin!"}');
    } finally {
      service.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('keeps the state on remove and deletes it on purge', () => {
    root.run('apt-get remove -y -qq backworks >/dev/null');
    expect(fs.existsSync(root.path('var/lib/backworks/buffer.db'))).toBe(true);
    expect(fs.existsSync(root.path('usr/lib/backworks'))).toBe(false);
    root.run('apt-get purge -y -qq backworks >/dev/null');
    expect(fs.existsSync(root.path('var/lib/backworks'))).toBe(false);
    expect(fs.existsSync(root.path('etc/backworks/backworks.yaml'))).toBe(false);
  });

  it('passes lintian without errors', async () => {
    const report = await lintian;
    expect(report.split('\n').filter((l) => l.startsWith('E:'))).toEqual([]);
  });
});

describe('the arm64 package', { timeout: 600_000 }, () => {
  let tree: string;
  // The arm64 C library of the cross toolchain stands in for the box's /lib/aarch64-linux-gnu.
  // LD_LIBRARY_PATH keeps the loader on it: once libc6:arm64 is installed (libstd-rust-web-dev:arm64
  // pulls it in), the host's ld.so.cache sends the cross ld.so (glibc 2.36-8cross1) to
  // /lib/aarch64-linux-gnu's libc (2.36-9+deb12u14), and node hung at start on that mix.
  const qemuArgs = ['-L', '/usr/aarch64-linux-gnu', '-E', 'LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib'];
  beforeAll(() => {
    buildPackage('arm64');
    tree = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-arm64-'));
    sh('dpkg-deb', ['-x', debFor('arm64'), tree]);
  }, 900_000);
  afterAll(() => fs.rmSync(tree, { recursive: true, force: true }));

  it('holds ARM aarch64 binaries only', () => {
    const lib = path.join(tree, 'usr/lib/backworks');
    const binaries = ['node/bin/node', 'dist/native/bw-plugin-host', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      'node_modules/koffi/build/koffi/linux_arm64/koffi.node', 'plugins/libhello_c.so'];
    for (const file of binaries) expect(sh('file', ['-b', path.join(lib, file)])).toContain('ARM aarch64');
    const elves = sh('sh', ['-c', `find ${lib} -type f \\( -name '*.node' -o -name '*.so' -o -perm -u+x \\) -exec file -b {} + | grep ELF | sort | uniq -c`]);
    expect(elves).not.toMatch(/x86-64|Intel 80386/);
  });

  it('carries a better-sqlite3 built without Node 24\'s ObjectWrap cleanup hooks (they abort the service on GC)', () => {
    const addon = fs.readFileSync(path.join(tree, 'usr/lib/backworks/node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
    expect(addon.includes('AddEnvironmentCleanupHook')).toBe(true); // the addon's own hook: the symbol table is readable
    expect(addon.includes('RemoveEnvironmentCleanupHook')).toBe(false);
  });

  it('runs backworks --version and loads better-sqlite3 and koffi under qemu-user', () => {
    const lib = path.join(tree, 'usr/lib/backworks');
    const qemu = (args: string[]) => sh('qemu-aarch64-static', [...qemuArgs, path.join(lib, 'node/bin/node'), ...args], { cwd: lib });
    expect(qemu([path.join(lib, 'dist/service/src/cli.js'), '--version']).trim()).toBe(version);
    const loaded = spawnSync('qemu-aarch64-static', [...qemuArgs, path.join(lib, 'node/bin/node'), '-e', `
      const Database = require('better-sqlite3');
      const db = new Database(':memory:');
      const sqlite = db.prepare('select sqlite_version() as v').get().v;
      db.close();
      const koffi = require('koffi');
      const abs = koffi.load('libc.so.6').func('int abs(int)');
      console.log(JSON.stringify({ arch: process.arch, sqlite, abs: abs(-7) }));`], { cwd: lib }).stdout.toString();
    expect(JSON.parse(loaded)).toMatchObject({ arch: 'arm64', sqlite: expect.stringMatching(/^3\./), abs: 7 });
  });

  it('carries every Rust plugin, and under qemu-user the plugin host reads the descriptors of two of them', async () => {
    const lib = path.join(tree, 'usr/lib/backworks');
    const { rustPlugins } = await import(pathToFileURL(path.join(repoRoot, 'deploy/package/native.mjs')).href) as { rustPlugins: (root: string) => { lib: string }[] };
    const libs = rustPlugins(repoRoot).map((p) => p.lib);
    expect(libs).toEqual(expect.arrayContaining(['libhl7_plugin.so', 'libedi_plugin.so', 'libfix_plugin.so', 'libmy_plugin.so']));
    for (const name of libs) expect(sh('file', ['-b', path.join(lib, 'plugins', name)])).toContain('ARM aarch64');
    const inspect = (plugin: string) => JSON.parse(sh('qemu-aarch64-static', [...qemuArgs,
      path.join(lib, 'dist/native/bw-plugin-host'), '--inspect', path.join(lib, 'plugins', plugin)]));
    expect(inspect('libhl7_plugin.so')).toMatchObject({ name: 'hl7-fhir', abi_major: 1 });
    expect(inspect('libmy_plugin.so')).toMatchObject({ name: 'my-plugin', abi_major: 1 });
  });
});

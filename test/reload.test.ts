import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/net.js';
import { cliPath, startService, type RunningService } from './helpers/service.js';
import { tempDir } from './helpers/tmp.js';
import { message, msa, RawClient, writeConfig } from './packs/healthcare/hl7-helpers.js';

const exec = promisify(execFile);

const config = (opts: { endpoints: string[]; simInterval?: string; watch?: boolean; extra?: string }) => `
${opts.watch ? 'watch_config: true' : ''}
plugins:
  in: { type: builtin, pack: general/http-ingest }
  sim:
    type: builtin
    pack: manufacturing/simulator
    config:
      devices: [{ name: m1, points: [{ name: t, signal: counter, interval: ${opts.simInterval ?? '1s'} }] }]
${opts.extra ?? ''}
endpoints:
${opts.endpoints.map((e) => `  ${e}: { path: /${e}, methods: [GET, POST], plugin: in }`).join('\n')}
`;

async function reloadCli(service: RunningService): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cliPath, 'reload', '--url', service.url, '--token', service.token]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const statusOf = async (service: RunningService, route: string) => (await service.fetch(route)).status;
const json = { 'content-type': 'application/json' };

describe('hot reload of backworks.yaml', () => {
  let service: RunningService | undefined;
  afterEach(async () => { await service?.stop(); service = undefined; });

  it('adds and removes endpoints, replaces a changed plugin and leaves an unchanged one alone', async () => {
    const file = path.join(tempDir(), 'backworks.yaml');
    fs.writeFileSync(file, config({ endpoints: ['a'] }));
    service = await startService(file);
    await service.fetch('/a', { method: 'POST', headers: json, body: '{"device":"d","point":"p","value":1}' });
    expect(await statusOf(service, '/b')).toBe(404);

    fs.writeFileSync(file, config({ endpoints: ['b'], simInterval: '500ms' }));
    const { code, stdout } = await reloadCli(service);
    expect(code).toBe(0);
    expect(stdout).toBe('reloaded: 1 plugins unchanged, 1 replaced, 0 started, 0 removed; 1 endpoints\n');

    expect(await statusOf(service, '/a')).toBe(404);
    // The same http-ingest instance answers: it still counts the reading accepted before the reload.
    expect(await (await service.fetch('/b')).json()).toMatchObject({ accepted: 1 });
    const health = (await (await service.fetch('/health')).json()) as { plugins: Record<string, { state: string }> };
    expect(health.plugins.sim.state).toBe('running');
  });

  it('refuses a broken file with FILE:LINE:COL and keeps serving the running config', async () => {
    const file = path.join(tempDir(), 'backworks.yaml');
    fs.writeFileSync(file, config({ endpoints: ['a'] }));
    service = await startService(file);
    fs.writeFileSync(file, `${config({ endpoints: ['a', 'b'] })}\nserver:\n  port: "eighty"\n`);
    const { code, stderr } = await reloadCli(service);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`${file}:\\d+:9: "port" must be an integer, got "eighty"\\nreload refused: the running configuration stays`));
    expect(await statusOf(service, '/a')).toBe(200);
    expect(await statusOf(service, '/b')).toBe(404);
  });

  it('loses no request while reloading under HTTP load', async () => {
    const file = path.join(tempDir(), 'backworks.yaml');
    fs.writeFileSync(file, config({ endpoints: ['a'] }));
    service = await startService(file);
    const url = service.url;
    let sent = 0;
    let failed = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        sent++;
        const res = await service!.fetch(`${url}/a`, { method: 'POST', headers: json, body: '{"device":"d","point":"p","value":1}' }).catch(() => undefined);
        if (res?.status !== 200) failed++;
        await res?.arrayBuffer();
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let i = 0; i < 6; i++) {
      // Each reload replaces the simulator and rebuilds the endpoint table (adding and removing /b).
      fs.writeFileSync(file, config({ endpoints: i % 2 ? ['a'] : ['a', 'b'], simInterval: `${500 + i}ms` }));
      expect((await reloadCli(service!)).code).toBe(0);
    }
    running = false;
    await Promise.all(workers);
    expect(sent).toBeGreaterThan(100);
    expect(failed).toBe(0);
    const stats = (await (await service.fetch(`${url}/a`)).json()) as { accepted: number };
    expect(stats.accepted).toBe(sent);
  });

  it('watches the file when watch_config is on', async () => {
    const file = path.join(tempDir(), 'backworks.yaml');
    fs.writeFileSync(file, config({ endpoints: ['a'], watch: true }));
    service = await startService(file);
    // Editors save by renaming a new file over the old one.
    fs.writeFileSync(`${file}.tmp`, config({ endpoints: ['a', 'c'], watch: true }));
    fs.renameSync(`${file}.tmp`, file);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await statusOf(service, '/c')) !== 200) await new Promise((r) => setTimeout(r, 100));
    expect(await statusOf(service, '/c')).toBe(200);
  });

  it('replaces a plugin that owns a port (an MLLP listener) in place, and brings its old config back when the new one fails', async () => {
    const dir = tempDir();
    const port = await freePort();
    const acked = async (control: string) => {
      const client = await RawClient.open(port);
      try {
        client.send(client.frame(message('2.5.1', control)));
        return msa(await client.ack())[0];
      } finally {
        client.close();
      }
    };
    const file = writeConfig(dir, port);
    service = await startService(file);
    expect(await acked('before')).toBe('AA');

    // A changed config: the new instance cannot listen beside the old one, so the old one steps aside.
    writeConfig(dir, port, '      dedup_window: 1h');
    const changed = await reloadCli(service);
    expect(changed).toMatchObject({ code: 0, stdout: 'reloaded: 0 plugins unchanged, 1 replaced, 0 started, 0 removed; 3 endpoints\n' });
    expect(await acked('after-change')).toBe('AA');

    // A config that cannot start at all: refused with the reason, and the previous config listens again.
    writeConfig(dir, port, '      base_url: https://fhir.invalid\n      tls: {ca_file: ./missing.pem}');
    const broken = await reloadCli(service);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('"hl7-fhir" keeps its previous config: the new one is not healthy');
    expect(broken.stdout).toContain('missing.pem');
    expect(await acked('after-refusal')).toBe('AA');
    const health = (await (await service.fetch('/health')).json()) as { plugins: Record<string, { state: string; status: string }> };
    expect(health.plugins['hl7-fhir']).toMatchObject({ status: 'healthy' });
  });
});


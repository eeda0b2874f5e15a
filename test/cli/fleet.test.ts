import { execFile, spawn } from 'node:child_process';
import readline from 'node:readline';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataBuffer } from '../../service/src/buffer/buffer.js';
import { FleetLink } from '../../service/src/uplink/fleet-link.js';
import type { GatewayView } from '../../service/src/cli/fleet-view.js';
import { openBuffer, tempDir } from '../buffer/helpers.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { cliPath } from '../helpers/service.js';
import { encode } from '../../service/src/uplink/sparkplug/payload.js';
import { waitFor } from '../helpers/wait.js';
import { control, quietLog } from '../uplink/helpers.js';

const exec = promisify(execFile);

/** `backworks fleet` (the compiled CLI) against a real Mosquitto with real fleet links on it. */
let broker: Broker;
const links: FleetLink[] = [];
const buffers: DataBuffer[] = [];
const dirs: string[] = [];
beforeAll(async () => {
  broker = await startMosquitto();
  for (const [site, id, sparkplug] of [['plant', 'gw-1', false], ['plant', 'gw-2', true], ['depot', 'gw-9', false]] as const) {
    const dir = tempDir();
    dirs.push(dir);
    const buffer = openBuffer(path.join(dir, 'b.db'), { flushRows: 100, flushIntervalMs: 20 });
    buffers.push(buffer);
    links.push(new FleetLink({
      gateway: { site, id },
      fleet: { mqtt: { url: broker.url }, health_interval: '1h', reconnect: { initial: '100ms', max: '1s' }, ...(sparkplug ? { sparkplug: {} } : {}) },
      buffer, control, log: quietLog, version: '0.1.0-test', configDir: process.cwd(),
    }));
  }
  await waitFor('the links online', () => links.every((l) => l.linkState === 'online'), { timeoutMs: 20_000 });
}, 60_000);
afterAll(async () => {
  for (const l of links) await l.stop();
  for (const b of buffers) b.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  await broker.close();
});

async function fleet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cliPath, 'fleet', ...args, '--url', broker.url], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('backworks fleet', () => {
  it('status lists every gateway with state, version, health and what it speaks', async () => {
    await Promise.all(links.map((l) => l.publishHealth()));
    const { code, stdout } = await fleet('status', '--json');
    expect(code).toBe(0);
    const gateways = (JSON.parse(stdout) as { gateways: GatewayView[] }).gateways;
    const plant2 = gateways.find((g) => g.name === 'plant/gw-2')!;
    expect(plant2).toMatchObject({ state: 'online', version: '0.1.0-test', health: 'healthy', via: expect.arrayContaining(['backworks']) });
    expect(gateways.map((g) => g.name)).toEqual(expect.arrayContaining(['plant/gw-1', 'plant/gw-2', 'depot/gw-9']));
    const table = await fleet('status');
    expect(table.stdout).toMatch(/^GATEWAY\s+STATE\s+VERSION\s+HEALTH\s+BACKLOG/);
    expect(table.stdout).toMatch(/plant\/gw-1\s+online\s+0\.1\.0-test/);
  }, 60_000);

  it('cmd sends to a whole site and collects each answer by correlation data; a gateway that does not answer fails the run', async () => {
    const site = await fleet('cmd', 'ping', '--site', 'plant', '--json');
    expect(site.code).toBe(0);
    const results = (JSON.parse(site.stdout) as { results: Array<{ gateway: string; answer: { ok: boolean; result: { pong: boolean } } }> }).results;
    expect(results.map((r) => r.gateway).sort()).toEqual(['plant/gw-1', 'plant/gw-2']);
    expect(results.every((r) => r.answer.ok && r.answer.result.pong)).toBe(true);

    const ghost = await fleet('cmd', 'ping', '--gateway', 'plant/ghost', '--timeout', '1s');
    expect(ghost.code).toBe(1);
    expect(ghost.stdout).toContain('plant/ghost  no answer within the timeout');

    const unknown = await fleet('cmd', 'self-destruct', '--gateway', 'plant/gw-1');
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('error BW_ERR_FLEET_UNKNOWN_COMMAND');

    const usage = await fleet('cmd', 'ping');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('exactly one of --gateway SITE/ID, --site SITE or --all');
  }, 60_000);

  it('status reads Sparkplug births too: a node reborn while it watches shows its NBIRTH metrics', async () => {
    let watched = false;
    const watching = fleet('status', '--json', '--wait', '4s').finally(() => { watched = true; });
    // Births are not retained: ask again until the watcher, which may take a while to start on a
    // busy machine, has had the chance to subscribe and see one.
    const asker = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    while (!watched) {
      await new Promise((r) => setTimeout(r, 500));
      await asker.publishAsync('spBv1.0/plant/NCMD/gw-2', encode({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] }), { qos: 0 });
    }
    await asker.endAsync();
    const { stdout } = await watching;
    const gw2 = (JSON.parse(stdout) as { gateways: GatewayView[] }).gateways.find((g) => g.name === 'plant/gw-2')!;
    expect(gw2.via.sort()).toEqual(['backworks', 'sparkplug']);
    expect(gw2).toMatchObject({ state: 'online', version: '0.1.0-test', health: 'healthy', backlog: 0 });
  }, 60_000);

  it('status --watch prints again when a gateway appears and goes, and ends on Ctrl-C', async () => {
    const watch = spawn(process.execPath, [cliPath, 'fleet', 'status', '--watch', '--json', '--url', broker.url, '--wait', '1s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const views: GatewayView[][] = [];
    readline.createInterface({ input: watch.stdout! }).on('line', (line) => views.push((JSON.parse(line) as { gateways: GatewayView[] }).gateways));
    const exited = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the first view', () => views.length >= 1, { timeoutMs: 20_000 });
      const late = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0, will: { topic: 'backworks/late/gw-x/status', payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true } });
      await late.publishAsync('backworks/late/gw-x/status', JSON.stringify({ state: 'online', version: '9.9.9' }), { qos: 1, retain: true });
      await waitFor('the late gateway online', () => views.at(-1)!.some((g) => g.name === 'late/gw-x' && g.state === 'online'), { timeoutMs: 10_000 });
      late.stream.destroy(); // gone without a goodbye: the broker publishes its will
      await waitFor('the late gateway offline', () => views.at(-1)!.some((g) => g.name === 'late/gw-x' && g.state === 'offline'), { timeoutMs: 20_000 });
      watch.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      watch.kill('SIGKILL');
      const clear = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
      await clear.publishAsync('backworks/late/gw-x/status', '', { qos: 1, retain: true });
      await clear.endAsync();
    }
  }, 60_000);

  it('rebirth asks a Sparkplug node for a new birth and waits for it', async () => {
    const ok = await fleet('rebirth', '--gateway', 'plant/gw-2');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('plant/gw-2  NBIRTH received');
    const none = await fleet('rebirth', '--gateway', 'plant/gw-1', '--timeout', '1s');
    expect(none.code).toBe(1);
  }, 60_000);

  it('status --json lists 500 gateways within 10 s', async () => {
    // 500 lightweight links: one MQTT connection each, with the retained status and health a gateway publishes.
    const sims: MqttClient[] = [];
    try {
      for (let batch = 0; batch < 10; batch++) {
        sims.push(...await Promise.all(Array.from({ length: 50 }, async (_, i) => {
          const id = `sim-${batch * 50 + i}`;
          const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: id, reconnectPeriod: 0 });
          await c.publishAsync(`backworks/scale/${id}/status`, JSON.stringify({ state: 'online', version: '0.1.0-sim', since: new Date().toISOString() }), { qos: 1, retain: true });
          await c.publishAsync(`backworks/scale/${id}/health`, JSON.stringify({ status: 'healthy', ts: Date.now(), buffer: { pending: { fleet: i } } }), { qos: 0, retain: true });
          return c;
        })));
      }
      // The CLI stops collecting at --wait: all 500 in its list means all 500 within 10 s.
      const started = Date.now();
      const { code, stdout } = await fleet('status', '--json', '--wait', '10s');
      console.log(`fleet status --json: 500 gateways listed in ${Date.now() - started} ms (process start included)`);
      expect(code).toBe(0);
      const scale = (JSON.parse(stdout) as { gateways: GatewayView[] }).gateways.filter((g) => g.site === 'scale');
      expect(scale.length).toBe(500);
      expect(scale.every((g) => g.state === 'online' && g.health === 'healthy')).toBe(true);
    } finally {
      for (const c of sims) {
        await c.publishAsync(`backworks/scale/${c.options.clientId}/status`, '', { qos: 1, retain: true }).catch(() => {});
        await c.publishAsync(`backworks/scale/${c.options.clientId}/health`, '', { qos: 0, retain: true }).catch(() => {});
        await c.endAsync(true);
      }
    }
  }, 90_000);
});

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetLink } from '../../service/src/uplink/fleet-link.js';
import { openBuffer, tempDir } from '../buffer/helpers.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { repoRoot } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { control, quietLog } from './helpers.js';

/**
 * The broker ACL design of deploy/README.md on a real Mosquitto with its dynamic-security plugin,
 * provisioned by deploy/mqtt/fleet-acl.sh: a gateway publishes only under its own topics and reads
 * only its own commands, whatever its software does.
 */
const DYNSEC = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
const ACL_SCRIPT = path.join(repoRoot, 'deploy/mqtt/fleet-acl.sh');
let broker: Broker;
const dir = tempDir();
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  const file = path.join(dir, 'dynamic-security.json');
  execFileSync('mosquitto_ctrl', ['dynsec', 'init', file, 'admin', 'admin-pw'], { stdio: 'ignore' });
  broker = await startMosquitto({ extra: [`plugin ${DYNSEC}`, `plugin_opt_config_file ${file}`] });
  const env = { ...process.env, MOSQUITTO_CTRL: `-h 127.0.0.1 -p ${broker.port} -u admin -P admin-pw` };
  const provision = (...args: string[]) => execFileSync('sh', [ACL_SCRIPT, ...args], { env, stdio: 'pipe' });
  provision('gateway', 'plant', 'gw-a', 'pw-a');
  provision('gateway', 'plant', 'gw-b', 'pw-b');
  provision('operator', 'ops', 'pw-ops');
}, 60_000);
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await broker.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function connect(username: string, password: string) {
  return mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `${username}-${Math.random().toString(16).slice(2)}`, username, password, reconnectPeriod: 0 });
}

describe('fleet broker ACL (Mosquitto dynamic security)', () => {
  it('lets a gateway work under its own topics and refuses its publish under another gateway\'s topic', async () => {
    const ops = await connect('ops', 'pw-ops');
    cleanups.push(() => ops.endAsync(true));
    const seen: Array<{ topic: string; payload: string }> = [];
    ops.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await ops.subscribeAsync(['backworks/#', 'spBv1.0/#'], { qos: 1 });
    const buffer = openBuffer(path.join(dir, 'a.db'), { flushRows: 100, flushIntervalMs: 20 });
    const link = new FleetLink({
      gateway: { site: 'plant', id: 'gw-a' },
      fleet: { mqtt: { url: broker.url, username: 'gw-plant-gw-a', password: 'pw-a' }, health_interval: '1h', sparkplug: {}, commands: { response_prefixes: ['backworks/_ops/'] } },
      buffer, control, log: quietLog, version: '0.1.0-test', configDir: dir,
    });
    cleanups.push(() => buffer.close(), () => link.stop());
    await waitFor('gw-a online', () => link.linkState === 'online', { timeoutMs: 20_000 });

    await waitFor('gw-a status and Sparkplug birth reach the operator', () => seen.some((m) => m.topic === 'backworks/plant/gw-a/status') && seen.some((m) => m.topic === 'spBv1.0/plant/NBIRTH/gw-a'), { timeoutMs: 20_000 });

    // The operator's command reaches gw-a, and gw-a's answer reaches the operator.
    await ops.publishAsync('backworks/plant/gw-a/cmd/ping', '', { qos: 1, properties: { responseTopic: 'backworks/_ops/ops', correlationData: Buffer.from('p') } });
    await waitFor('the answer', () => seen.some((m) => m.topic === 'backworks/_ops/ops' && JSON.parse(m.payload).ok === true), { timeoutMs: 20_000 });

    // gw-a's credentials, whatever software holds them: a publish as gw-b is refused by the broker
    // (PUBACK 0x87, not authorized). Each attempt on its own connection: mqtt.js ends one after a refusal.
    const rogue = async () => { const c = await connect('gw-plant-gw-a', 'pw-a'); cleanups.push(() => c.endAsync(true)); return c; };
    const publishAs = async (topic: string) => (await rogue()).publishAsync(topic, JSON.stringify({ state: 'offline' }), { qos: 1 }).then(() => 0, (err: { code?: number }) => err.code);
    expect(await publishAs('backworks/plant/gw-b/status')).toBe(0x87);
    expect(await publishAs('spBv1.0/plant/NDEATH/gw-b')).toBe(0x87);
    expect(await publishAs('backworks/plant/gw-a/status')).toBe(0);
    // …and it may not read gw-b's commands (SUBACK 0x87), while its own are granted.
    await expect((await rogue()).subscribeAsync('backworks/plant/gw-b/cmd/#', { qos: 1 })).rejects.toThrow('Not authorized');
    expect((await (await rogue()).subscribeAsync('backworks/plant/gw-a/cmd/#', { qos: 1 })).map((g) => g.qos)).toEqual([1]);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.filter((m) => m.topic.includes('gw-b'))).toEqual([]);
  }, 60_000);
});

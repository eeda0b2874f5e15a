import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/net.js';
import { repoRoot, startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Restarts and reloads asked all at once, over HTTP and over the fleet link's MQTT commands, for a
 * Modbus pack polling a real Modbus TCP server in its own process, which counts the connections
 * and the reads on its side: afterwards one instance polls, on one connection, and nothing is
 * stored twice; SIGTERM ends the gateway within 10 s.
 */

interface ServerEvent { event: string; peer?: number; open?: number; opened?: number; value?: number; t: number }

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

async function startCountingServer(): Promise<{ events: ServerEvent[]; process: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(repoRoot, 'test/fixtures/modbus/counting-server.mjs'), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => { child.kill('SIGKILL'); });
  const events: ServerEvent[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => events.push({ ...JSON.parse(line) as ServerEvent, t: Date.now() }));
  await waitFor('the Modbus server', () => events.some((e) => e.event === 'ready'));
  return { events, process: child, port };
}

describe('lifecycle: concurrent restarts and reloads', { timeout: 90_000 }, () => {
  it('leaves exactly one polling instance after 20 restarts and reloads at once, and stops within 10 s', async () => {
    const modbus = await startCountingServer();
    const broker: Broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const dir = tempDir();
    const file = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(file, `
gateway: { id: gw-1, site: plant }
fleet:
  mqtt: { url: "${broker.url}" }
plugins:
  plc:
    type: builtin
    pack: manufacturing/modbus
    config:
      devices:
        - name: press
          address: "127.0.0.1:${modbus.port}"
          interval: 100ms
          points: [{ name: counter, table: holding, address: 0 }]
endpoints:
  press: { path: /press, data: { device: press } }
`);
    const service: RunningService = await startService(file);
    cleanups.push(() => service.stop('SIGKILL'));
    await waitFor('the first poll', () => modbus.events.some((e) => e.event === 'read'));
    await waitFor('the fleet link', () => service.logs.some((l) => l.msg === 'fleet: connected'), { timeoutMs: 10_000 });

    const operator = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    cleanups.push(() => operator.endAsync());
    const replies: Array<Record<string, unknown>> = [];
    await operator.subscribeAsync('ops/replies', { qos: 1 });
    operator.on('message', (_topic, payload) => replies.push(JSON.parse(payload.toString()) as Record<string, unknown>));
    await new Promise((r) => setTimeout(r, 500)); // the gateway's command subscription

    // 20 restarts (10 over HTTP, 10 over MQTT) and 4 reloads, all at once.
    const asked = Date.now();
    const http = [
      ...Array.from({ length: 10 }, () => service.fetch('/api/plugins/plc/restart', { method: 'POST' })),
      ...Array.from({ length: 4 }, () => service.fetch('/api/reload', { method: 'POST' })),
    ];
    for (let i = 0; i < 10; i++) {
      void operator.publishAsync('backworks/plant/gw-1/cmd/plugin-restart', JSON.stringify({ plugin: 'plc' }), {
        qos: 1, properties: { responseTopic: 'ops/replies', correlationData: Buffer.from(`r${i}`) },
      });
    }
    const answers = await Promise.all(http);
    expect(answers.map((a) => a.status)).toEqual(Array(14).fill(200));
    await waitFor('10 MQTT answers', () => replies.length >= 10, { timeoutMs: 30_000 });
    console.log(`lifecycle: 24 requests answered in ${Date.now() - asked} ms`);
    expect(replies.map((r) => [r.ok, r.command])).toEqual(Array(10).fill([true, 'plugin-restart']));

    // Let the last retired instance go, then watch one second of polling.
    await new Promise((r) => setTimeout(r, 1_500));
    const from = modbus.events.length;
    const windowStart = Date.now();
    await new Promise((r) => setTimeout(r, 1_500));
    const windowEvents = modbus.events.slice(from);
    const lastOpen = [...modbus.events].reverse().find((e) => e.open !== undefined)!;
    expect(lastOpen.open).toBe(1); // one TCP connection to the device
    expect(Math.max(...modbus.events.map((e) => e.opened ?? 0))).toBeGreaterThan(1); // the restarts did replace the instance
    const reads = windowEvents.filter((e) => e.event === 'read');
    expect(new Set(reads.map((e) => e.peer)).size).toBe(1); // all reads from one instance
    expect(reads.length).toBeGreaterThan(3);
    expect(reads.length).toBeLessThan(25); // one poller every 100 ms, not several

    // Each value the device served in the window is stored once.
    const history = await (await service.fetch(`/api/devices/press/history?point=counter&from=${new Date(windowStart - 200).toISOString()}&limit=10000`)).json() as { readings: Array<{ value: number }> };
    const stored = history.readings.map((r) => r.value);
    expect(stored.length).toBe(new Set(stored).size);
    for (const read of reads.slice(0, -2)) expect(stored).toContain(read.value);

    const health = await (await service.fetch('/health')).json() as { plugins: Record<string, { state: string }> };
    expect(Object.keys(health.plugins)).toEqual(['plc']);
    expect(health.plugins.plc!.state).toBe('running');

    const stopping = Date.now();
    const code = await service.stop('SIGTERM');
    const stopMs = Date.now() - stopping;
    console.log(`lifecycle: SIGTERM to exit ${stopMs} ms`);
    expect(code).toBe(0);
    expect(stopMs).toBeLessThan(10_000);
    await waitFor('the device to see its last connection closed', () => [...modbus.events].reverse().find((e) => e.open !== undefined)?.open === 0, { timeoutMs: 5_000 });
  });
});

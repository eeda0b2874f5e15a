import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DataBuffer } from '../../service/src/buffer/buffer.js';
import type { FleetLink } from '../../service/src/uplink/fleet-link.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';
import { openBuffer, readings, tempDir } from '../buffer/helpers.js';
import { checkDelivery, client, startLink, subscriber } from './helpers.js';

let broker: Broker;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
beforeAll(async () => { broker = await startMosquitto({ persistence: true }); });
afterAll(async () => { await broker.close(); });
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

function bufferIn(name = 'b.db'): DataBuffer {
  const dir = tempDir();
  const buffer = openBuffer(path.join(dir, name), { flushRows: 500, flushIntervalMs: 20 });
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => buffer.close());
  return buffer;
}

function link(buffer: DataBuffer, id: string, fleet = {}): FleetLink {
  const l = startLink(buffer, broker.url, fleet, id);
  cleanups.push(() => l.stop());
  return l;
}

describe('fleet link', () => {
  it('publishes a retained online status, then drains the outbox in seq order and moves the cursor', async () => {
    const buffer = bufferIn();
    await buffer.emit('sim', [...readings('press', 700, 0), ...readings('oven', 300, 0)]);
    const sub = await subscriber(broker.url, 'backworks/plant/gw-drain/#');
    cleanups.push(() => sub.close());
    link(buffer, 'gw-drain');
    await waitFor('1000 readings', () => sub.readings.length >= 1000, { timeoutMs: 20_000 });
    const status = sub.messages.find((m) => m.topic === 'backworks/plant/gw-drain/status');
    expect(JSON.parse(status!.payload)).toMatchObject({ state: 'online', version: '0.1.0-test' });
    const result = checkDelivery(sub.readings, Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(result).toEqual({ missing: [], outOfOrder: 0, duplicates: 0 });
    expect(sub.readings.find((r) => r.seq === 701)).toMatchObject({ device: 'oven', point: 'p', value: 0, quality: 'good' });
    expect(new Set(sub.messages.filter((m) => m.topic.includes('/data/')).map((m) => m.topic))).toEqual(new Set(['backworks/plant/gw-drain/data/press', 'backworks/plant/gw-drain/data/oven']));
    await waitFor('the cursor to reach the end', () => buffer.pending().fleet === 0, { timeoutMs: 20_000 });
  });

  it('loses nothing when the broker stops for seconds under load: every seq arrives, in order', async () => {
    const buffer = bufferIn();
    const sub = await subscriber(broker.url, 'backworks/plant/gw-outage/data/#');
    cleanups.push(() => sub.close());
    const l = link(buffer, 'gw-outage');
    await waitFor('the link', () => l.linkState === 'online', { timeoutMs: 20_000 });

    // A producer at ~5,000 readings/s across 3 devices, running through the outage.
    let produced = 0;
    let stopProducing = false;
    const producer = (async () => {
      while (!stopProducing) {
        const batch = ['a', 'b', 'c'].flatMap((d) => readings(d, 50, produced));
        produced += 50;
        await buffer.emit('sim', batch);
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    await waitFor('data flowing before the outage', () => sub.readings.length > 2000, { timeoutMs: 20_000 });
    await broker.stop();
    // The fleet subscriber's session (and what was queued for it) survives the broker restart.
    expect(fs.existsSync(path.join(broker.dir, 'mosquitto.db'))).toBe(true);
    await new Promise((r) => setTimeout(r, 4000));
    expect(l.linkState).toBe('offline');
    expect(buffer.pending().fleet).toBeGreaterThan(0);
    await broker.start();
    await new Promise((r) => setTimeout(r, 2000));
    stopProducing = true;
    await producer;
    const total = produced * 3;
    await waitFor('the outbox to drain after the outage', () => buffer.pending().fleet === 0, { timeoutMs: 30_000 });
    await waitFor(`${total} distinct seqs at the subscriber`, () => new Set(sub.readings.map((r) => r.seq)).size >= total, { timeoutMs: 30_000 }).catch((err) => {
      const { missing } = checkDelivery(sub.readings, Array.from({ length: total }, (_, i) => i + 1));
      throw new Error(`${err.message}; missing ${missing.length} seqs, first ${missing.slice(0, 5).join(', ')}; broker log:\n${broker.log()}`);
    });
    const result = checkDelivery(sub.readings, Array.from({ length: total }, (_, i) => i + 1));
    expect(result.missing).toEqual([]);
    expect(result.outOfOrder).toBe(0);
  }, 60_000);

  it('answers a command on the response topic with the correlation data; unknown and disabled commands get errors', async () => {
    const buffer = bufferIn();
    const l = link(buffer, 'gw-cmd', { commands: { disabled: ['reload'] } });
    await waitFor('the link', () => l.linkState === 'online', { timeoutMs: 20_000 });
    const operator = await client(broker.url);
    cleanups.push(() => operator.endAsync(true));
    const answers: Array<{ correlation: string; body: Record<string, unknown> }> = [];
    operator.on('message', (_t, payload, packet) => answers.push({ correlation: packet.properties?.correlationData?.toString() ?? '', body: JSON.parse(payload.toString()) }));
    await operator.subscribeAsync('ops/replies', { qos: 1 });
    const ask = (name: string, correlation: string, payload = '') => operator.publishAsync(`backworks/plant/gw-cmd/cmd/${name}`, payload, {
      qos: 1, properties: { responseTopic: 'ops/replies', correlationData: Buffer.from(correlation) },
    });
    await new Promise((r) => setTimeout(r, 200)); // the link subscribes right after CONNACK
    await ask('ping', 'c-1');
    await ask('self-destruct', 'c-2');
    await ask('reload', 'c-3');
    await ask('plugin-restart', 'c-4', '{"plugin": "sim"}');
    await ask('plugin-restart', 'c-5', '{"plugin": "ghost"}');
    await ask('buffer-stats', 'c-6');
    await ask('health', 'c-7');
    await ask('config', 'c-8');
    await ask('ping', 'c-9', 'not json');
    await waitFor('9 answers', () => answers.length === 9, { timeoutMs: 20_000 });
    const by = (c: string) => answers.find((a) => a.correlation === c)!.body;
    expect(by('c-1')).toMatchObject({ ok: true, command: 'ping', result: { pong: true, version: '0.1.0-test' } });
    expect(by('c-2')).toMatchObject({ ok: false, error: { code: 'BW_ERR_FLEET_UNKNOWN_COMMAND' } });
    expect((by('c-2').error as { message: string }).message).toContain('unknown command "self-destruct"');
    expect(by('c-3')).toMatchObject({ ok: false, error: { code: 'BW_ERR_FLEET_COMMAND_DISABLED' } });
    expect(by('c-4')).toEqual({ ok: true, command: 'plugin-restart', result: { restarted: 'sim' } });
    expect(by('c-5')).toMatchObject({ ok: false, error: { code: 'BW_ERR_FLEET_COMMAND_FAILED', message: 'command "plugin-restart" failed: no plugin named "ghost"' } });
    expect(by('c-6')).toMatchObject({ ok: true, result: { disk: 'ok', pending: { fleet: 0 } } });
    expect(by('c-7')).toEqual({ ok: true, command: 'health', result: { status: 'healthy', plugins: {} } });
    expect(by('c-8')).toEqual({ ok: true, command: 'config', result: { fleet: { mqtt: { password: '[redacted]' } } } });
    expect(by('c-9')).toMatchObject({ ok: false, error: { code: 'BW_ERR_FLEET_BAD_COMMAND', message: 'command "ping": the payload must be a JSON object (or empty), got "not json"' } });
    // The audit trail holds the commands that change the gateway and the refused ones, not the reads.
    const host = new URL(broker.url).host;
    const rows = buffer.audit.rows().map(({ route, status, outcome, who, via, source, method }) => ({ route, status, outcome, who, via, source, method }));
    const fleet = { who: 'fleet', via: 'mqtt', source: host, method: 'MQTT' };
    expect(rows.sort((a, b) => a.route.localeCompare(b.route) || a.status - b.status)).toEqual([
      { ...fleet, route: 'cmd/ping', status: 400, outcome: 'failed' },
      { ...fleet, route: 'cmd/plugin-restart', status: 200, outcome: 'ok' },
      { ...fleet, route: 'cmd/plugin-restart', status: 500, outcome: 'failed' },
      { ...fleet, route: 'cmd/reload', status: 403, outcome: 'denied' },
      { ...fleet, route: 'cmd/self-destruct', status: 404, outcome: 'failed' },
    ]);
  });

  it('can switch every command off', async () => {
    const buffer = bufferIn();
    const l = link(buffer, 'gw-nocmd', { commands: { enabled: false } });
    await waitFor('the link', () => l.linkState === 'online', { timeoutMs: 20_000 });
    const operator = await client(broker.url);
    cleanups.push(() => operator.endAsync(true));
    const answers: Array<Record<string, unknown>> = [];
    operator.on('message', (_t, payload) => answers.push(JSON.parse(payload.toString())));
    await operator.subscribeAsync('ops/replies2', { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    await operator.publishAsync('backworks/plant/gw-nocmd/cmd/ping', '', { qos: 1, properties: { responseTopic: 'ops/replies2', correlationData: Buffer.from('x') } });
    await waitFor('an answer', () => answers.length === 1, { timeoutMs: 20_000 });
    expect(answers[0]).toMatchObject({ ok: false, error: { code: 'BW_ERR_FLEET_COMMAND_DISABLED' } });
  });
});

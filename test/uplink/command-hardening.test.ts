import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DataBuffer } from '../../service/src/buffer/buffer.js';
import type { FleetLink } from '../../service/src/uplink/fleet-link.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';
import { openBuffer, tempDir } from '../buffer/helpers.js';
import { client, startLink } from './helpers.js';

/** The command path against a real Mosquitto: what an operator (or an attacker on the broker) can send. */
let broker: Broker;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
beforeAll(async () => { broker = await startMosquitto(); });
afterAll(async () => { await broker.close(); });
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

function bufferIn(): DataBuffer {
  const dir = tempDir();
  const buffer = openBuffer(path.join(dir, 'b.db'), { flushRows: 500, flushIntervalMs: 20 });
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => buffer.close());
  return buffer;
}

async function online(id: string, fleet = {}): Promise<{ link: FleetLink; buffer: DataBuffer }> {
  const buffer = bufferIn();
  const link = startLink(buffer, broker.url, fleet, id);
  cleanups.push(() => link.stop());
  await waitFor('the link', () => link.linkState === 'online', { timeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 200)); // it subscribes right after CONNACK
  return { link, buffer };
}

async function operator(...replies: string[]) {
  const c = await client(broker.url);
  cleanups.push(() => c.endAsync(true));
  const answers: Array<{ topic: string; correlation: string; body: { ok: boolean; error?: { code: string; message: string } } }> = [];
  c.on('message', (topic, payload, packet) => answers.push({ topic, correlation: packet.properties?.correlationData?.toString() ?? '', body: JSON.parse(payload.toString()) }));
  await c.subscribeAsync(replies, { qos: 1 });
  return { c, answers };
}

const connects = (link: FleetLink) => (link.health() as { connects: number }).connects;

describe('fleet command path', () => {
  it('refuses response topics with wildcards or outside the allowed prefixes, counts them and keeps its connection', async () => {
    const { link, buffer } = await online('gw-rt', { commands: { response_prefixes: ['ops/'] } });
    const { c, answers } = await operator('x/#', 'ops/#', 'elsewhere/#');
    const ask = (responseTopic: string, correlation: string) => c.publishAsync('backworks/plant/gw-rt/cmd/ping', '', { qos: 1, properties: { responseTopic, correlationData: Buffer.from(correlation) } });
    // 60 commands in a few seconds whose answer would make the broker drop the gateway: none may.
    for (let i = 0; i < 20; i++) {
      await ask('x/#', `w-${i}`);
      await ask('ops/+/replies', `p-${i}`);
      await ask('elsewhere/replies', `o-${i}`);
    }
    await ask('ops/replies', 'good');
    await waitFor('the good answer', () => answers.some((a) => a.correlation === 'good'), { timeoutMs: 20_000 });
    expect(answers.map((a) => a.correlation).filter((x) => x !== 'good')).toEqual([]);
    expect(connects(link)).toBe(1);
    expect(link.health()).toMatchObject({ state: 'online', commands_refused: { response_topic: 60, rate_limited: 0 } });
    const rows = buffer.audit.rows().filter((r) => r.route === 'cmd/ping');
    expect(rows.length).toBe(60);
    expect(rows.every((r) => r.status === 400 && r.outcome === 'failed')).toBe(true);
  });

  it('rate-limits commands per sender: a flooding sender is answered with BW_ERR_FLEET_RATE_LIMITED, another still served', async () => {
    const { link } = await online('gw-rate', { commands: { rate_limit: { burst: 5, per: '1m' } } });
    const flood = await operator('ops/flood');
    const calm = await operator('ops/calm');
    for (let i = 0; i < 12; i++) await flood.c.publishAsync('backworks/plant/gw-rate/cmd/ping', '', { qos: 1, properties: { responseTopic: 'ops/flood', correlationData: Buffer.from(`f-${i}`) } });
    await calm.c.publishAsync('backworks/plant/gw-rate/cmd/ping', '', { qos: 1, properties: { responseTopic: 'ops/calm', correlationData: Buffer.from('calm') } });
    await waitFor('12 answers to the flood', () => flood.answers.length === 12, { timeoutMs: 20_000 });
    await waitFor('the calm sender answered', () => calm.answers.length === 1, { timeoutMs: 20_000 });
    expect(flood.answers.filter((a) => a.body.ok).length).toBe(5);
    const limited = flood.answers.filter((a) => !a.body.ok);
    expect(limited.length).toBe(7);
    expect(limited[0].body.error).toMatchObject({ code: 'BW_ERR_FLEET_RATE_LIMITED' });
    expect(limited[0].body.error!.message).toContain('fleet.commands.rate_limit');
    expect(calm.answers[0].body.ok).toBe(true);
    expect(link.health()).toMatchObject({ commands_refused: { rate_limited: 7 } });
  });

  it('answers a command name with extra levels (cmd/ping/extra) with an error instead of nothing', async () => {
    await online('gw-extra');
    const { c, answers } = await operator('ops/extra');
    await c.publishAsync('backworks/plant/gw-extra/cmd/ping/extra', '', { qos: 1, properties: { responseTopic: 'ops/extra', correlationData: Buffer.from('e') } });
    await waitFor('an answer', () => answers.length === 1, { timeoutMs: 20_000 });
    expect(answers[0]).toMatchObject({ correlation: 'e', body: { ok: false, error: { code: 'BW_ERR_FLEET_UNKNOWN_COMMAND' } } });
    expect(answers[0].body.error!.message).toContain('"ping/extra"');
  });
});

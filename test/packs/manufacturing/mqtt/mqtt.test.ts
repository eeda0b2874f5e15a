import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import createMqtt, { checkConfig } from '../../../../packs/manufacturing/mqtt/index.js';
import { parsePath, select } from '../../../../packs/manufacturing/mqtt/json-path.js';
import { startMosquitto, type Broker } from '../../../helpers/mosquitto.js';
import { collectingHost } from '../modbus/helpers.js';

/** The mqtt devices pack against a real Mosquitto started on a free port. */

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

async function broker(): Promise<Broker> {
  const b = await startMosquitto();
  cleanups.push(() => b.close());
  return b;
}

async function publisher(url: string) {
  const client = await mqtt.connectAsync(url, { clientId: `test-pub-${Math.random()}` });
  cleanups.push(() => client.endAsync(true));
  return client;
}

const config = (url: string) => ({
  broker: { url, reconnect: '200ms' },
  devices: [
    {
      name: 'press-{1}', topic: 'factory/+/telemetry', timestamp: '$.ts', command_topic: 'factory/{1}/cmd',
      points: [
        { name: 'temperature', path: '$.sensors.temp', type: 'number', unit: 'C' },
        { name: 'pressure', path: '$.sensors["pressure bar"]', type: 'number', scale: 100, unit: 'kPa' },
        { name: 'running', path: '$.state.running', type: 'boolean', writable: true },
        { name: 'first_alarm', path: '$.alarms[0]', type: 'string' },
        { name: 'setpoint', path: '$.sp', type: 'number', writable: true, scale: 0.1 },
      ],
    },
    { name: 'counter', topic: 'line/counter', points: [{ name: 'count', path: '$' }] },
  ],
});

describe('manufacturing/mqtt (Mosquitto)', { timeout: 20_000 }, () => {
  it('maps JSON fields to points by path, names devices after topic levels, and uses the payload time', async () => {
    const b = await broker();
    const host = collectingHost();
    const plugin = createMqtt();
    await plugin.initialize(config(b.url), host);
    cleanups.push(() => plugin.shutdown!());
    await host.until(() => host.logs.some((l) => l.message.startsWith('connected')), 5000, 'connected');
    const pub = await publisher(b.url);
    await pub.publishAsync('factory/p7/telemetry', JSON.stringify({
      ts: '2026-01-02T03:04:05Z', sensors: { temp: 81.5, 'pressure bar': 2.5 }, state: { running: true }, alarms: ['oil low'], sp: 'oops',
    }), { qos: 1 });
    await pub.publishAsync('line/counter', '42', { qos: 1 });
    await host.until(() => host.readings.length >= 6, 5000, 'readings');
    const t = Date.parse('2026-01-02T03:04:05Z');
    expect(host.readings.filter((r) => r.device === 'press-p7')).toEqual([
      { device: 'press-p7', point: 'temperature', value: 81.5, quality: 'good', ts: t },
      { device: 'press-p7', point: 'pressure', value: 250, quality: 'good', ts: t },
      { device: 'press-p7', point: 'running', value: true, quality: 'good', ts: t },
      { device: 'press-p7', point: 'first_alarm', value: 'oil low', quality: 'good', ts: t },
      { device: 'press-p7', point: 'setpoint', value: null, quality: 'bad', ts: t }, // a string where a number belongs
    ]);
    expect(host.last('counter', 'count')).toMatchObject({ value: 42, quality: 'good' });

    // a message without some fields only reports the ones it has; a non-JSON one is counted, not fatal
    await pub.publishAsync('factory/p7/telemetry', JSON.stringify({ sensors: { temp: 82 } }), { qos: 1 });
    await pub.publishAsync('factory/p7/telemetry', 'not json', { qos: 1 });
    await host.until(() => host.last('press-p7', 'temperature')?.value === 82, 5000, 'second message');
    await host.until(() => JSON.stringify((plugin.healthCheck!() as { details: object }).details).includes('"invalid":1'), 3000, 'invalid counted');
    expect(host.readings.length).toBe(7);
    const health = await plugin.healthCheck!();
    expect(health.status).toBe('degraded');
    expect(health.details).toMatchObject({ connected: true, messages: 4, invalid: 1, devices: ['press-p7', 'counter'] });
  });

  it('publishes writes to the command topic (scale undone) and refuses what a point cannot take', async () => {
    const b = await broker();
    const host = collectingHost();
    const plugin = createMqtt();
    await plugin.initialize(config(b.url), host);
    cleanups.push(() => plugin.shutdown!());
    await host.until(() => host.logs.some((l) => l.message.startsWith('connected')), 5000, 'connected');
    const pub = await publisher(b.url);
    const commands: unknown[] = [];
    await pub.subscribeAsync('factory/+/cmd', { qos: 1 });
    pub.on('message', (topic, payload) => commands.push([topic, JSON.parse(payload.toString())]));
    await pub.publishAsync('factory/p9/telemetry', JSON.stringify({ sp: 1 }), { qos: 1 });
    await host.until(() => host.readings.length >= 1);

    await plugin.write!('press-p9', 'setpoint', 12.5);
    await plugin.write!('press-p9', 'running', false);
    await host.until(() => commands.length >= 2, 3000, 'commands');
    expect(commands).toEqual([
      ['factory/p9/cmd', { point: 'setpoint', value: 125 }],
      ['factory/p9/cmd', { point: 'running', value: false }],
    ]);
    await expect(plugin.write!('press-p9', 'temperature', 1)).rejects.toMatchObject({ statusCode: 400 });
    await expect(plugin.write!('press-p9', 'running', 'yes')).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('expects a boolean') });
    await expect(plugin.write!('press-p1', 'running', true)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('reconnects and resubscribes after the broker restarts', async () => {
    const b = await broker();
    const host = collectingHost();
    const plugin = createMqtt();
    await plugin.initialize(config(b.url), host);
    cleanups.push(() => plugin.shutdown!());
    await host.until(() => host.logs.some((l) => l.message.startsWith('connected')), 5000, 'connected');
    await b.stop();
    await host.until(() => plugin.healthCheck!() instanceof Object && (plugin.healthCheck!() as { status: string }).status === 'unhealthy', 5000, 'unhealthy');
    await b.start();
    await host.until(() => host.logs.filter((l) => l.message.startsWith('connected')).length >= 2, 8000, 'reconnected');
    const pub = await publisher(b.url);
    await pub.publishAsync('line/counter', '7', { qos: 1 });
    await host.until(() => host.last('counter', 'count')?.value === 7, 5000, 'a message after the restart');
  });

  it('checks paths, topic filters and placeholders with their config paths', () => {
    expect(select({ a: [{ b: 3 }] }, parsePath('$.a[0].b'))).toBe(3);
    expect(select({ 'x y': 1 }, parsePath("$['x y']"))).toBe(1);
    const problems = checkConfig({
      broker: { url: 'mqtt://localhost' },
      devices: [
        { name: 'd-{2}', topic: 'a/+/#/b', command_topic: 'a/+/cmd', points: [{ name: 'p', path: '$.a..b' }, { name: 'p', path: '$.ok' }] },
      ],
    });
    expect(problems.map((p) => `${p.path.join('.')}: ${p.message}`)).toEqual([
      'devices.0.topic: "#" must be a whole level and the last one in "a/+/#/b"',
      'devices.0.command_topic: a topic to publish to cannot contain + or #',
      'devices.0.points.0.path: path "$.a..b": expected a name after "." at character 3',
      'devices.0.points.1.name: point "p" is defined twice',
    ]);
    expect(checkConfig({ broker: { url: 'mqtt://x' }, devices: [{ name: 'd-{0}', topic: 'a/+', points: [{ name: 'p', path: '$' }] }] }))
      .toEqual([{ path: ['devices', 0, 'name'], message: '{0} is not a wildcard level of topic "a/+" (levels count from 0)' }]);
  });
});

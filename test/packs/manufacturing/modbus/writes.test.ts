import { afterEach, describe, expect, it } from 'vitest';
import createModbus from '../../../../packs/manufacturing/modbus/index.js';
import type { ModbusPlugin } from '../../../../packs/manufacturing/modbus/plugin.js';
import { startService } from '../../../helpers/service.js';
import { collectingHost, freePort, modbusGatewayFile, startPymodbus, startWriteStallingProxy } from './helpers.js';

/**
 * The write contract: a device that does not answer in time is "timeout" (504), one that cannot
 * be reached (connection refused, or in back-off) is "unavailable" (503) — from the pack, and
 * through the gateway's PUT /api/devices/:device/points/:point.
 */

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

const point = { name: 'setpoint', table: 'holding', address: 0, access: 'read_write' };

describe('modbus writes: unavailable and timeout', { timeout: 30_000 }, () => {
  it('the pack answers 504 for no answer and 503 for a refused connection', async () => {
    const port = await freePort();
    const server = await startPymodbus('tcp', port, { unit: 1, holding: { 1: 5 } });
    cleanups.push(() => server.stop());
    const proxy = await startWriteStallingProxy(port);
    cleanups.push(() => proxy.close());
    const host = collectingHost();
    const plugin = createModbus() as ModbusPlugin;
    await plugin.initialize({ devices: [
      { name: 'stalling', address: `127.0.0.1:${proxy.port}`, interval: '200ms', timeout: '300ms', retries: 0, points: [point] },
      { name: 'gone', address: `127.0.0.1:${await freePort()}`, interval: '10s', timeout: '300ms', points: [point] },
    ] }, host);
    cleanups.push(() => plugin.shutdown());
    await host.until(() => host.last('stalling', 'setpoint')?.value === 5, 8000, 'the device polled through the proxy');
    await expect(plugin.write('stalling', 'setpoint', 1)).rejects.toMatchObject({ statusCode: 504, message: expect.stringContaining('no answer within the timeout') });
    expect(proxy.swallowed()).toBe(1);
    expect(plugin.poller('stalling')!.status().state).toBe('polling'); // reads still answered
    await expect(plugin.write('gone', 'setpoint', 1)).rejects.toMatchObject({ statusCode: 503 });
    await host.until(() => plugin.poller('gone')!.status().state === 'unreachable', 5000, 'the refused device in back-off');
    await expect(plugin.write('gone', 'setpoint', 1)).rejects.toMatchObject({ statusCode: 503, message: expect.stringContaining('retry once it answers') });
  });

  // Needs the error contract of branch `contract` (a plugin's 503/504 pass through the manager).
  it('the gateway answers the client 504 and 503', async () => {
    const port = await freePort();
    const meter = await startPymodbus('tcp', port, { unit: 1, holding: { 1: 5 } });
    cleanups.push(() => meter.stop());
    const proxy = await startWriteStallingProxy(port);
    cleanups.push(() => proxy.close());
    const file = modbusGatewayFile([
      `        - { name: stalling, address: "127.0.0.1:${proxy.port}", interval: 200ms, timeout: 300ms, retries: 0, points: [{ name: setpoint, table: holding, address: 0, access: read_write }] }`,
      `        - { name: meter, address: "127.0.0.1:${port}", interval: 200ms, timeout: 300ms, points: [{ name: setpoint, table: holding, address: 0, access: read_write }] }`,
    ]);
    const service = await startService(file);
    cleanups.push(() => service.stop());
    const put = (device: string, value: unknown) => service.fetch(`/api/devices/${device}/points/setpoint`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }) });
    // the manager learns which plugin owns a device from its readings: wait for both
    for (let i = 0; i < 100; i++) {
      const [a, b] = await Promise.all([service.fetch('/api/devices/stalling'), service.fetch('/api/devices/meter')]);
      if (a.status === 200 && b.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await put('meter', 6)).status).toBe(200);
    const timeout = await put('stalling', 1);
    expect(timeout.status).toBe(504);
    expect(JSON.stringify(await timeout.json())).toContain('no answer within the timeout');
    await meter.stop(); // connection refused from now on
    let unavailable: Response | undefined;
    for (let i = 0; i < 20; i++) {
      unavailable = await put('meter', 7);
      if (unavailable.status !== 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(unavailable!.status).toBe(503);
  });
});

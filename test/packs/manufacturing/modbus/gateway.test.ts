import { afterEach, describe, expect, it } from 'vitest';
import { authFetch, startService, type RunningService } from '../../../helpers/service.js';
import { modbusGatewayFile, registerMap, startSimServer, type SimServer } from './helpers.js';

/** The pack inside the real, compiled gateway: health and PUT /api/devices/:device/points/:point. */

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

describe('manufacturing/modbus in the gateway', { timeout: 30_000 }, () => {
  it('routes writes to the device and answers refusals with 400 and the reason', async () => {
    const map = registerMap();
    map.holding.set(0, 10); map.holding.set(1, 0); map.coil.set(0, false);
    const sim: SimServer = await startSimServer(map);
    cleanups.push(() => sim.close());
    const file = modbusGatewayFile([
      `        - { name: press, address: "127.0.0.1:${sim.port}", interval: 200ms, points: [`,
      '            { name: setpoint, table: holding, address: 0, access: read_write, max: 500 },',
      '            { name: count, table: holding, address: 1 },',
      '            { name: motor, table: coil, address: 0, access: read_write } ] }',
    ]);
    const service: RunningService = await startService(file);
    cleanups.push(() => service.stop());

    const put = (device: string, point: string, value: unknown) => authFetch(`${service.url}/api/devices/${device}/points/${point}`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }),
    });
    // the manager learns which plugin owns a device from what it emitted: wait for the first cycle
    for (let i = 0; i < 50 && !sim.reads.length; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));

    const ok = await put('press', 'setpoint', 321);
    expect(ok.status).toBe(200);
    expect(map.holding.get(0)).toBe(321);
    expect((await put('press', 'motor', true)).status).toBe(200);
    expect(map.coil.get(0)).toBe(true);

    const tooBig = await put('press', 'setpoint', 501);
    expect(tooBig.status).toBe(400);
    expect(JSON.stringify(await tooBig.json())).toContain('outside its allowed range');
    const readOnly = await put('press', 'count', 1);
    expect(readOnly.status).toBe(400);
    expect(JSON.stringify(await readOnly.json())).toContain('read-only');
    expect(map.holding.get(1)).toBe(0);

    const health = await (await authFetch(`${service.url}/health`)).json() as Record<string, unknown>;
    expect(JSON.stringify(health)).toContain('"press"');
  });
});

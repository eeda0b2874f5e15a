import { afterEach, describe, expect, it } from 'vitest';
import { float32Words, freePort, startPtyPair, startPymodbus, startModbus } from './helpers.js';

/**
 * The modbus pack against an independent implementation: Debian's pymodbus 3.0, with its default
 * one-based datastore (protocol address A is register number A+1), over TCP and over RTU on a pty pair.
 */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

/** A PM5300 as its register list prints it: register numbers, float32 high word first. */
function pm5300Map(): Record<string, number> {
  const holding: Record<string, number> = {};
  for (let r = 2999; r <= 3112; r++) holding[r] = 0; // the measurement block exists as a whole
  const put = (register: number, v: number) => { const [hi, lo] = float32Words(v); holding[register] = hi; holding[register + 1] = lo; };
  put(3000, 12.5); put(3002, 13.25); put(3004, 11.75); put(3028, 230.5); put(3060, 8.625); put(3110, 50);
  put(2700, 123456.5);
  const text = (register: number, s: string, regs: number) => {
    for (let i = 0; i < regs; i++) holding[register + i] = ((s.charCodeAt(2 * i) || 0) << 8) | (s.charCodeAt(2 * i + 1) || 0);
  };
  text(50, 'PM5340', 20);
  text(70, 'Schneider Electric', 20);
  holding[200] = 5; // a setpoint register of our own
  return holding;
}

const start = (config: unknown) => startModbus(config, cleanups);

describe('modbus against pymodbus (Debian python3-pymodbus)', { timeout: 20_000 }, () => {
  it('reads a PM5300 through its firmware profile (1-based register numbers), writes, and reports a refused range', async () => {
    const port = await freePort();
    const server = await startPymodbus('tcp', port, { unit: 1, holding: pm5300Map(), coil: { 1: false, 2: false } });
    cleanups.push(() => server.stop());
    const { host, plugin } = await start({
      devices: [{
        name: 'meter', address: `127.0.0.1:${port}`, unit_id: 1, profile: 'schneider/pm5300@2.1', interval: '200ms', max_gap: 50,
        address_base: 1,
        points: [
          { name: 'setpoint', table: 'holding', address: 200, access: 'read_write', max: 1000 },
          { name: 'relay', table: 'coil', address: 2, access: 'read_write' },
          { name: 'absent', table: 'holding', address: 9000 },
        ],
      }],
    });
    await host.until(() => host.last('meter', 'frequency')?.quality === 'good' && host.last('meter', 'absent') !== undefined, 8000, 'first cycle');
    const v = (p: string) => host.last('meter', p)?.value;
    expect([v('current_a'), v('current_b'), v('current_c'), v('voltage_a_n')]).toEqual([12.5, 13.25, 11.75, 230.5]);
    expect([v('active_power_total'), v('frequency'), v('active_energy_delivered')]).toEqual([8.625, 50, 123456.5]);
    expect([v('meter_model'), v('manufacturer')]).toEqual(['PM5340', 'Schneider Electric']);
    expect(v('setpoint')).toBe(5);
    expect(host.last('meter', 'absent')).toMatchObject({ value: null, quality: 'bad' });
    // max_gap 50 merges the 3000-3111 block into one read: 6 requests a cycle instead of 12
    const plan = plugin.poller('meter')!.requestPlan.get('default')!;
    expect(plan.map((r) => `${r.table}:${r.start}+${r.count}`)).toEqual([
      'coil:1+1', 'holding:49+40', 'holding:199+1', 'holding:2699+2', 'holding:2999+112', 'holding:8999+1',
    ]);

    await plugin.write('meter', 'setpoint', 321);
    await plugin.write('meter', 'relay', true);
    await host.until(() => v('setpoint') === 321 && v('relay') === true, 5000, 'written values read back from pymodbus');
    await expect(plugin.write('meter', 'setpoint', 1001)).rejects.toMatchObject({ statusCode: 400 });
    await expect(plugin.write('meter', 'frequency', 60)).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('read-only') });
  });

  it('polls over RTU on a pty pair (socat), and writes', async () => {
    const pty = await startPtyPair();
    cleanups.push(() => pty.stop());
    const server = await startPymodbus('rtu', pty.server, { unit: 7, holding: { 1: 1000, 2: 0xfffe, 3: 0x4049, 4: 0x0fdb }, input: { 5: 42 } });
    cleanups.push(() => server.stop());
    const { host, plugin } = await start({
      devices: [{
        name: 'drive', transport: 'rtu', unit_id: 7, interval: '200ms', timeout: '500ms', address_base: 1,
        serial: { path: pty.client, baud: 9600, parity: 'none', data_bits: 8, stop_bits: 1 },
        points: [
          { name: 'speed', table: 'holding', address: 1, access: 'read_write' },
          { name: 'torque', table: 'holding', address: 2, type: 'int16' },
          { name: 'gain', table: 'holding', address: 3, type: 'float32', access: 'read_write' },
          { name: 'temp', table: 'input', address: 5 },
        ],
      }],
    });
    await host.until(() => host.readings.length >= 4, 8000, 'first RTU cycle');
    const v = (p: string) => host.last('drive', p)?.value;
    expect([v('speed'), v('torque'), v('temp')]).toEqual([1000, -2, 42]);
    expect(v('gain') as number).toBeCloseTo(Math.PI, 6);
    await plugin.write('drive', 'speed', 1500);
    await plugin.write('drive', 'gain', 2.5);
    await host.until(() => v('speed') === 1500 && v('gain') === 2.5, 5000, 'RTU writes read back');
    expect(host.readings.every((r) => r.quality === 'good')).toBe(true);
    expect((await plugin.healthCheck()).status).toBe('healthy');
  });
});

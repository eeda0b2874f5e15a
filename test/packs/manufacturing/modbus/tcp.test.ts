import { afterEach, describe, expect, it } from 'vitest';
import { PluginError } from '../../../../sdk/typescript/index.js';
import createModbus from '../../../../packs/manufacturing/modbus/index.js';
import type { ModbusPlugin } from '../../../../packs/manufacturing/modbus/plugin.js';
import { collectingHost, registerMap, sleep, startSilentServer, startSimServer, type SimServer, startModbus } from './helpers.js';

/** The modbus pack against modbus-serial's TCP server serving a register map. */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

const start = (config: unknown) => startModbus(config, cleanups);

async function sim(fill: (m: ReturnType<typeof registerMap>) => void): Promise<SimServer> {
  const map = registerMap();
  fill(map);
  const server = await startSimServer(map);
  cleanups.push(() => server.close());
  return server;
}

describe('modbus over TCP (modbus-serial server)', { timeout: 15_000 }, () => {
  it('decodes every type, byte and word order, scale and offset, bits and strings', async () => {
    const server = await sim((m) => {
      m.holding.set(0, 0xfffe);                                  // int16 -2
      m.holding.set(1, 0x1234); m.holding.set(2, 0x5678);        // uint32 big/big = 0x12345678
      m.holding.set(3, 0x5678); m.holding.set(4, 0x1234);        // uint32 word little = 0x12345678
      m.holding.set(5, 0x3412); m.holding.set(6, 0x7856);        // uint32 byte little = 0x12345678
      m.holding.set(7, 0x4049); m.holding.set(8, 0x0fdb);        // float32 pi
      m.holding.set(9, 0xffff); m.holding.set(10, 0xffff); m.holding.set(11, 0xffff); m.holding.set(12, 0xff85); // int64 -123
      [0x4005, 0xbf0a, 0x8b14, 0x5769].forEach((w, i) => m.holding.set(13 + i, w)); // float64 e
      m.holding.set(17, 0b1010_0000_0000_0100);                  // bits 2 and 15 set
      m.holding.set(18, 0x4142); m.holding.set(19, 0x4300);      // "ABC"
      m.holding.set(20, 2315);                                   // uint16 * 0.1 - 10 = 221.5
      m.input.set(100, 42);
      m.coil.set(0, true); m.coil.set(1, false);
      m.discrete.set(5, true);
    });
    const { host, plugin } = await start({
      devices: [{
        name: 'plc1', address: `127.0.0.1:${server.port}`, unit_id: 1, interval: '200ms',
        points: [
          { name: 'i16', table: 'holding', address: 0, type: 'int16' },
          { name: 'u32', table: 'holding', address: 1, type: 'uint32' },
          { name: 'u32_wl', table: 'holding', address: 3, type: 'uint32', word_order: 'little' },
          { name: 'u32_bl', table: 'holding', address: 5, type: 'uint32', byte_order: 'little' },
          { name: 'f32', table: 'holding', address: 7, type: 'float32' },
          { name: 'i64', table: 'holding', address: 9, type: 'int64' },
          { name: 'f64', table: 'holding', address: 13, type: 'float64' },
          { name: 'b2', table: 'holding', address: 17, type: 'bit', bit: 2 },
          { name: 'b3', table: 'holding', address: 17, type: 'bit', bit: 3 },
          { name: 'b15', table: 'holding', address: 17, type: 'bit', bit: 15 },
          { name: 'text', table: 'holding', address: 18, type: 'string', length: 2 },
          { name: 'volts', table: 'holding', address: 20, type: 'uint16', scale: 0.1, offset: -10, unit: 'V' },
          { name: 'ir', table: 'input', address: 100 },
          { name: 'run', table: 'coil', address: 0 },
          { name: 'fault', table: 'coil', address: 1 },
          { name: 'door', table: 'discrete', address: 5 },
        ],
      }],
    });
    await host.until(() => host.readings.length >= 16, 5000, 'the first cycle');
    const v = (p: string) => host.last('plc1', p)?.value;
    expect(v('i16')).toBe(-2);
    expect(v('u32')).toBe(0x12345678);
    expect(v('u32_wl')).toBe(0x12345678);
    expect(v('u32_bl')).toBe(0x12345678);
    expect(v('f32') as number).toBeCloseTo(Math.PI, 6);
    expect(v('i64')).toBe(-123);
    expect(v('f64') as number).toBeCloseTo(Math.E, 12);
    expect([v('b2'), v('b3'), v('b15')]).toEqual([true, false, true]);
    expect(v('text')).toBe('ABC');
    expect(v('volts') as number).toBeCloseTo(221.5, 9);
    expect(v('ir')).toBe(42);
    expect([v('run'), v('fault'), v('door')]).toEqual([true, false, true]);
    expect(host.readings.every((r) => r.quality === 'good' && r.device === 'plc1')).toBe(true);
    // 21 contiguous holding registers are one request; input, coil and discrete one each.
    const plan = plugin.poller('plc1')!.requestPlan.get('default')!;
    expect(plan.map((r) => [r.table, r.start, r.count])).toEqual([
      ['coil', 0, 2], ['discrete', 5, 1], ['input', 100, 1], ['holding', 0, 21],
    ]);
    expect(server.reads.filter((r) => r.table === 'holding')[0]).toEqual({ table: 'holding', start: 0, count: 21 });
  });

  it('coalesces within max_registers and bridges gaps up to max_gap, and reports only changes', async () => {
    const server = await sim((m) => { for (let a = 0; a < 400; a++) m.holding.set(a, a); });
    const points = [0, 1, 2, 8, 9, 50, 51, 199, 200, 300].map((a) => ({ name: `r${a}`, table: 'holding', address: a }));
    const { host } = await start({
      devices: [
        { name: 'gap', address: `127.0.0.1:${server.port}`, interval: '100ms', max_gap: 10, max_registers: 100, points },
      ],
    });
    await host.until(() => server.reads.length >= 9, 5000, 'three cycles');
    const cycle = server.reads.slice(0, 3).map((r) => [r.start, r.count]);
    // 0..9 (gap 3..7 bridged), 50..51 (gap 10..49 too wide), 199..200; 300 cannot join 199 within 100 registers
    expect(cycle).toEqual([[0, 10], [50, 2], [199, 2]]);
    expect(server.reads.length % 4 === 0 || server.reads[3].start === 300).toBe(true);
    // values never change: each point is emitted once however many cycles ran
    const counts = new Map<string, number>();
    for (const r of host.readings) counts.set(r.point, (counts.get(r.point) ?? 0) + 1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(counts.size).toBe(10);
  });

  it('emits a change only beyond its deadband', async () => {
    const server = await sim((m) => { m.holding.set(0, 1000); m.holding.set(1, 1000); });
    const { host } = await start({
      devices: [{ name: 'd', address: `127.0.0.1:${server.port}`, interval: '50ms', points: [
        { name: 'noisy', table: 'holding', address: 0, deadband: 5 },
        { name: 'exact', table: 'holding', address: 1 },
      ] }],
    });
    await host.until(() => host.readings.length >= 2);
    server.map.holding.set(0, 1003); server.map.holding.set(1, 1001);
    await host.until(() => host.last('d', 'exact')?.value === 1001);
    await sleep(150);
    expect(host.readings.filter((r) => r.point === 'noisy').map((r) => r.value)).toEqual([1000]);
    server.map.holding.set(0, 1006);
    await host.until(() => host.last('d', 'noisy')?.value === 1006);
  });

  it('marks the points of a refused range bad (exception 2) and keeps reading the others', async () => {
    const server = await sim((m) => { m.holding.set(0, 7); m.input.set(0, 8); });
    const { host, plugin } = await start({
      devices: [{ name: 'd', address: `127.0.0.1:${server.port}`, interval: '100ms', points: [
        { name: 'ok', table: 'holding', address: 0 },
        { name: 'missing', table: 'holding', address: 500 },
        { name: 'also_ok', table: 'input', address: 0 },
      ] }],
    });
    await host.until(() => host.readings.length >= 3);
    expect(host.last('d', 'missing')).toMatchObject({ value: null, quality: 'bad' });
    expect(host.last('d', 'ok')).toMatchObject({ value: 7, quality: 'good' });
    expect(host.last('d', 'also_ok')).toMatchObject({ value: 8, quality: 'good' });
    const health = await plugin.healthCheck();
    expect(health.status).toBe('degraded'); // the device answers, but refuses one range
    expect(JSON.stringify(health.details)).toContain('exception 2 (illegal data address)');
  });

  it('times out a silent device, backs off, and never delays another device', async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const server = await sim((m) => { m.holding.set(0, 1); });
    const { host, plugin } = await start({
      devices: [
        { name: 'hung', address: `127.0.0.1:${silent.port}`, interval: '100ms', timeout: '300ms', retries: 1, points: [{ name: 'x', table: 'holding', address: 0 }] },
        { name: 'fine', address: `127.0.0.1:${server.port}`, interval: '100ms', points: [{ name: 'y', table: 'holding', address: 0 }] },
      ],
    });
    await host.until(() => host.logs.some((l) => l.message.includes('hung is unreachable')), 3000, 'hung declared unreachable');
    const readsBefore = server.reads.length;
    const t0 = Date.now();
    await sleep(1000);
    // the healthy device kept its 100 ms cycle while the other one was timing out
    const perSecond = (server.reads.length - readsBefore) / ((Date.now() - t0) / 1000);
    expect(perSecond).toBeGreaterThan(5); // ~10 expected; sharing a queue with the hung device would give < 2
    expect(host.last('fine', 'y')).toMatchObject({ value: 1, quality: 'good' });
    expect(host.readings.filter((r) => r.device === 'hung')).toEqual([ // never read: reported bad, once
      { device: 'hung', point: 'x', value: null, quality: 'bad', ts: expect.any(Number) },
    ]);
    const health = await plugin.healthCheck();
    expect(health.status).toBe('degraded');
    const hung = (health.details as Record<string, { state: string; lastError: string }>).hung;
    expect(hung.state).toBe('unreachable');
    expect(hung.lastError).toContain('no answer within the timeout');
    // back-off: 2 attempts (timeout + 1 retry) per try, 1 s then 2 s apart, not one per 100 ms cycle
    expect(silent.connections()).toBeLessThanOrEqual(3);
  });

  it('recovers when a device drops its connection mid-poll, without waiting for the timeout', async () => {
    const server = await sim((m) => { for (let a = 0; a < 10; a++) m.holding.set(a, a + 1); m.input.set(0, 5); });
    let dropped = 0;
    server.onRead = (table) => {
      if (table === 'input' && dropped === 0) {
        dropped++;
        server.dropClients();
        return new Promise(() => undefined); // the device never answers this request
      }
    };
    const t0 = Date.now();
    const { host } = await start({
      devices: [{ name: 'd', address: `127.0.0.1:${server.port}`, interval: '5s', timeout: '4s', retries: 1, points: [
        { name: 'h', table: 'holding', address: 0, type: 'uint32' },
        { name: 'i', table: 'input', address: 0 },
      ] }],
    });
    await host.until(() => host.last('d', 'i')?.quality === 'good', 3000, 'the input register after reconnecting');
    expect(dropped).toBe(1);
    expect(Date.now() - t0).toBeLessThan(2000); // far below the 4 s timeout
    expect(host.last('d', 'h')).toMatchObject({ value: 0x00010002, quality: 'good' });
    expect(host.readings.filter((r) => r.quality !== 'good')).toEqual([]);
  });

  it('reports the last values as stale when the device goes away, and good again when it is back', async () => {
    const server = await sim((m) => { m.holding.set(0, 11); });
    const { host } = await start({
      devices: [{ name: 'd', address: `127.0.0.1:${server.port}`, interval: '100ms', timeout: '200ms', retries: 0, points: [{ name: 'p', table: 'holding', address: 0 }] }],
    });
    await host.until(() => host.last('d', 'p')?.quality === 'good');
    let hang = true;
    server.onRead = () => (hang ? new Promise(() => undefined) : undefined);
    await host.until(() => host.last('d', 'p')?.quality === 'stale', 3000, 'stale');
    expect(host.last('d', 'p')?.value).toBe(11);
    hang = false;
    server.map.holding.set(0, 12);
    await host.until(() => host.last('d', 'p')?.quality === 'good', 4000, 'good again');
    expect(host.last('d', 'p')?.value).toBe(12);
  });

  it('writes with FC5, FC6 and FC16, and refuses what a point cannot take', async () => {
    const server = await sim((m) => { for (let a = 0; a < 20; a++) m.holding.set(a, 0); m.coil.set(0, false); m.holding.set(19, 0b1000); });
    const { host, plugin } = await start({
      devices: [{ name: 'd', address: `127.0.0.1:${server.port}`, interval: '100ms', points: [
        { name: 'setpoint', table: 'holding', address: 0, type: 'int16', scale: 0.1, access: 'read_write', min: -50, max: 150 },
        { name: 'count', table: 'holding', address: 1, type: 'uint32', word_order: 'little', access: 'read_write' },
        { name: 'ratio', table: 'holding', address: 3, type: 'float32', access: 'read_write' },
        { name: 'label', table: 'holding', address: 5, type: 'string', length: 3, access: 'read_write' },
        { name: 'flag', table: 'holding', address: 19, type: 'bit', bit: 0, access: 'read_write' },
        { name: 'motor', table: 'coil', address: 0, access: 'read_write' },
        { name: 'status', table: 'holding', address: 10 },
      ] }],
    });
    await host.until(() => host.readings.length >= 7);
    await plugin.write('d', 'setpoint', -12.5);
    expect(server.writes.at(-1)).toEqual({ fn: 'setRegister', addr: 0, value: 0xff83 }); // -125 as int16
    await plugin.write('d', 'count', 70000);
    expect(server.writes.at(-1)).toEqual({ fn: 'setRegisterArray', addr: 1, value: [70000 & 0xffff, 1] });
    await plugin.write('d', 'ratio', 0.5);
    expect(server.writes.at(-1)).toEqual({ fn: 'setRegisterArray', addr: 3, value: [0x3f00, 0] });
    await plugin.write('d', 'label', 'OK');
    expect(server.writes.at(-1)).toEqual({ fn: 'setRegisterArray', addr: 5, value: [0x4f4b, 0, 0] });
    await plugin.write('d', 'flag', true);
    expect(server.map.holding.get(19)).toBe(0b1001); // the other bits kept
    await plugin.write('d', 'motor', true);
    expect(server.writes.at(-1)).toEqual({ fn: 'setCoil', addr: 0, value: true });
    await host.until(() => host.last('d', 'setpoint')?.value === -12.5 && host.last('d', 'motor')?.value === true, 3000, 'written values read back');
    expect(host.last('d', 'count')?.value).toBe(70000);
    expect(host.last('d', 'label')?.value).toBe('OK');

    const writesBefore = server.writes.length;
    const refusals: Array<[string, unknown, number, string]> = [
      ['status', 1, 400, 'read-only'],
      ['setpoint', 200, 400, 'outside its allowed range'],
      ['setpoint', 'hot', 400, 'expects a number'],
      ['setpoint', 1.25, 400, 'not a multiple'],
      ['count', -1, 400, 'out of range for uint32'],
      ['label', 'TOO LONG', 400, 'at most 6'],
      ['motor', 'on', 400, 'true or false'],
      ['nope', 1, 404, 'has no point "nope"'],
    ];
    for (const [point, value, status, text] of refusals) {
      const err = await plugin.write('d', point, value).then(() => undefined, (e: unknown) => e);
      expect(err, `${point} <- ${JSON.stringify(value)}`).toBeInstanceOf(PluginError);
      expect((err as PluginError).statusCode).toBe(status);
      expect((err as PluginError).message).toContain(text);
    }
    await expect(plugin.write('nodevice', 'x', 1)).rejects.toMatchObject({ statusCode: 404 });
    expect(server.writes.length).toBe(writesBefore); // nothing reached the device
  });

  it('writes single registers with FC16 and coils with FC15 when the device needs write_multiple', async () => {
    const server = await sim((m) => { m.holding.set(0, 0); m.coil.set(3, false); });
    const { plugin } = await start({
      devices: [{ name: 'd', address: `127.0.0.1:${server.port}`, write_multiple: true, points: [
        { name: 'r', table: 'holding', address: 0, access: 'read_write' },
        { name: 'c', table: 'coil', address: 3, access: 'read_write' },
      ] }],
    });
    await plugin.write('d', 'r', 9);
    expect(server.writes.at(-1)).toEqual({ fn: 'setRegisterArray', addr: 0, value: [9] });
    await plugin.write('d', 'c', true);
    expect(server.map.coil.get(3)).toBe(true);
  });

  it('answers a write refused by the device (exception) with an error naming it', async () => {
    const server = await sim((m) => { m.holding.set(0, 0); });
    const { plugin } = await start({
      devices: [{ name: 'd', address: `127.0.0.1:${server.port}`, points: [{ name: 'ghost', table: 'holding', address: 40, access: 'write' }] }],
    });
    await expect(plugin.write('d', 'ghost', 1)).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('exception 2') });
  });

  it('shuts down every socket and timer', async () => {
    const server = await sim((m) => { m.holding.set(0, 1); });
    const host = collectingHost();
    const plugin = createModbus() as ModbusPlugin;
    await plugin.initialize({ devices: [{ name: 'd', address: `127.0.0.1:${server.port}`, interval: '50ms', points: [{ name: 'p', table: 'holding', address: 0 }] }] }, host);
    await host.until(() => host.readings.length >= 1);
    await plugin.shutdown();
    await sleep(100);
    const reads = server.reads.length;
    await sleep(300);
    expect(server.reads.length).toBe(reads);
  });
});

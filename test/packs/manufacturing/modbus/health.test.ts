import { afterEach, describe, expect, it } from 'vitest';
import { freePort, sleep, startPtyPair, startPymodbus, startModbus } from './helpers.js';

/**
 * Health that tells the truth, against Debian's pymodbus (one-based register numbers): a device
 * that refuses every read is degraded with the exception and never has a good poll; on a shared
 * RTU bus each unit id has its own state and request count; coil bridging counts bits; report on
 * change refreshes the timestamp of a constant value every `report_every`.
 */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

const start = (config: unknown) => startModbus(config, cleanups);

async function pymodbusTcp(spec: Record<string, unknown>): Promise<number> {
  const port = await freePort();
  const server = await startPymodbus('tcp', port, spec);
  cleanups.push(() => server.stop());
  return port;
}

type Details = Record<string, { state: string; requests: number; refused?: Record<string, string>; lastGoodPoll?: string }>;

describe('modbus health against pymodbus', { timeout: 30_000 }, () => {
  it('a device whose reads all raise exception 2 is degraded with the exception, and its lastGoodPoll never advances', async () => {
    const port = await pymodbusTcp({ unit: 1, holding: { 1: 5 } });
    const { host, plugin } = await start({
      devices: [
        { name: 'refusing', address: `127.0.0.1:${port}`, interval: '100ms', points: [
          { name: 'a', table: 'holding', address: 100 }, { name: 'b', table: 'input', address: 7 }] },
        { name: 'fine', address: `127.0.0.1:${port}`, interval: '100ms', points: [{ name: 'x', table: 'holding', address: 0 }] },
      ],
    });
    await host.until(() => host.last('refusing', 'a') !== undefined && host.last('fine', 'x')?.value === 5, 8000, 'first cycles');
    await sleep(500); // several refused cycles
    const health = await plugin.healthCheck();
    const details = health.details as Details;
    expect(health.status).toBe('degraded');
    expect(details.refusing.state).toBe('degraded');
    expect(details.refusing.refused).toEqual({
      'read input 7..7': 'device answered exception 2 (illegal data address)',
      'read holding 100..100': 'device answered exception 2 (illegal data address)',
    });
    expect(details.refusing.lastGoodPoll).toBeUndefined();
    expect(details.refusing.requests).toBeGreaterThanOrEqual(4);
    expect(health.message).toMatch(/^refused reads: refusing \(.*read holding 100\.\.100: device answered exception 2 \(illegal data address\)/);
    expect(details.fine).toMatchObject({ state: 'polling', lastGoodPoll: expect.any(String) });
    expect(details.fine.refused).toBeUndefined();
    expect([host.last('refusing', 'a'), host.last('refusing', 'b')]).toMatchObject([{ value: null, quality: 'bad' }, { value: null, quality: 'bad' }]);
    // logged once per refused request, not at every cycle
    expect(host.logs.filter((l) => l.message.includes('refused read holding 100..100'))).toHaveLength(1);
  });

  it('on a shared RTU bus, health and request counts are per unit id', async () => {
    const pty = await startPtyPair();
    cleanups.push(() => pty.stop());
    const server = await startPymodbus('rtu', pty.server, { units: { 7: { holding: { 1: 1000, 2: 2000 } }, 8: { holding: { 1: 1 } } } });
    cleanups.push(() => server.stop());
    const serial = { path: pty.client, baud: 9600 };
    const { host, plugin } = await start({
      devices: [
        { name: 'drive7', transport: 'rtu', unit_id: 7, serial, interval: '200ms', timeout: '300ms', retries: 0, points: [
          { name: 'speed', table: 'holding', address: 0 }, { name: 'load', table: 'holding', address: 1 }] },
        { name: 'drive8', transport: 'rtu', unit_id: 8, serial, interval: '200ms', timeout: '300ms', retries: 0, points: [
          { name: 'speed', table: 'holding', address: 50 }] },
        { name: 'drive9', transport: 'rtu', unit_id: 9, serial, interval: '200ms', timeout: '300ms', retries: 0, backoff_max: '1s', points: [
          { name: 'speed', table: 'holding', address: 0 }] },
      ],
    });
    await host.until(() => host.last('drive7', 'speed')?.value === 1000 && host.last('drive8', 'speed') !== undefined && host.last('drive9', 'speed') !== undefined, 10_000, 'every unit polled once');
    await sleep(600);
    const health = await plugin.healthCheck();
    const details = health.details as Details;
    expect(health.status).toBe('degraded');
    expect(details.drive7).toMatchObject({ state: 'polling', lastGoodPoll: expect.any(String) });
    expect(details.drive8).toMatchObject({ state: 'degraded', refused: { 'read holding 50..50': 'device answered exception 2 (illegal data address)' } });
    expect(details.drive8.lastGoodPoll).toBeUndefined();
    expect(details.drive9.state).toBe('unreachable');
    expect(health.message).toContain('1 of 3 device(s) unreachable (drive9)');
    // each unit counts its own requests: drive9 is in back-off, so it sent fewer than the others
    const counts = [details.drive7.requests, details.drive8.requests, details.drive9.requests];
    expect(counts.every((n) => n >= 1)).toBe(true);
    expect(new Set(counts).size).toBeGreaterThan(1);
    expect(details.drive9.requests).toBeLessThan(details.drive7.requests);
  });

  it('coil bridging counts max_gap in bits, or max_gap_bits', async () => {
    // registers 1..11 and 301 exist, 12..300 do not: a request bridging to 300 would draw exception 2
    const coils: Record<number, boolean> = { 301: true };
    for (let r = 1; r <= 11; r++) coils[r] = r === 1 || r === 11;
    const port = await pymodbusTcp({ unit: 1, coil: coils });
    const points = [0, 10, 300].map((address) => ({ name: `c${address}`, table: 'coil', address }));
    const { host, plugin } = await start({
      devices: [
        { name: 'gap', address: `127.0.0.1:${port}`, interval: '200ms', max_gap: 20, points },
        { name: 'bits', address: `127.0.0.1:${port}`, interval: '200ms', max_gap: 20, max_gap_bits: 4, points },
      ],
    });
    const plan = (d: string) => plugin.poller(d)!.requestPlan.get('default')!.map((r) => `${r.table}:${r.start}+${r.count}`);
    expect(plan('gap')).toEqual(['coil:0+11', 'coil:300+1']); // not 0+301: the gap to 300 is 289 bits
    expect(plan('bits')).toEqual(['coil:0+1', 'coil:10+1', 'coil:300+1']);
    await host.until(() => ['c0', 'c10', 'c300'].every((p) => host.last('gap', p)?.value === true), 8000, 'coils read');
    expect((await plugin.healthCheck()).status).toBe('healthy');
  });

  it('report on change refreshes the timestamp of a constant value every report_every', async () => {
    const port = await pymodbusTcp({ unit: 1, holding: { 1: 42 } });
    const { host } = await start({
      devices: [{ name: 'still', address: `127.0.0.1:${port}`, interval: '100ms', report_every: '400ms', points: [{ name: 'v', table: 'holding', address: 0 }] }],
    });
    await host.until(() => host.readings.filter((r) => r.point === 'v').length >= 4, 8000, 'four readings of a constant value');
    const ts = host.readings.filter((r) => r.point === 'v').map((r) => r.ts!);
    expect(host.readings.map((r) => [r.value, r.quality]), JSON.stringify(host.logs)).toEqual(ts.map(() => [42, 'good']));
    const spacing = ts.slice(1).map((t, i) => t - ts[i]);
    // at most one reading per report_every (polled every 100 ms), and a fresh ts each time
    for (const gap of spacing) expect(gap).toBeGreaterThanOrEqual(400);
  });
});

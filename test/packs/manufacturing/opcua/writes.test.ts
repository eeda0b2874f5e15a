import { afterEach, describe, expect, it } from 'vitest';
import createOpcua from '../../../../packs/manufacturing/opcua/index.js';
import { startService } from '../../../helpers/service.js';
import { tempDir, writeTemp } from '../../../helpers/tmp.js';
import { collectingHost, freePort } from '../modbus/helpers.js';
import { startStandin, type Standin } from './standin.js';

/**
 * The write contract against the stand-in server: a write while the session is down is
 * "unavailable" (503, retry later), one the server does not answer in time is "timeout" (504),
 * from the pack and through the gateway's PUT /api/devices/:device/points/:point.
 */

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

const server = (endpoint: string) => ({
  name: 'press', endpoint, publishing_interval: '100ms', keep_alive_count: 50, reconnect_max: '1s', request_timeout: '1s',
  points: [{ name: 'setpoint', node: 'ns=1;s=Press.Setpoint', writable: true, sampling_interval: '100ms' }],
});

async function standin(): Promise<Standin> {
  const s = await startStandin(await freePort());
  cleanups.push(async () => { await s.signal('SIGCONT'); await s.signal('SIGKILL'); });
  return s;
}

describe('manufacturing/opcua writes: unavailable and timeout', { timeout: 90_000 }, () => {
  it('the pack answers 503 while the server is away and 504 when it does not answer', async () => {
    const s = await standin();
    const host = Object.assign(collectingHost(), { stateDir: tempDir('bw-opcua-writes-') });
    const plugin = createOpcua();
    await plugin.initialize({ servers: [server(s.endpoint)] }, host);
    cleanups.push(() => plugin.shutdown!());
    await host.until(() => host.last('press', 'setpoint')?.quality === 'good', 20_000, 'the first value');
    await plugin.write!('press', 'setpoint', 42.5);
    await host.until(() => host.last('press', 'setpoint')?.value === 42.5, 5000, 'the written value reported back');

    await s.signal('SIGSTOP');
    const started = Date.now();
    await expect(plugin.write!('press', 'setpoint', 1)).rejects.toMatchObject({ statusCode: 504, message: expect.stringContaining('did not answer') });
    expect(Date.now() - started).toBeLessThan(10_000);
    await s.signal('SIGKILL');
    await host.until(() => host.last('press', 'setpoint')?.quality === 'stale', 15_000, 'stale once the server is gone');
    await expect(plugin.write!('press', 'setpoint', 2)).rejects.toMatchObject({ statusCode: 503, message: expect.stringContaining('retry once it is connected') });
  });

  // Needs the error contract of branch `contract` (a plugin's 503/504 pass through the manager).
  it('the gateway answers the client 503 and 504', async () => {
    const s = await standin();
    const file = writeTemp('backworks.yaml', [
      'plugins:',
      '  opcua:',
      '    type: builtin',
      '    pack: manufacturing/opcua',
      '    timeout: 5s',
      `    config: ${JSON.stringify({ servers: [server(s.endpoint)] })}`,
      '',
    ].join('\n'));
    const service = await startService(file, { timeoutMs: 30_000 });
    cleanups.push(() => service.stop('SIGKILL'));
    const put = (value: unknown) => service.fetch('/api/devices/press/points/setpoint', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }) });
    for (let i = 0; i < 200; i++) {
      const r = await service.fetch('/api/devices/press');
      if (r.status === 200 && JSON.stringify(await r.json()).includes('"good"')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await put(7)).status).toBe(200);

    await s.signal('SIGSTOP');
    const timeout = await put(8);
    expect(timeout.status).toBe(504);
    expect(JSON.stringify(await timeout.json())).toContain('did not answer');
    await s.signal('SIGKILL');
    let unavailable: Response | undefined;
    for (let i = 0; i < 100; i++) {
      unavailable = await put(9);
      if (unavailable.status !== 504) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(unavailable!.status).toBe(503);
    expect(JSON.stringify(await unavailable!.json())).toContain('retry once it is connected');
  });
});

/**
 * sd_notify from the real, compiled service to a real AF_UNIX datagram socket (a python3 receiver
 * with SO_PASSCRED, so the sender PID is the kernel's word): READY once every plugin settled, STATUS, the
 * watchdog's cadence, pings stopping while the event loop is wedged, RELOADING on SIGHUP, STOPPING
 * on SIGTERM, and nothing at all without NOTIFY_SOCKET.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { authFetch, startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { pingTimes, startReceiver, type Receiver } from './receiver.js';

const blockLoop = pathToFileURL(path.join(import.meta.dirname, 'fixtures/block-loop.mjs')).href;

function writeConfig(endpoints = 1): string {
  const dir = tempDir();
  const file = path.join(dir, 'backworks.yaml');
  const extra = endpoints > 1 ? '  again: { path: /again, plugin: ingest }\n' : '';
  fs.writeFileSync(file, `plugins:
  machines:
    type: builtin
    pack: manufacturing/simulator
    config:
      devices:
        - name: press-1
          points: [{ name: temperature, signal: sine, min: 20, max: 80, period: 60s, interval: 1s }]
  ingest: { type: builtin, pack: general/http-ingest }
endpoints:
  ingest: { path: /ingest, plugin: ingest, methods: [GET, POST] }
${extra}`);
  return file;
}

let receiver: Receiver | undefined;
let service: RunningService | undefined;
afterEach(async () => {
  await service?.stop('SIGKILL');
  receiver?.close();
  service = receiver = undefined;
});

async function startNotified(env: NodeJS.ProcessEnv = {}, file = writeConfig()) {
  receiver = await startReceiver();
  service = await startService(file, { env: { NOTIFY_SOCKET: receiver.socket, ...env } });
  return { receiver, service, file };
}

describe('sd_notify from backworks run', { timeout: 30_000 }, () => {
  it('sends READY=1 with a STATUS summary once HTTP listens and plugins settled, from the service PID itself', async () => {
    const { receiver, service } = await startNotified();
    const ready = await receiver.next((f) => f.READY === '1');
    expect(ready.pid).toBe(service.process.pid);
    expect(ready.uid).toBe(process.getuid!());
    expect(ready.fields.STATUS).toMatch(/^(healthy|degraded): 2 plugins, 1 endpoints, 0 pending$/);
    // READY comes after listening: the port answers by the time systemd hears of it.
    expect((await authFetch(`${service.url}/health`)).status).toBe(200);
    // Every message so far came from the service, none from a child.
    expect(new Set(receiver.messages.map((m) => m.pid))).toEqual(new Set([service.process.pid]));
  });

  it('sends READY=1 only once every plugin settled, a plugin stuck in initialize included', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'backworks.yaml');
    const hang = path.resolve(import.meta.dirname, '../fixtures/plugins/init-hang-c/target/libinit_hang_c.so');
    fs.writeFileSync(file, `plugins:
  ingest: { type: builtin, pack: general/http-ingest }
  hangs: { type: external, path: ${hang}, init_timeout: 2s }
endpoints:
  ingest: { path: /ingest, plugin: ingest, methods: [GET, POST] }
`);
    receiver = await startReceiver();
    service = await startService(file, { env: { NOTIFY_SOCKET: receiver.socket }, listening: true });
    // HTTP answers at once; systemd hears READY=1 only after the stuck plugin failed.
    expect((await authFetch(`${service.url}/health`)).status).toBe(200);
    expect(receiver.messages.some((m) => m.fields.READY === '1')).toBe(false);
    // Meanwhile systemd hears what the start waits for, and gives it more time.
    const starting = await receiver.next((f) => f.EXTEND_TIMEOUT_USEC !== undefined);
    expect(starting.fields).toMatchObject({ EXTEND_TIMEOUT_USEC: '30000000', STATUS: 'starting: waiting for hangs' });
    const ready = await receiver.next((f) => f.READY === '1');
    const settled = await waitFor('the settled line', () => service!.logs.find((l) => l.msg === 'plugins settled'));
    expect(settled.failed).toEqual({ hangs: 'initialize did not finish within init_timeout (2s)' });
    expect(ready.fields.STATUS).toMatch(/^degraded: 2 plugins/);
  });

  it('pings WATCHDOG=1 every WATCHDOG_USEC/2', async () => {
    const { receiver } = await startNotified({ WATCHDOG_USEC: '400000' });
    const ready = await receiver.next((f) => f.READY === '1');
    await new Promise((r) => setTimeout(r, 2_100));
    const pings = pingTimes(receiver.messages).filter((t) => t >= ready.t - 50);
    // 200 ms apart over ~2 s: about 11 pings; a loaded CI box may delay a timer, never add one.
    expect(pings.length).toBeGreaterThanOrEqual(7);
    expect(pings.length).toBeLessThanOrEqual(12);
    const gaps = pings.slice(1).map((t, i) => t - pings[i]);
    expect(Math.min(...gaps)).toBeGreaterThan(150);
    const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
    expect(median).toBeGreaterThan(180);
    expect(median).toBeLessThan(300);
  });

  it('never pings without WATCHDOG_USEC', async () => {
    const { receiver } = await startNotified();
    await receiver.next((f) => f.READY === '1');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(receiver.messages.length).toBeGreaterThan(0);
    expect(pingTimes(receiver.messages)).toEqual([]);
  });

  it('does not ping for a watchdog meant for another process (WATCHDOG_PID)', async () => {
    const { receiver } = await startNotified({ WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' });
    await receiver.next((f) => f.READY === '1');
    await new Promise((r) => setTimeout(r, 800));
    expect(pingTimes(receiver.messages)).toEqual([]);
  });

  it('stops the pings while the event loop is wedged and resumes them when it is free', async () => {
    const trigger = path.join(tempDir(), 'block');
    const { receiver } = await startNotified({
      WATCHDOG_USEC: '400000',
      NODE_OPTIONS: `--import ${blockLoop}`,
      BW_TEST_BLOCK_FILE: trigger,
    });
    await receiver.next((f) => f.READY === '1');
    await new Promise((r) => setTimeout(r, 1_000));
    const before = pingTimes(receiver.messages).length;
    expect(before).toBeGreaterThanOrEqual(3);

    const blockedAt = Date.now();
    fs.writeFileSync(trigger, '1500');
    await new Promise((r) => setTimeout(r, 2_500));
    const pings = pingTimes(receiver.messages);
    // The preload polls every 20 ms: the block starts within ~50 ms of the trigger.
    const during = pings.filter((t) => t > blockedAt + 100 && t < blockedAt + 1_500);
    expect(during).toEqual([]);
    const after = pings.filter((t) => t >= blockedAt + 1_500);
    expect(after.length).toBeGreaterThanOrEqual(3);
  });

  it('sends RELOADING=1 with MONOTONIC_USEC on SIGHUP, then READY=1 with the new STATUS', async () => {
    const { receiver, service, file } = await startNotified();
    await receiver.next((f) => f.READY === '1');
    const from = receiver.messages.length;
    fs.writeFileSync(file, fs.readFileSync(writeConfig(2), 'utf8'));
    service.process.kill('SIGHUP');
    const reloading = await receiver.next((f) => f.RELOADING === '1', { from });
    // CLOCK_MONOTONIC of the sender, in µs: within a second of the receiver's own reading.
    const monotonicNow = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1e6;
    expect(Math.abs(Number(reloading.fields.MONOTONIC_USEC) - monotonicNow)).toBeLessThan(2e6);
    const ready = await receiver.next((f) => f.READY === '1', { from });
    expect(receiver.messages.indexOf(ready)).toBeGreaterThan(receiver.messages.indexOf(reloading));
    expect(ready.fields.STATUS).toMatch(/: 2 plugins, 2 endpoints, /);
    expect((await authFetch(`${service.url}/again`)).status).toBe(200);
  });

  it('sends STOPPING=1 on SIGTERM, drains, exits 0 and pings no more', async () => {
    const { receiver, service } = await startNotified({ WATCHDOG_USEC: '200000' });
    await receiver.next((f) => f.READY === '1');
    const code = await service.stop('SIGTERM');
    expect(code).toBe(0);
    const stopping = await receiver.next((f) => f.STOPPING === '1');
    expect(stopping.pid).toBe(service.process.pid);
    expect(pingTimes(receiver.messages).filter((t) => t > stopping.t)).toEqual([]);
    expect(service.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('loads nothing for systemd without NOTIFY_SOCKET', async () => {
    service = await startService(writeConfig());
    const maps = fs.readFileSync(`/proc/${service.process.pid}/maps`, 'utf8');
    expect(maps).not.toContain('libsystemd');
    const { receiver: notified, service: other } = await (async () => {
      const s = service; service = undefined; await s.stop('SIGKILL');
      return startNotified();
    })();
    await notified.next((f) => f.READY === '1');
    expect(fs.readFileSync(`/proc/${other.process.pid}/maps`, 'utf8')).toContain('libsystemd.so.0');
  });
});

/**
 * The seed example end to end, both isolation modes, and the plugin hosts' life: they die with the
 * service even when it is SIGKILLed, never see the service's systemd variables, and a slow call in
 * one host does not hold up the calls after it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, startService } from '../../helpers/service.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { childPids, environOf, get, isGone, libs } from './helpers.js';

const HELLO = '{"message":"Hello from my plugin!"}';

describe('the seed example (examples/seed/backworks.yaml, as the seed wrote it)', () => {
  it('GET and POST /my-feature answer from my-plugin in its own host', async () => {
    const service = await startService(path.join(repoRoot, 'examples/seed/backworks.yaml'));
    try {
      expect(await get(`${service.url}/my-feature`)).toMatchObject({ status: 200, body: HELLO });
      expect(await get(`${service.url}/my-feature`, { method: 'POST', body: 'data' })).toMatchObject({ status: 200, body: HELLO });
      const hosts = childPids(service.process.pid!);
      expect(hosts).toHaveLength(1);
      expect(fs.readFileSync(`/proc/${hosts[0]}/cmdline`, 'utf8')).toContain('libmy_plugin.so');
    } finally {
      await service.stop();
    }
  });
});

describe('isolation: none', () => {
  it('loads the Rust and the C plugin into the service itself', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(file, `plugins:
  my-plugin: { type: external, path: ${libs.myPlugin}, isolation: none }
  hello-c: { type: external, path: ${libs.helloC}, isolation: none }
endpoints:
  rust: { path: /my-feature, plugin: my-plugin, methods: [GET, POST] }
`);
    const service = await startService(file);
    try {
      expect(await get(`${service.url}/my-feature`, { method: 'POST', body: '{}' })).toMatchObject({ status: 200, body: HELLO });
      expect(childPids(service.process.pid!)).toEqual([]);
      expect(service.logs.some((l) => l.plugin === 'hello-c' && l.msg === 'hello-c initialized')).toBe(true);
    } finally {
      await service.stop();
    }
  });
});

describe('plugin host processes', () => {
  it('never inherit NOTIFY_SOCKET or WATCHDOG_*, and all die when the service is SIGKILLed', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(file, `plugins:
  a: { type: external, path: ${libs.myPlugin} }
  b: { type: external, path: ${libs.helloC}, limits: { memory: 128MB } }
`);
    const service = await startService(file, {
      env: { NOTIFY_SOCKET: path.join(dir, 'no-such-notify.sock'), WATCHDOG_USEC: '600000000', WATCHDOG_PID: '1' },
    });
    const hosts = childPids(service.process.pid!);
    expect(hosts).toHaveLength(2);
    for (const pid of hosts) {
      const env = environOf(pid);
      expect(env.filter((v) => v.startsWith('NOTIFY_SOCKET=') || v.startsWith('WATCHDOG_'))).toEqual([]);
      // each host leads its own process group, so a kill takes whatever a plugin forked too
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])).toBe(pid);
    }
    const limited = hosts.find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('libhello_c'))!;
    expect(fs.readFileSync(`/proc/${limited}/limits`, 'utf8')).toMatch(/Max address space\s+134217728/);

    await service.stop('SIGKILL');
    await waitFor('every host to be gone', async () => hosts.every(isGone), { timeoutMs: 5_000 });
  });
});

describe('calls in one plugin host', () => {
  it('a slow call (run on the host\'s reader at first) does not hold up the quick calls sent after it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'backworks.yaml');
    // faulty-c sleeps in its first call only; every later call answers at once.
    const config = { fault: 'sleep', marker: path.join(dir, 'sleep.count'), times: 1, delay_ms: 1500 };
    fs.writeFileSync(file, `plugins:
  faulty: { type: external, path: ${libs.faultyC}, timeout: 10s, config: ${JSON.stringify(config)} }
endpoints:
  faulty: { path: /faulty, plugin: faulty }
`);
    const service = await startService(file);
    try {
      const started = performance.now();
      const slow = get(`${service.url}/faulty`).then((answer) => ({ ...answer, at: performance.now() - started }));
      await waitFor('the slow call to start', async () => fs.existsSync(config.marker));
      for (let i = 0; i < 20; i++) expect(await get(`${service.url}/faulty`)).toMatchObject({ status: 200, body: '{"ok":true}' });
      const quickDone = performance.now() - started;
      const answer = await slow;
      expect(answer).toMatchObject({ status: 200, body: '{"ok":true}' });
      expect(answer.at).toBeGreaterThanOrEqual(1500);
      expect(quickDone).toBeLessThan(answer.at);
    } finally {
      await service.stop();
    }
  });
});

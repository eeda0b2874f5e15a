/**
 * Fault injection with purpose-built faulty plugins (test/fixtures/plugins/faulty-c and
 * faulty-rust), each isolated in its own plugin host, beside a healthy native plugin. For every
 * fault: the service stays up, the healthy endpoint answers every request sent during the fault,
 * the faulty endpoint answers 503 fast, the plugin comes back, /health and /metrics show it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../helpers/service.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { get, libs, steadyLoad } from './helpers.js';

type Fault = 'segfault' | 'abort' | 'panic' | 'loop' | 'sleep' | 'alloc_bomb' | 'exit_init' | 'thread_crash';

const CALL_FAULTS: Array<{ fault: Fault; first: number }> = [
  { fault: 'segfault', first: 503 },
  { fault: 'abort', first: 503 },
  { fault: 'alloc_bomb', first: 503 },
  { fault: 'loop', first: 504 },
  { fault: 'sleep', first: 504 },
];

/**
 * Hangs must miss their deadline (504); crashes must be seen as crashes (503), so they get a
 * deadline a loaded CI box cannot reach before the host dies.
 */
function deadline(fault: Fault): string {
  return fault === 'loop' || fault === 'sleep' ? '300ms' : '10s';
}

function config(dir: string, lang: 'c' | 'rust', library: string): string {
  const plugin = (fault: Fault, extra: Record<string, unknown> = {}, restart = '{ backoff: 1s, max_backoff: 2s, max_crashes: 5, window: 60s }') =>
    `  ${lang}-${fault.replace('_', '-')}:
    type: external
    path: ${library}
    timeout: ${deadline(fault)}
    limits: { memory: 256MB }
    restart: ${restart}
    config: ${JSON.stringify({ fault, marker: path.join(dir, `${fault}.count`), times: 1, delay_ms: 2000, ...extra })}
`;
  const faults: Fault[] = ['segfault', 'abort', 'alloc_bomb', 'loop', 'sleep', 'exit_init', 'thread_crash', ...(lang === 'rust' ? ['panic' as const] : [])];
  return `plugins:
  healthy:
    type: external
    path: ${libs.myPlugin}
${faults.filter((f) => f !== 'exit_init' && f !== 'thread_crash').map((f) => plugin(f)).join('')}${plugin('exit_init', { times: 2 }, '{ backoff: 100ms, max_backoff: 2s }')}${plugin('thread_crash', { delay_ms: 2500 })}  ${lang}-quarantine:
    type: external
    path: ${library}
    restart: { backoff: 50ms, max_backoff: 6s, max_crashes: 3, window: 60s }
    config: ${JSON.stringify({ fault: 'thread_crash', marker: path.join(dir, 'quarantine.count'), times: 3, delay_ms: 150 })}
endpoints:
  healthy: { path: /my-feature, plugin: healthy }
${[...faults, 'quarantine'].map((f) => `  ${f.replace('_', '-')}: { path: /fault/${f}, plugin: ${lang}-${f.replace('_', '-')} }`).join('\n')}
`;
}

interface PluginHealthJson { state: string; restarts: number; breaker: string; status: string }

async function health(service: RunningService, plugin: string): Promise<PluginHealthJson> {
  const body = JSON.parse((await get(`${service.url}/health`)).body) as { plugins: Record<string, PluginHealthJson> };
  return body.plugins[plugin]!;
}

async function metric(service: RunningService, name: string, plugin: string): Promise<number | undefined> {
  const text = (await get(`${service.url}/metrics`)).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{plugin="${plugin}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe.each([
  { lang: 'c' as const, library: libs.faultyC },
  { lang: 'rust' as const, library: libs.faultyRust },
])('faulty $lang plugin in its own host', ({ lang, library }) => {
  let service: RunningService;

  beforeAll(async () => {
    const dir = tempDir('bw-faults-');
    const file = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(file, config(dir, lang, library));
    service = await startService(file, { timeoutMs: 30_000 });
  }, 40_000);

  afterAll(async () => { await service?.stop(); });

  /** Drives the healthy endpoint throughout `fault` and returns what it saw. */
  async function duringFault(work: () => Promise<void>): Promise<void> {
    const load = steadyLoad(`${service.url}/my-feature`);
    // A fault that is handled at once still gets a second of load around it.
    await Promise.all([work(), new Promise((r) => setTimeout(r, 1000))]);
    const { sent, failed } = await load.stop();
    expect(failed).toEqual([]);
    expect(sent).toBeGreaterThan(20);
  }

  async function expectFast503ThenBack(endpoint: string, plugin: string): Promise<void> {
    const refused = await waitFor('a 503 while the plugin is down', async () => {
      const answer = await get(`${service.url}${endpoint}`);
      return answer.status === 503 ? answer : undefined;
    });
    expect(refused.ms).toBeLessThan(100);
    expect(refused.body).toContain(plugin);
    await waitFor('the plugin to come back', async () => (await get(`${service.url}${endpoint}`)).status === 200);
  }

  // These two run first: their faults start on their own, timed from the service's start.
  it('a plugin thread that crashes a while after start: host restarted, healthy endpoint unaffected', async () => {
    const plugin = `${lang}-thread-crash`;
    await duringFault(async () => {
      expect((await get(`${service.url}/fault/thread_crash`)).status).toBe(200);
      await expectFast503ThenBack('/fault/thread_crash', plugin);
    });
    expect(await health(service, plugin)).toMatchObject({ state: 'running', restarts: 1 });
  }, 20_000);

  it('crashing again and again: quarantined (circuit open), then a probe restart brings it back', async () => {
    // three crashes 150ms after each (re)start: quarantined about 0.6s after start, probed 6s later
    const plugin = `${lang}-quarantine`;
    await duringFault(async () => {
      const quarantined = await waitFor('quarantine', async () => {
        const h = await health(service, plugin);
        return h.state === 'quarantined' ? h : undefined;
      });
      expect(quarantined.status).toBe('unhealthy');
      const refused = await get(`${service.url}/fault/quarantine`);
      expect(refused.status).toBe(503);
      expect(refused.body).toContain('quarantined');
      expect(await metric(service, 'backworks_plugin_up', plugin)).toBe(0);
      await waitFor('the probe restart', async () => (await health(service, plugin)).state === 'running');
    });
    expect((await get(`${service.url}/fault/quarantine`)).status).toBe(200);
    expect((await health(service, plugin)).restarts).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it.each(CALL_FAULTS)('$fault in a call: 503 fast, healthy endpoint unaffected, restarted', async ({ fault, first }) => {
    const plugin = `${lang}-${fault.replace('_', '-')}`;
    await duringFault(async () => {
      const trigger = await get(`${service.url}/fault/${fault}`);
      expect(trigger.status).toBe(first);
      await expectFast503ThenBack(`/fault/${fault}`, plugin);
    });
    const after = await health(service, plugin);
    expect(after.state).toBe('running');
    expect(after.restarts).toBe(1);
    expect(await metric(service, 'backworks_plugin_restarts', plugin)).toBe(1);
    expect(await metric(service, 'backworks_plugin_breaker_state', plugin)).toBe(0);
  }, 20_000);

  it('exit(1) during initialize: retried with backoff until initialize succeeds', async () => {
    const plugin = `${lang}-exit-init`;
    expect(await health(service, plugin)).toMatchObject({ state: 'running', restarts: 2 });
    expect((await get(`${service.url}/fault/exit_init`)).status).toBe(200);
    expect(service.logs.filter((l) => l.plugin === plugin && l.msg === 'plugin host crashed during initialize')).toHaveLength(2);
  });

  if (lang === 'rust') {
    it('a Rust panic becomes a 500 answer; the host keeps running', async () => {
      await duringFault(async () => {
        const panicked = await get(`${service.url}/fault/panic`);
        expect(panicked.status).toBe(500);
        expect(panicked.body).toContain('panicked');
        expect((await get(`${service.url}/fault/panic`)).status).toBe(200);
      });
      expect(await health(service, 'rust-panic')).toMatchObject({ state: 'running', restarts: 0 });
    });
  }

  it('the service stayed up through every fault', async () => {
    expect(service.process.exitCode).toBeNull();
    expect((await get(`${service.url}/my-feature`)).body).toBe('{"message":"Hello from my plugin!"}');
  });
});

/**
 * Quarantine (sdk/c/backworks_plugin.h, QUARANTINE) with a real C plugin that crashes on every
 * start, in initialize or right after it: at most max_crashes starts, then one probe per
 * quarantine period, each failed probe doubling the period. Every start is counted by the plugin
 * itself in its marker file (faulty-c counts each strike of its fault there).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../helpers/service.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { get, libs } from './helpers.js';

const MAX_CRASHES = 3;
const FIRST_QUARANTINE_MS = 1500;

interface PluginHealth { state: string; status: string; restarts: number; next_probe_at?: string; last_reason?: string; message?: string }

describe('a native plugin that crashes on every start', () => {
  let service: RunningService;
  let dir: string;
  const starts = (fault: string) => {
    try { return Number(fs.readFileSync(path.join(dir, `${fault}.count`), 'utf8').trim()); } catch { return 0; }
  };

  beforeAll(async () => {
    dir = tempDir('bw-quarantine-');
    const plugin = (fault: string) => `  ${fault.replace('_', '-')}:
    type: external
    path: ${libs.faultyC}
    restart: { backoff: 50ms, max_backoff: ${FIRST_QUARANTINE_MS}ms, max_crashes: ${MAX_CRASHES}, window: 60s }
    config: ${JSON.stringify({ fault, marker: path.join(dir, `${fault}.count`), times: 1000, delay_ms: 100 })}
`;
    const file = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(file, `plugins:
${plugin('exit_init')}${plugin('thread_crash')}endpoints:
  exit-init: { path: /exit-init, plugin: exit-init }
  thread-crash: { path: /thread-crash, plugin: thread-crash }
`);
    service = await startService(file, { timeoutMs: 30_000 });
  }, 40_000);

  afterAll(async () => { await service?.stop(); });

  const health = async (plugin: string): Promise<PluginHealth> =>
    (JSON.parse((await get(`${service.url}/health`)).body) as { plugins: Record<string, PluginHealth> }).plugins[plugin]!;

  /** Follows one plugin through its first quarantine and two failed probes. */
  async function follow(fault: string): Promise<void> {
      const plugin = fault.replace('_', '-');
      const quarantined = await waitFor('quarantine', async () => {
        const h = await health(plugin);
        return h.state === 'quarantined' && h.next_probe_at ? h : undefined;
      });
      expect(starts(fault)).toBe(MAX_CRASHES);
      expect(quarantined.status).toBe('unhealthy');
      expect(quarantined.last_reason).toMatch(fault === 'exit_init' ? /exited with code 1/ : /killed by SIGSEGV/);
      const refused = await get(`${service.url}/${plugin}`);
      expect(refused.status).toBe(503);
      expect(refused.body).toContain('quarantined until');

      // The first probe: one start after the first period, then a period twice as long.
      const firstProbeAt = Date.parse(quarantined.next_probe_at!);
      await waitFor('the first probe', () => starts(fault) === MAX_CRASHES + 1, { timeoutMs: 10_000 });
      const afterFirst = await waitFor('the failed probe', async () => {
        const h = await health(plugin);
        return h.state === 'quarantined' && h.next_probe_at && Date.parse(h.next_probe_at) > firstProbeAt ? h : undefined;
      });
      const secondProbeAt = Date.parse(afterFirst.next_probe_at!);
      expect(secondProbeAt - firstProbeAt).toBeGreaterThanOrEqual(2 * FIRST_QUARANTINE_MS - 100);
      expect(starts(fault)).toBe(MAX_CRASHES + 1); // no fresh cycle of restarts

      // Still one start in that longer period, then the second probe.
      await new Promise((r) => setTimeout(r, Math.max(0, secondProbeAt - Date.now() - 500)));
      expect(starts(fault)).toBe(MAX_CRASHES + 1);
      await waitFor('the second probe', () => starts(fault) === MAX_CRASHES + 2, { timeoutMs: 10_000 });
      const afterSecond = await waitFor('the second failed probe', async () => {
        const h = await health(plugin);
        return h.state === 'quarantined' && h.next_probe_at && Date.parse(h.next_probe_at) > secondProbeAt ? h : undefined;
      });
      expect(Date.parse(afterSecond.next_probe_at!) - secondProbeAt).toBeGreaterThanOrEqual(4 * FIRST_QUARANTINE_MS - 100);
      await new Promise((r) => setTimeout(r, 1000));
      expect(starts(fault)).toBe(MAX_CRASHES + 2);
      expect(service.logs.filter((l) => l.plugin === plugin && l.msg === 'plugin quarantined')).toHaveLength(3);
  }

  // Both at once: their crashes run on their own clock from the service's start.
  it('max_crashes starts, then one probe per quarantine period, each failure doubling it: in initialize, and right after it', async () => {
    await Promise.all([follow('exit_init'), follow('thread_crash')]);
  }, 40_000);
});

/**
 * Defaults are written only in the schema. They reach the code on every path: a loaded file (ajv's
 * useDefaults, also for sections the file leaves out), an entry a test attaches by hand and a
 * reload (the manager fills the schema's defaults itself), and a buffer opened without `storage:`.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BuiltinDriver } from '../../service/src/plugins/builtin.js';
import { loadConfig } from '../../service/src/config/load.js';
import { createManager } from '../helpers/gateway.js';
import { tempDir } from '../helpers/tmp.js';
import { openBufferFromConfig } from '../../service/src/buffer/from-config.js';
import { Metrics } from '../../service/src/metrics.js';

const plugin = (name: string) => new BuiltinDriver({ name, version: '1', initialize() {} });

describe('defaults come from the schema alone', () => {
  it('a loaded file has the defaults of sections it leaves out', async () => {
    const file = path.join(tempDir(), 'backworks.yaml');
    fs.writeFileSync(file, 'plugins:\n  sim:\n    type: builtin\n    pack: manufacturing/simulator\n    config:\n      devices: [{ name: d, points: [{ name: p, signal: sine }] }]\n');
    const { config } = await loadConfig(file);
    expect(config.server).toMatchObject({ body_limit: '1MB', port: 8080 });
    expect(config.health).toEqual({ interval: '10s' });
    expect(config.plugins!.sim).toMatchObject({ timeout: '2s', init_timeout: '30s', failure_threshold: 5, recovery_timeout: '30s', restart: { backoff: '200ms', max_backoff: '30s', max_crashes: 5, window: '60s' } });
  });

  it('an entry attached or reconciled without them runs with the schema\'s values', async () => {
    const { manager } = createManager();
    const attached = await manager.attach('a', plugin('a'), { type: 'builtin', pack: 'test/a' });
    expect(attached.settings).toMatchObject({ timeoutMs: 2000, failureThreshold: 5, recoveryMs: 30_000, critical: false });
    const given = { type: 'builtin' as const, pack: 'manufacturing/simulator', timeout: '750ms', config: { devices: [{ name: 'd', points: [{ name: 'p', signal: 'sine' }] }] } };
    await manager.reconcile({ sim: given });
    expect(manager.plugins.get('sim')!.settings).toMatchObject({ timeoutMs: 750, failureThreshold: 5, recoveryMs: 30_000 });
    expect(given).not.toHaveProperty('failure_threshold');
    await manager.stop();
  });

  it('a buffer opened without storage: uses the schema\'s file name', () => {
    const dir = tempDir();
    const buffer = openBufferFromConfig(undefined, dir, new Metrics().registry, pino({ level: 'silent' }));
    expect(fs.existsSync(path.join(dir, 'buffer.db'))).toBe(true);
    buffer.close();
  });
});

import pino from 'pino';
import { openBufferFromConfig } from '../../service/src/buffer/from-config.js';
import { Metrics } from '../../service/src/metrics.js';
import { PluginManager } from '../../service/src/plugins/manager.js';
import { tempDir } from './tmp.js';

/** A plugin manager as the gateway builds it: a real SQLite buffer in a temporary folder, a silent logger. */
export function createManager(healthIntervalMs = 60_000): { manager: PluginManager; metrics: Metrics } {
  const metrics = new Metrics();
  const dir = tempDir();
  const log = pino({ level: 'silent' });
  const manager = new PluginManager({
    log,
    metrics,
    services: openBufferFromConfig(undefined, dir, metrics.registry, log),
    configDir: dir,
    stateDir: dir,
    healthIntervalMs,
  });
  return { manager, metrics };
}

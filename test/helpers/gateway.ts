import pino from 'pino';
import { Metrics } from '../../service/src/metrics.js';
import { MemoryServices } from '../../service/src/plugins/memory-services.js';
import { PluginManager } from '../../service/src/plugins/manager.js';
import { tempDir } from './tmp.js';

/** A plugin manager as the gateway builds it, with a silent logger. */
export function createManager(healthIntervalMs = 60_000): { manager: PluginManager; metrics: Metrics } {
  const metrics = new Metrics();
  const dir = tempDir();
  const manager = new PluginManager({
    log: pino({ level: 'silent' }),
    metrics,
    services: new MemoryServices(),
    configDir: dir,
    stateDir: dir,
    healthIntervalMs,
  });
  return { manager, metrics };
}

import type { PluginDriver } from '../driver.js';
import type { Logger } from '../../log.js';

export interface NativePluginOptions {
  /** Absolute path of the library. */
  path: string;
  isolation: 'process' | 'none';
  timeoutMs: number;
  limits: { memory?: number; concurrency?: number };
  restart: { backoffMs: number; maxBackoffMs: number; maxCrashes: number; windowMs: number };
}

/** Placeholder until the native loader lands (issue 3). */
export async function openNativePlugin(name: string, _options: NativePluginOptions, _env: { log: Logger; stateDir: string }): Promise<PluginDriver> {
  throw new Error(`native plugin "${name}": the native loader is not built yet`);
}

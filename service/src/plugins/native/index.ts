/**
 * Native plugins: libraries built against sdk/c/backworks_plugin.h (C, or Rust with
 * backworks-plugin-sdk). The descriptor is read in a throwaway host process first, so a broken
 * library is refused with a clear reason and never loaded into the service; then the plugin runs
 * in its own host process (`isolation: process`, the default) or in the service (`none`).
 */
import type { PluginDriver } from '../driver.js';
import type { Logger } from '../../log.js';
import { InProcessDriver } from './inprocess.js';
import { inspectNativePlugin } from './inspect.js';
import { IsolatedDriver } from './isolated.js';
import type { NativePluginOptions } from './shared.js';

export type { NativePluginOptions } from './shared.js';
export { discoverNativePlugins, type DiscoveredPlugin } from './discovery.js';
export { inspectNativePlugin, type NativeMetadata } from './inspect.js';

export async function openNativePlugin(name: string, options: NativePluginOptions, env: { log: Logger; stateDir: string }): Promise<PluginDriver> {
  const metadata = await inspectNativePlugin(options.path);
  if (options.isolation === 'none') return new InProcessDriver(name, metadata, env.log);
  return new IsolatedDriver(name, metadata, options, env.log);
}

/**
 * Native plugins: libraries built against sdk/c/backworks_plugin.h (C, or Rust with
 * backworks-plugin-sdk). The descriptor is read in a throwaway host process first, so a broken
 * library is refused with a clear reason and never loaded into the service; then the plugin runs
 * in its own host process (`isolation: process`, the default) or in the service (`none`).
 */
import type { PluginDriver } from '../driver.js';
import type { Logger } from '../../log.js';
import { InProcessDriver } from './inprocess.js';
import { inspectNativePlugin, type NativeMetadata } from './inspect.js';
import { IsolatedDriver } from './isolated.js';
import type { NativePluginOptions } from './shared.js';
import type { PluginTrustConfig } from '../../config/sections/plugin-trust.js';

export type { NativePluginOptions } from './shared.js';
export { discoverNativePlugins, type DiscoveredPlugin } from './discovery.js';
export { inspectNativePlugin, type NativeMetadata } from './inspect.js';

/** `trust`: the plugin_trust section and the gateway's state directory (service/src/trust/README.md). */
export interface NativeEnv {
  log: Logger;
  stateDir: string;
  trust?: { config: PluginTrustConfig | undefined; stateDir: string };
}

export async function openNativePlugin(name: string, options: NativePluginOptions, env: NativeEnv): Promise<PluginDriver> {
  if (env.trust) {
    // Signatures are checked before the library is inspected or opened; the verified copy is what runs.
    const { admitNativePlugin, beforeOpen } = await import('../../trust/admit.js');
    const admission = await admitNativePlugin(options.path, env.trust.config, env.trust.stateDir, env.log);
    const metadata = await inspectNativePlugin(admission.path);
    beforeOpen(admission, metadata);
    return open(name, { ...options, path: admission.path }, metadata, env);
  }
  return open(name, options, await inspectNativePlugin(options.path), env);
}

function open(name: string, options: NativePluginOptions, metadata: NativeMetadata, env: NativeEnv): PluginDriver {
  if (options.isolation === 'none') return new InProcessDriver(name, metadata, env.log);
  return new IsolatedDriver(name, metadata, options, env.log);
}

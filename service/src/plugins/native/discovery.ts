import fs from 'node:fs/promises';
import path from 'node:path';
import { BackworksError } from '../../errors.js';
import { inspectNativePlugin, type NativeMetadata } from './inspect.js';

const LIBRARY = /\.(so|dylib|dll)$/;

export interface DiscoveredPlugin {
  path: string;
  metadata?: NativeMetadata;
  /** Why the library was refused (ABI mismatch, not a plugin, wrong architecture, ...). */
  error?: BackworksError;
}

/**
 * Scans `plugin_discovery.directories` for libraries and reads each descriptor in a throwaway
 * host. Refused libraries are listed with their reason; two libraries claiming the same plugin
 * name make both refused, since neither can be chosen safely.
 */
export async function discoverNativePlugins(directories: readonly string[]): Promise<DiscoveredPlugin[]> {
  const found: DiscoveredPlugin[] = [];
  for (const dir of directories) {
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter((n) => LIBRARY.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        found.push({ path: file, metadata: await inspectNativePlugin(file) });
      } catch (err) {
        found.push({ path: file, error: err instanceof BackworksError ? err : new BackworksError('BW_ERR_NATIVE_HOST', file, (err as Error).message) });
      }
    }
  }
  const byName = new Map<string, DiscoveredPlugin>();
  for (const plugin of found) {
    if (!plugin.metadata) continue;
    const first = byName.get(plugin.metadata.name);
    if (!first) { byName.set(plugin.metadata.name, plugin); continue; }
    const duplicate = new BackworksError('BW_ERR_NATIVE_DUPLICATE', plugin.metadata.name, first.path, plugin.path);
    first.error ??= duplicate;
    plugin.error = duplicate;
  }
  return found;
}

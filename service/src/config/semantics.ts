import fs from 'node:fs';
import path from 'node:path';
import { importPack, listPacks } from '../plugins/packs.js';
import type { BackworksConfig, PluginConfig } from './schema.js';
import type { ConfigIssue, YamlSource } from './source.js';
import { didYouMean } from './suggest.js';
import { validateAgainst } from './validate.js';

/** Paths the gateway serves itself; a configured endpoint may not take them. */
export const RESERVED_PATHS = ['/health', '/metrics', '/api'];

export function isReservedPath(p: string): boolean {
  return RESERVED_PATHS.some((r) => p === r || p.startsWith(`${r}/`));
}

/** Checks that need more than one key at a time: references between sections, paths, packs. */
export function checkReferences(config: BackworksConfig, source: YamlSource): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const plugins = config.plugins ?? {};
  const pluginNames = Object.keys(plugins);
  const packs = listPacks();

  for (const [name, plugin] of Object.entries(plugins)) {
    const at = ['plugins', name];
    if (plugin.type === 'external') {
      if (!plugin.path) issues.push(source.issue([...at, 'type'], `plugin "${name}" is external and needs "path:" (the native library)`));
      if (plugin.pack) issues.push(source.issue([...at, 'pack'], `"pack" is for builtin plugins; an external plugin names its library with "path"`, 'key'));
    } else {
      if (!plugin.pack) issues.push(source.issue([...at, 'type'], `plugin "${name}" is builtin and needs "pack:" (one of ${packs.join(', ')})`));
      else if (!packs.includes(plugin.pack)) issues.push(source.issue([...at, 'pack'], `unknown pack "${plugin.pack}"${didYouMean(plugin.pack, packs)}${didYouMean(plugin.pack, packs) ? '' : `; available: ${packs.join(', ')}`}`));
      if (plugin.path) issues.push(source.issue([...at, 'path'], `"path" is for external (native) plugins; a builtin plugin is named by "pack"`, 'key'));
    }
  }

  const served = new Map<string, { endpoint: string; line: number }>();
  for (const [name, endpoint] of Object.entries(config.endpoints ?? {})) {
    const at = ['endpoints', name];
    if (isReservedPath(endpoint.path)) {
      issues.push(source.issue([...at, 'path'], `"${endpoint.path}" is reserved for the gateway itself (${RESERVED_PATHS.join(', ')}); choose another path`));
    }
    if (endpoint.plugin !== undefined && endpoint.data !== undefined) {
      issues.push(source.issue([...at, 'data'], `endpoint "${name}" has both "plugin" and "data"; it is answered by a plugin or from the buffer, not both`, 'key'));
    }
    if (endpoint.data?.history && !endpoint.data.point) {
      issues.push(source.issue([...at, 'data', 'history'], `endpoint "${name}": "history: true" needs "point:" (the point whose readings to answer)`));
    }
    if (endpoint.plugin !== undefined && !plugins[endpoint.plugin]) {
      issues.push(source.issue([...at, 'plugin'], `endpoint "${name}" names plugin "${endpoint.plugin}", which is not defined under plugins${didYouMean(endpoint.plugin, pluginNames)}`));
    }
    // "/a/:id" and "/a/:name" are the same route to the router.
    const shape = endpoint.path.replace(/:[^/]+/g, ':').replace(/\/+$/, '') || '/';
    for (const method of endpoint.methods ?? ['GET']) {
      const key = `${method} ${shape}`;
      const earlier = served.get(key);
      const here = source.issue([...at, 'path'], '');
      if (earlier) {
        issues.push({ ...here, message: `${method} ${endpoint.path} is already served by endpoint "${earlier.endpoint}" (line ${earlier.line})` });
      } else {
        served.set(key, { endpoint: name, line: here.line });
      }
    }
  }
  if (config.fleet && !config.gateway) {
    issues.push(source.issue(['fleet'], '"fleet" needs "gateway: {id, site}": they name the MQTT topics backworks/{site}/{id}/', 'key'));
  }
  return issues;
}

/**
 * The deep checks `check` and `run` do before anything starts: native libraries exist, are trusted
 * and are plugins of our ABI, and each plugin's `config:` passes the plugin's own JSON Schema (and,
 * for builtin packs, their semantic check).
 */
export async function checkPlugins(config: BackworksConfig, source: YamlSource, configDir: string): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const [name, plugin] of Object.entries(config.plugins ?? {})) {
    if (plugin.enabled === false) continue;
    const at = ['plugins', name];
    if (plugin.type === 'external' && plugin.path) issues.push(...(await checkExternal(plugin, at, config, source, configDir)));
    if (plugin.type === 'builtin' && plugin.pack && listPacks().includes(plugin.pack)) issues.push(...(await checkBuiltin(plugin, at, source, configDir)));
  }
  return issues;
}

async function checkExternal(plugin: PluginConfig, at: string[], config: BackworksConfig, source: YamlSource, configDir: string): Promise<ConfigIssue[]> {
  const file = path.resolve(configDir, plugin.path!);
  try { fs.accessSync(file, fs.constants.R_OK); } catch {
    return [source.issue([...at, 'path'], `native library ${file} does not exist or is not readable${file.includes('/plugins/') ? '; build it first (npm run build) or fix the path' : ''}`)];
  }
  // Unsigned, tampered or wrongly keyed libraries, as the loader would refuse them (service/src/trust).
  const { policyOf } = await import('../trust/admit.js');
  const { verifyLibrary } = await import('../trust/verify.js');
  try { await verifyLibrary(file, policyOf(config.plugin_trust)); } catch (err) {
    return [source.issue([...at, 'path'], `${(err as { code?: string }).code ?? 'refused'}: ${(err as Error).message}`)];
  }
  // The descriptor, read in a throwaway host process: not a plugin, wrong ABI or architecture are found here.
  const { inspectNativePlugin } = await import('../plugins/native/inspect.js');
  let schema: Record<string, unknown> | undefined;
  try { schema = (await inspectNativePlugin(file)).configSchema; } catch (err) {
    return [source.issue([...at, 'path'], (err as Error).message)];
  }
  return schema ? validateAgainst(schema, plugin.config ?? {}, source, [...at, 'config']) : [];
}

async function checkBuiltin(plugin: PluginConfig, at: string[], source: YamlSource, configDir: string): Promise<ConfigIssue[]> {
  const mod = await importPack(plugin.pack!);
  const schema = mod.default().configSchema;
  const pluginConfig = plugin.config ?? {};
  const issues = schema ? validateAgainst(schema, pluginConfig, source, [...at, 'config']) : [];
  if (issues.length || !mod.checkConfig) return issues;
  return (await mod.checkConfig(pluginConfig, { configDir })).map((problem) => source.issue([...at, 'config', ...problem.path], problem.message));
}

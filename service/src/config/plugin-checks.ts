import fs from 'node:fs';
import path from 'node:path';
import { importPack, listPacks } from '../plugins/packs.js';
import type { BackworksConfig, PluginConfig } from './schema.js';
import { mapEntries } from './semantics.js';
import type { ConfigIssue, YamlSource } from './source.js';
import { unreadableFile } from './file-problems.js';
import { validateAgainst } from './validate.js';

/**
 * The deep checks `check` and `run` do before anything starts: files the config names exist and
 * can be read, native libraries are trusted plugins of our ABI, and each plugin's `config:` passes
 * the plugin's own JSON Schema and, for builtin packs, their own check. A plugin whose entry is not
 * readable (the schema reports it) is skipped.
 */
export async function checkPlugins(config: BackworksConfig, source: YamlSource, configDir: string): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [...checkFleetFiles(config, source, configDir)];
  for (const [name, entry] of mapEntries(config.plugins)) {
    const plugin = entry as PluginConfig;
    if (plugin.enabled === false) continue;
    if (plugin.config !== undefined && (typeof plugin.config !== 'object' || plugin.config === null || Array.isArray(plugin.config))) continue;
    const at = ['plugins', name];
    if (plugin.type === 'external' && typeof plugin.path === 'string' && plugin.path) issues.push(...(await checkExternal(plugin, at, config, source, configDir)));
    if (plugin.type === 'builtin' && typeof plugin.pack === 'string' && listPacks().includes(plugin.pack)) issues.push(...(await checkBuiltin(plugin, at, source, configDir)));
  }
  return issues;
}

async function checkExternal(plugin: PluginConfig, at: string[], config: BackworksConfig, source: YamlSource, configDir: string): Promise<ConfigIssue[]> {
  const file = path.resolve(configDir, plugin.path!);
  const unreadable = unreadableFile(file, 'native library');
  if (unreadable) return [source.issue([...at, 'path'], `${unreadable}${fs.existsSync(file) ? '' : missingLibraryHint(file)}`)];
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

/**
 * What to do about a library that is not there: a library of the other spelling beside it
 * (`backworks plugin install` names it after the plugin, cargo after the crate: libmy_plugin.so
 * and libmy-plugin.so), else how a plugin gets onto a gateway.
 */
function missingLibraryHint(file: string): string {
  const base = path.basename(file);
  const swapped = base.includes('_') ? base.replace(/_/g, '-') : base.replace(/-/g, '_');
  const other = path.join(path.dirname(file), swapped);
  if (swapped !== base && fs.existsSync(other)) return `; there is ${swapped} beside it: write path: ${other}`;
  return '; install the plugin (backworks plugin install NAME prints the path to write here) or copy its built library (.so) to that path';
}

async function checkBuiltin(plugin: PluginConfig, at: string[], source: YamlSource, configDir: string): Promise<ConfigIssue[]> {
  const mod = await importPack(plugin.pack!);
  const schema = mod.default().configSchema;
  const pluginConfig = plugin.config ?? {};
  const issues = schema ? validateAgainst(schema, pluginConfig, source, [...at, 'config']) : [];
  if (!mod.checkConfig) return issues;
  const problems = await mod.checkConfig(pluginConfig, { configDir });
  return [...issues, ...problems.map((problem) => source.issue([...at, 'config', ...problem.path], problem.message))];
}

/** The TLS files of the fleet link, read at start relative to the config's folder. */
function checkFleetFiles(config: BackworksConfig, source: YamlSource, configDir: string): ConfigIssue[] {
  const mqtt = (config.fleet as { mqtt?: Record<string, unknown> } | undefined)?.mqtt;
  if (typeof mqtt !== 'object' || mqtt === null) return [];
  const issues: ConfigIssue[] = [];
  for (const key of ['ca', 'cert', 'key'] as const) {
    const value = mqtt[key];
    if (typeof value !== 'string' || !value) continue;
    const problem = unreadableFile(path.resolve(configDir, value), `fleet.mqtt.${key}: the PEM file`);
    if (problem) issues.push(source.issue(['fleet', 'mqtt', key], problem));
  }
  return issues;
}

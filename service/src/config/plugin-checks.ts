import fs from 'node:fs';
import path from 'node:path';
import { importPack, importPluginModule, listPacks } from '../plugins/packs.js';
import type { BackworksConfig, PluginConfig } from './schema.js';
import { mapEntries } from './semantics.js';
import type { ConfigIssue, YamlSource } from '../../../sdk/typescript/yaml.js';
import { unreadableFile } from '../../../sdk/typescript/file-problems.js';
import { validateAgainst } from './validate.js';
import type { DiscoveredPlugin } from '../plugins/native/discovery.js';
import type { PluginModule } from '../../../sdk/typescript/index.js';

export interface PluginCheckResult {
  /** Mistakes of the file as a whole (the fleet link's files, unreadable discovery folders). */
  issues: ConfigIssue[];
  /** Mistakes of one plugin (its library, its `config:`), by plugin name. */
  byPlugin: Map<string, ConfigIssue[]>;
  /** External plugins without `path`, by name: the library found for them in plugin_discovery.directories. */
  discovered: Map<string, string>;
}

/**
 * The deep checks `check` and `run` do before anything starts: files the config names exist and
 * can be read, native libraries (named by `path` or found by discovery) are trusted plugins of our
 * ABI, and each plugin's `config:` passes the plugin's own JSON Schema and, for builtin packs, their
 * own check. Plugins are checked at once. A plugin whose entry is not readable (the schema reports
 * it) is skipped.
 */
export async function checkPlugins(config: BackworksConfig, source: YamlSource, configDir: string): Promise<PluginCheckResult> {
  const result: PluginCheckResult = { issues: [...checkFleetFiles(config, source, configDir)], byPlugin: new Map(), discovered: new Map() };
  const discovery = lazyDiscovery(config, source, configDir, result.issues);
  await Promise.all(mapEntries(config.plugins).map(async ([name, entry]) => {
    const plugin = entry as PluginConfig;
    if (plugin.enabled === false) return;
    if (plugin.config !== undefined && (typeof plugin.config !== 'object' || plugin.config === null || Array.isArray(plugin.config))) return;
    const at = ['plugins', name];
    let issues: ConfigIssue[] = [];
    if (plugin.type === 'external' && typeof plugin.path === 'string' && plugin.path) {
      issues = await checkExternal(path.resolve(configDir, plugin.path), [...at, 'path'], plugin, at, config, source);
    } else if (plugin.type === 'external' && plugin.path === undefined && discovery) {
      const found = await findDiscovered(name, await discovery(), config, source, at);
      if ('issue' in found) issues = [found.issue];
      else {
        result.discovered.set(name, found.file);
        issues = await checkExternal(found.file, [...at, 'type'], plugin, at, config, source);
      }
    } else if (plugin.type === 'builtin' && typeof plugin.pack === 'string' && listPacks().includes(plugin.pack)) {
      issues = await checkTypeScript(await importPack(plugin.pack), plugin, at, source, configDir);
    } else if (plugin.type === 'typescript' && typeof plugin.module === 'string' && plugin.module) {
      const file = path.resolve(configDir, plugin.module);
      const unreadable = unreadableFile(file, 'plugin module');
      if (unreadable) issues = [source.issue([...at, 'module'], `${unreadable}; build the plugin (npm run build in its folder) and write the path of its compiled .js module`)];
      else {
        try {
          issues = await checkTypeScript(await importPluginModule(file), plugin, at, source, configDir);
        } catch (err) {
          issues = [source.issue([...at, 'module'], `cannot load ${file}: ${(err as Error).message}`)];
        }
      }
    }
    if (issues.length) result.byPlugin.set(name, issues);
  }));
  return result;
}

/** The folders of plugin_discovery, scanned once and only when a plugin needs them. */
function lazyDiscovery(config: BackworksConfig, source: YamlSource, configDir: string, issues: ConfigIssue[]): (() => Promise<DiscoveredPlugin[]>) | undefined {
  const directories = (config.plugin_discovery as { directories?: unknown } | undefined)?.directories;
  if (!Array.isArray(directories)) return undefined;
  let scan: Promise<DiscoveredPlugin[]> | undefined;
  return () => scan ??= (async () => {
    const { discoverNativePlugins } = await import('../plugins/native/discovery.js');
    const found: DiscoveredPlugin[] = [];
    for (const [i, dir] of directories.entries()) {
      if (typeof dir !== 'string') continue;
      try { found.push(...(await discoverNativePlugins([path.resolve(configDir, dir)]))); } catch (err) {
        issues.push(source.issue(['plugin_discovery', 'directories', String(i)], `cannot read this folder: ${(err as Error).message}`));
      }
    }
    return found;
  })();
}

/** The one library of the folders whose descriptor has `name`, or the issue why there is none. */
async function findDiscovered(name: string, found: DiscoveredPlugin[], config: BackworksConfig, source: YamlSource, at: string[]): Promise<{ file: string } | { issue: ConfigIssue }> {
  const matches = found.filter((f) => f.metadata?.name === name);
  const folders = ((config.plugin_discovery as { directories: string[] }).directories).join(', ');
  if (matches.length === 0) {
    const names = found.flatMap((f) => (f.metadata ? [f.metadata.name] : []));
    const refused = found.flatMap((f) => (f.error && !f.metadata ? [`${f.path} (${f.error.message})`] : []));
    return { issue: source.issue([...at, 'type'], `plugin "${name}" has no "path:" and no library in plugin_discovery.directories (${folders}) is named "${name}"${names.length ? `; found there: ${names.join(', ')}` : ''}${refused.length ? `; refused there: ${refused.join('; ')}` : ''}; write "path:" or copy the library into one of them`) };
  }
  if (matches.length > 1) {
    return { issue: source.issue([...at, 'type'], `plugin "${name}": ${matches.map((m) => m.path).join(' and ')} both name themselves "${name}"; remove one, or write "path:" to choose`) };
  }
  return { file: matches[0]!.path };
}

async function checkExternal(file: string, fileAt: string[], plugin: PluginConfig, at: string[], config: BackworksConfig, source: YamlSource): Promise<ConfigIssue[]> {
  const unreadable = unreadableFile(file, 'native library');
  if (unreadable) return [source.issue(fileAt, `${unreadable}${fs.existsSync(file) ? '' : missingLibraryHint(file)}`)];
  // Unsigned, tampered or wrongly keyed libraries, as the loader would refuse them (service/src/trust).
  const { policyOf } = await import('../trust/admit.js');
  const { verifyLibrary } = await import('../trust/verify.js');
  try { await verifyLibrary(file, policyOf(config.plugin_trust)); } catch (err) {
    return [source.issue(fileAt, `${(err as { code?: string }).code ?? 'refused'}: ${(err as Error).message}`)];
  }
  // The descriptor, read in a throwaway host process: not a plugin, wrong ABI or architecture are found here.
  const { inspectNativePlugin } = await import('../plugins/native/inspect.js');
  let schema: Record<string, unknown> | undefined;
  try { schema = (await inspectNativePlugin(file)).configSchema; } catch (err) {
    return [source.issue(fileAt, (err as Error).message)];
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

async function checkTypeScript(mod: PluginModule, plugin: PluginConfig, at: string[], source: YamlSource, configDir: string): Promise<ConfigIssue[]> {
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

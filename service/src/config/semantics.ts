import { listPacks } from '../plugins/packs.js';
import { hostProblem, urlAddressProblem } from '../../../sdk/typescript/address.js';
import type { BackworksConfig } from './schema.js';
import type { ConfigIssue, YamlSource } from '../../../sdk/typescript/yaml.js';
import { didYouMean } from '../../../sdk/typescript/suggest.js';

/** Paths the gateway serves itself; a configured endpoint may not take them. */
export const RESERVED_PATHS = ['/health', '/metrics', '/api', '/console'];

export function isReservedPath(p: string): boolean {
  return RESERVED_PATHS.some((r) => p === r || p.startsWith(`${r}/`));
}

/** The entries of a map whose values are maps; anything else is the schema's to report. */
export function mapEntries(value: unknown): Array<[string, Record<string, unknown>]> {
  if (!isObject(value)) return [];
  return Object.entries(value).filter((e): e is [string, Record<string, unknown>] => isObject(e[1]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * Checks that need more than one key at a time: references between sections, paths, packs,
 * addresses. They run even when the schema found mistakes (each reads only values of the right
 * type), so that one run reports everything.
 */
export function checkReferences(config: BackworksConfig, source: YamlSource): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const plugins = mapEntries(config.plugins);
  const pluginNames = isObject(config.plugins) ? Object.keys(config.plugins) : [];
  const packs = listPacks();

  for (const [name, plugin] of plugins) {
    const at = ['plugins', name];
    if (plugin.type === 'external') {
      if (plugin.path === undefined && !isObject(config.plugin_discovery)) {
        issues.push(source.issue([...at, 'type'], `plugin "${name}" is external and needs "path:" (the native library), or plugin_discovery.directories to find the library named "${name}"`));
      }
      if (plugin.pack !== undefined) issues.push(source.issue([...at, 'pack'], `"pack" is for builtin plugins; an external plugin names its library with "path"`, 'key'));
    } else if (plugin.type === 'builtin') {
      const pack = text(plugin.pack);
      if (plugin.pack === undefined) issues.push(source.issue([...at, 'type'], `plugin "${name}" is builtin and needs "pack:" (one of ${packs.join(', ')})`));
      else if (pack !== undefined && !packs.includes(pack)) issues.push(source.issue([...at, 'pack'], `unknown pack "${pack}"${didYouMean(pack, packs) || `; available: ${packs.join(', ')}`}`));
      if (plugin.path !== undefined) issues.push(source.issue([...at, 'path'], `"path" is for external (native) plugins; a builtin plugin is named by "pack"`, 'key'));
    } else if (plugin.type === 'typescript') {
      if (plugin.module === undefined) issues.push(source.issue([...at, 'type'], `plugin "${name}" is typescript and needs "module:" (its compiled JavaScript module, e.g. my-pack/dist/index.js)`));
      if (plugin.pack !== undefined) issues.push(source.issue([...at, 'pack'], `"pack" names a plugin in packs/ (type: builtin); a typescript plugin is loaded from "module"`, 'key'));
      if (plugin.path !== undefined) issues.push(source.issue([...at, 'path'], `"path" is for external (native) plugins; a typescript plugin is loaded from "module"`, 'key'));
    }
    if (plugin.type !== 'typescript' && plugin.module !== undefined) {
      issues.push(source.issue([...at, 'module'], `"module" is for typescript plugins (type: typescript)`, 'key'));
    }
  }

  const served = new Map<string, { endpoint: string; line: number }>();
  for (const [name, endpoint] of mapEntries(config.endpoints)) {
    const at = ['endpoints', name];
    const endpointPath = text(endpoint.path);
    const plugin = text(endpoint.plugin);
    const data = isObject(endpoint.data) ? endpoint.data : undefined;
    if (endpointPath !== undefined && isReservedPath(endpointPath)) {
      issues.push(source.issue([...at, 'path'], `"${endpointPath}" is reserved for the gateway itself (${RESERVED_PATHS.join(', ')}); choose another path`));
    }
    if (endpoint.plugin !== undefined && endpoint.data !== undefined) {
      issues.push(source.issue([...at, 'data'], `endpoint "${name}" has both "plugin" and "data"; it is answered by a plugin or from the buffer, not both`, 'key'));
    }
    if (data?.history === true && data.point === undefined) {
      issues.push(source.issue([...at, 'data', 'history'], `endpoint "${name}": "history: true" needs "point:" (the point whose readings to answer)`));
    }
    if (plugin !== undefined && !pluginNames.includes(plugin)) {
      issues.push(source.issue([...at, 'plugin'], `endpoint "${name}" names plugin "${plugin}", which is not defined under plugins${didYouMean(plugin, pluginNames)}`));
    }
    if (endpointPath === undefined || !endpointPath.startsWith('/')) continue;
    // "/a/:id" and "/a/:name" are the same route to the router.
    const shape = endpointPath.replace(/:[^/]+/g, ':').replace(/\/+$/, '') || '/';
    const methods = Array.isArray(endpoint.methods) ? endpoint.methods.filter((m): m is string => typeof m === 'string') : ['GET'];
    for (const method of new Set(methods)) {
      const key = `${method} ${shape}`;
      const earlier = served.get(key);
      const here = source.issue([...at, 'path'], '');
      if (earlier) {
        issues.push({ ...here, message: `${method} ${endpointPath} is already served by endpoint "${earlier.endpoint}" (line ${earlier.line})` });
      } else {
        served.set(key, { endpoint: name, line: here.line });
      }
    }
  }
  if (config.fleet !== undefined && config.gateway === undefined) {
    issues.push(source.issue(['fleet'], '"fleet" needs "gateway: {id, site}": they name the MQTT topics backworks/{site}/{id}/', 'key'));
  }
  if (config.fleet?.backworks_data === false && config.fleet.sparkplug === undefined) {
    issues.push(source.issue(['fleet', 'backworks_data'], '"backworks_data: false" sends readings only to Sparkplug: add "sparkplug: {}" (or remove this line), or the readings go nowhere'));
  }
  issues.push(...checkAddresses(config, source));
  return issues;
}

/** Addresses the gateway itself listens on or connects to. */
function checkAddresses(config: BackworksConfig, source: YamlSource): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const host = isObject(config.server) ? text(config.server.host) : undefined;
  const hostIssue = host !== undefined ? hostProblem(host) : undefined;
  if (hostIssue) issues.push(source.issue(['server', 'host'], `${hostIssue}; or write 0.0.0.0 to listen on every interface`));
  const mqtt = isObject(config.fleet) && isObject(config.fleet.mqtt) ? config.fleet.mqtt : undefined;
  const url = mqtt ? text(mqtt.url) : undefined;
  if (url !== undefined && /^(mqtts?|wss?|tcp|ssl):\/\//.test(url)) {
    const problem = urlAddressProblem(url, /^(mqtts|ssl):/.test(url) ? 8883 : 1883);
    if (problem) issues.push(source.issue(['fleet', 'mqtt', 'url'], problem));
  }
  return issues;
}

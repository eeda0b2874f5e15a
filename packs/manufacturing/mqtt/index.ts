import { Value } from '@sinclair/typebox/value';
import type { BackworksPlugin, ConfigProblem } from '../../../sdk/typescript/index.js';
import { urlAddressProblem } from '../../../sdk/typescript/address.js';
import { MqttConfigSchema, type MqttConfig } from './config.js';
import { parsePath } from './json-path.js';
import { MqttDevicesPlugin } from './plugin.js';
import { badPlaceholders, validFilter } from './topics.js';

/** manufacturing/mqtt: devices that publish JSON over MQTT. See README.md. */
export default function create(): BackworksPlugin {
  return new MqttDevicesPlugin();
}

/** The broker's address is valid, path expressions parse, topic filters are valid, {N} placeholders name wildcard levels. */
export function checkConfig(config: unknown): ConfigProblem[] {
  if (!Value.Check(MqttConfigSchema, config)) return [];
  const problems: ConfigProblem[] = [];
  const { url } = (config as MqttConfig).broker;
  const address = urlAddressProblem(url, /^(mqtts|wss):/.test(url) ? 8883 : 1883);
  if (address) problems.push({ path: ['broker', 'url'], message: address });
  (config as MqttConfig).devices.forEach((d, i) => {
    const filterError = validFilter(d.topic);
    if (filterError) problems.push({ path: ['devices', i, 'topic'], message: filterError });
    for (const key of ['name', 'command_topic'] as const) {
      const bad = d[key] ? badPlaceholders(d[key]!, d.topic) : [];
      if (bad.length) problems.push({ path: ['devices', i, key], message: `{${bad[0]}} is not a wildcard level of topic "${d.topic}" (levels count from 0)` });
    }
    if (d.command_topic && /[+#]/.test(d.command_topic)) problems.push({ path: ['devices', i, 'command_topic'], message: 'a topic to publish to cannot contain + or #' });
    const paths: Array<[Array<string | number>, string]> = d.points.map((p, j) => [['devices', i, 'points', j, 'path'], p.path]);
    if (d.timestamp) paths.push([['devices', i, 'timestamp'], d.timestamp]);
    for (const [at, text] of paths) {
      try { parsePath(text); } catch (err) { problems.push({ path: at, message: (err as Error).message }); }
    }
    const names = new Set<string>();
    d.points.forEach((p, j) => {
      if (names.has(p.name)) problems.push({ path: ['devices', i, 'points', j, 'name'], message: `point "${p.name}" is defined twice` });
      names.add(p.name);
    });
  });
  return problems;
}

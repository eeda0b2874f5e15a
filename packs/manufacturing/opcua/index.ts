import { Value } from '@sinclair/typebox/value';
import type { BackworksPlugin, ConfigProblem } from '../../../sdk/typescript/index.js';
import { urlAddressProblem } from '../../../sdk/typescript/address.js';
import { OpcuaConfigSchema, type OpcuaConfig } from './config.js';
import { OpcuaPlugin } from './plugin.js';

/** manufacturing/opcua: OPC UA servers' variables as points. See README.md. */
export default function create(): BackworksPlugin {
  return new OpcuaPlugin();
}

/** Checked without loading node-opcua: endpoint addresses, names, credentials and security settings that fit together. */
export function checkConfig(config: unknown): ConfigProblem[] {
  if (!Value.Check(OpcuaConfigSchema, config)) return [];
  const problems: ConfigProblem[] = [];
  const names = new Set<string>();
  (config as OpcuaConfig).servers.forEach((s, i) => {
    if (names.has(s.name)) problems.push({ path: ['servers', i, 'name'], message: `two servers are named "${s.name}"` });
    const address = urlAddressProblem(s.endpoint, 4840);
    if (address) problems.push({ path: ['servers', i, 'endpoint'], message: address });
    names.add(s.name);
    const mode = s.security_mode ?? 'None';
    if (mode === 'None' && s.security_policy && s.security_policy !== 'None') {
      problems.push({ path: ['servers', i, 'security_policy'], message: `security_policy ${s.security_policy} needs security_mode Sign or SignAndEncrypt` });
    }
    if (mode !== 'None' && s.security_policy === 'None') {
      problems.push({ path: ['servers', i, 'security_policy'], message: `security_mode ${mode} needs a security policy such as Basic256Sha256` });
    }
    if (s.password !== undefined && s.username === undefined) problems.push({ path: ['servers', i, 'password'], message: 'a password without a username: add `username`' });
    const points = new Set<string>();
    s.points.forEach((p, j) => {
      if (points.has(p.name)) problems.push({ path: ['servers', i, 'points', j, 'name'], message: `point "${p.name}" is defined twice` });
      points.add(p.name);
      if (p.mode === 'poll' && (p.deadband !== undefined || p.sampling_interval !== undefined)) {
        problems.push({ path: ['servers', i, 'points', j], message: `point "${p.name}": deadband and sampling_interval apply to mode subscribe only` });
      }
    });
  });
  return problems;
}

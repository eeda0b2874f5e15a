import type { BackworksPlugin, ConfigProblem } from '../../../sdk/typescript/index.js';
import { Value } from '@sinclair/typebox/value';
import { DeviceSchema, ModbusConfigSchema, type ModbusConfig } from './config.js';
import { ModbusPlugin } from './plugin.js';
import { resolveDevices } from './resolve.js';

/** manufacturing/modbus: Modbus TCP and RTU devices, polled in coalesced requests. See README.md. */
export default function create(): BackworksPlugin {
  return new ModbusPlugin();
}

/**
 * What `backworks check` runs after the JSON Schema: device addresses, point definitions and
 * firmware profiles (which must exist, parse, and cover the requested firmware version). Devices
 * the schema refuses are left to its report; the others are still checked, so that every mistake
 * shows at once.
 */
export function checkConfig(config: unknown, context: { configDir: string }): ConfigProblem[] {
  if (Value.Check(ModbusConfigSchema, config)) return resolveDevices(config as ModbusConfig, context.configDir).problems;
  const c = config as { devices?: unknown; profiles_dir?: unknown };
  if (!Array.isArray(c?.devices) || (c.profiles_dir !== undefined && typeof c.profiles_dir !== 'string')) return [];
  const checked = c.devices.map((d, i) => [d, i] as const).filter(([d]) => Value.Check(DeviceSchema, d));
  const partial = { ...(c as ModbusConfig), devices: checked.map(([d]) => d as ModbusConfig['devices'][number]) };
  return resolveDevices(partial, context.configDir).problems.map((p) =>
    (p.path[0] === 'devices' && typeof p.path[1] === 'number' ? { ...p, path: ['devices', checked[p.path[1]][1], ...p.path.slice(2)] } : p));
}

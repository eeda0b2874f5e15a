import type { BackworksPlugin, ConfigProblem } from '../../../sdk/typescript/index.js';
import { Value } from '@sinclair/typebox/value';
import { ModbusConfigSchema, type ModbusConfig } from './config.js';
import { ModbusPlugin } from './plugin.js';
import { resolveDevices } from './resolve.js';

/** manufacturing/modbus: Modbus TCP and RTU devices, polled in coalesced requests. See README.md. */
export default function create(): BackworksPlugin {
  return new ModbusPlugin();
}

/**
 * What `backworks check` runs after the JSON Schema: device addresses, point definitions and
 * firmware profiles (which must exist, parse, and cover the requested firmware version).
 */
export function checkConfig(config: unknown, context: { configDir: string }): ConfigProblem[] {
  if (!Value.Check(ModbusConfigSchema, config)) return []; // the schema check already reported it
  return resolveDevices(config as ModbusConfig, context.configDir).problems;
}

import { FLEET_COMMANDS } from '../config/sections/fleet.js';
import { BackworksError, type ErrorCode } from '../errors.js';
import type { DataBuffer } from '../buffer/buffer.js';
import type { GatewayControl } from './control.js';

export type CommandName = (typeof FLEET_COMMANDS)[number];

/** The answer published on the response topic, with the request's correlation data. */
export type CommandAnswer =
  | { ok: true; command: string; result: unknown }
  | { ok: false; command: string; error: { code: string; message: string } };

export interface CommandPolicy {
  enabled: boolean;
  disabled: readonly string[];
}

/**
 * Runs one fleet command. Arguments come as the JSON payload ({} when empty). Every failure becomes
 * an error answer with a code: the operator on the other end always hears back.
 */
export async function runCommand(name: string, payload: Buffer, context: {
  control: GatewayControl;
  buffer: DataBuffer;
  policy: CommandPolicy;
  version: string;
  startedAt: number;
}): Promise<CommandAnswer> {
  const fail = (code: ErrorCode, ...args: string[]): CommandAnswer => ({ ok: false, command: name, error: { code, message: new BackworksError(code, ...args).message } });
  if (!(FLEET_COMMANDS as readonly string[]).includes(name)) return fail('BW_ERR_FLEET_UNKNOWN_COMMAND', name, FLEET_COMMANDS.join(', '));
  if (!context.policy.enabled || context.policy.disabled.includes(name)) return fail('BW_ERR_FLEET_COMMAND_DISABLED', name);
  let args: Record<string, unknown> = {};
  const text = payload.toString('utf8').trim();
  if (text !== '') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      args = parsed as Record<string, unknown>;
    } catch {
      return fail('BW_ERR_FLEET_BAD_COMMAND', name, `the payload must be a JSON object (or empty), got ${JSON.stringify(text.slice(0, 80))}`);
    }
  }
  try {
    return { ok: true, command: name, result: await execute(name as CommandName, args, context) };
  } catch (err) {
    if (err instanceof BackworksError) return { ok: false, command: name, error: { code: err.code, message: err.message } };
    return fail('BW_ERR_FLEET_COMMAND_FAILED', name, (err as Error).message ?? String(err));
  }
}

async function execute(name: CommandName, args: Record<string, unknown>, context: { control: GatewayControl; buffer: DataBuffer; version: string; startedAt: number }): Promise<unknown> {
  switch (name) {
    case 'ping':
      return { pong: true, version: context.version, uptime_s: Math.round((Date.now() - context.startedAt) / 1000), ts: Date.now() };
    case 'health':
      return context.control.health();
    case 'reload':
      return context.control.reload();
    case 'plugin-restart': {
      const plugin = args.plugin;
      if (typeof plugin !== 'string' || plugin === '') throw new BackworksError('BW_ERR_FLEET_BAD_COMMAND', name, 'give the plugin to restart as {"plugin": "NAME"}');
      return context.control.restartPlugin(plugin);
    }
    case 'config':
      return context.control.redactedConfig();
    case 'buffer-stats':
      return context.buffer.stats();
  }
}

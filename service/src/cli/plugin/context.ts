import fs from 'node:fs';
import path from 'node:path';
import type { PluginTrustConfig } from '../../config/sections/plugin-trust.js';
import { locateConfig } from '../../config/locate.js';

export interface TrustContext {
  trust: PluginTrustConfig | undefined;
  /** The gateway's state directory, resolved exactly as the gateway does. */
  stateDir: string;
}

export interface ContextOptions {
  config?: string;
  stateDir?: string;
}

/**
 * plugin_trust and the state directory from backworks.yaml (when there is one), without the deep
 * plugin checks: installing a plugin must work before the config that names it is valid.
 */
export async function trustContext(opts: ContextOptions): Promise<TrustContext> {
  const file = locateConfig(opts.config);
  if (!opts.config && !fs.existsSync(file)) {
    return { trust: undefined, stateDir: path.resolve(opts.stateDir ?? process.env.STATE_DIRECTORY ?? '.state') };
  }
  const { loadConfig } = await import('../../config/load.js');
  const { config, dir } = await loadConfig(file, { deep: false });
  return { trust: config.plugin_trust, stateDir: path.resolve(dir, opts.stateDir ?? config.state_dir ?? process.env.STATE_DIRECTORY ?? '.state') };
}

/** Prints a refusal as CODE: message and sets exit code 1; anything else is rethrown. */
export function report(err: unknown): void {
  const code = (err as { code?: string }).code;
  if (!code?.startsWith('BW_ERR_') && !(err as { issues?: unknown }).issues) throw err;
  process.stderr.write(`${code ? `${code}: ` : ''}${(err as Error).message}\n`);
  process.exitCode = 1;
}

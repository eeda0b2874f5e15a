import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { locateConfig } from '../config/locate.js';
import { discoverNativePlugins, inspectNativePlugin, type NativeMetadata } from '../plugins/native/index.js';
import { trustContext } from './plugin/context.js';
import { installedPlugins, registerRegistryCommands } from './plugin/registry.js';
import { registerSigningCommands } from './plugin/signing.js';
import { registerNewCommand } from './plugin/new.js';

/** Where installed plugins live; scanned besides plugin_discovery.directories. */
const INSTALLED_DIRS = ['/usr/lib/backworks/plugins', '/var/lib/backworks/plugins'];

function describe(meta: NativeMetadata): string {
  const lines = [
    `${meta.name} ${meta.version}  (ABI ${meta.abi})`,
    `  path          ${meta.path}`,
    `  description   ${meta.description || '-'}`,
    `  capabilities  ${meta.capabilities.join(', ') || '-'}`,
    `  config schema ${meta.configSchema ? JSON.stringify(meta.configSchema) : 'any object'}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * `backworks plugin`: list and inspect here; keygen, sign, verify (plugin/signing.ts); install,
 * update, remove, publish (plugin/registry.ts); new (plugin/new.ts).
 */
export function registerPluginCommands(program: Command): void {
  const plugin = program.command('plugin').description('native plugins: list, inspect, sign and verify, install from a registry, scaffold');

  plugin.command('inspect')
    .description('read a plugin library\'s descriptor without initializing it; exit 0 valid, 1 refused with the reason')
    .argument('<path>', 'library (.so, .dylib, .dll)')
    .option('--json', 'print the descriptor as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      try {
        const meta = await inspectNativePlugin(path.resolve(file));
        process.stdout.write(opts.json ? `${JSON.stringify(meta)}\n` : describe(meta));
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (opts.json) process.stdout.write(`${JSON.stringify({ valid: false, path: path.resolve(file), code, error: (err as Error).message })}\n`);
        else process.stderr.write(`${code ? `${code}: ` : ''}${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });

  plugin.command('list')
    .description('list installed plugins, then the libraries in plugin_discovery.directories and the installed plugin folders, with refusals')
    .option('-c, --config <file>', 'configuration file whose plugin_discovery.directories and state_dir are used')
    .option('--state-dir <dir>', 'state directory (default: state_dir of the configuration)')
    .option('--json', 'print the list as JSON')
    .action(async (opts: { config?: string; stateDir?: string; json?: boolean }) => {
      const dirs = [...INSTALLED_DIRS];
      const file = locateConfig(opts.config);
      if (opts.config || fs.existsSync(file)) {
        const loaded = await loadConfig(file, { deep: false });
        for (const dir of loaded.config.plugin_discovery?.directories ?? []) dirs.unshift(path.resolve(loaded.dir, dir));
      }
      const { stateDir } = await trustContext(opts);
      const { plugins: installed, dir: installedDir } = await installedPlugins(stateDir);
      dirs.push(installedDir);
      const found = await discoverNativePlugins([...new Set(dirs)]);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ installed, directories: dirs, plugins: found.map((p) => ({
          path: p.path, ...(p.metadata ? { metadata: p.metadata } : {}), ...(p.error ? { code: p.error.code, error: p.error.message } : {}),
        })) })}\n`);
      } else {
        for (const [name, p] of Object.entries(installed)) process.stdout.write(`installed ${name} ${p.version}  ${p.link}  (from ${p.registry})\n`);
        if (found.length === 0) process.stdout.write(`no plugin libraries in ${dirs.join(', ')}\n`);
        for (const p of found) {
          if (p.error) process.stdout.write(`REFUSED  ${p.path}\n  ${p.error.code}: ${p.error.message}\n`);
          else process.stdout.write(`ok       ${p.metadata!.name} ${p.metadata!.version}  ${p.path}\n`);
        }
      }
      if (found.some((p) => p.error)) process.exitCode = 1;
    });

  registerSigningCommands(plugin);
  registerRegistryCommands(plugin);
  registerNewCommand(plugin);
}

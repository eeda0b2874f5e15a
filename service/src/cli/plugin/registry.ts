import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { parseDuration } from '../../../../sdk/typescript/units.js';
import { report, trustContext, type ContextOptions } from './context.js';

/** A registry given as a folder or a file path becomes a file:// URL of its index.json. */
export function registryUrl(value: string): string {
  if (/^(https?|file):\/\//.test(value)) return value;
  const absolute = path.resolve(value);
  const isDir = fs.existsSync(absolute) && fs.statSync(absolute).isDirectory();
  return pathToFileURL(isDir ? path.join(absolute, 'index.json') : absolute).href;
}

type RegistryOptions = ContextOptions & { registry?: string };

async function installOptions(opts: RegistryOptions) {
  const { parsePublicKeys } = await import('../../trust/keys.js');
  const { progressFor } = await import('../../trust/progress.js');
  const { trust, stateDir } = await trustContext(opts);
  const registry = opts.registry ?? trust?.registry;
  return { stateDir, keys: parsePublicKeys(trust?.keys ?? []), progress: progressFor(process.stderr), registry: registry ? registryUrl(registry) : undefined };
}

function printResult(r: { action: string; name: string; version: string; from?: string; artifact?: string; plugin: { link: string } }): void {
  if (r.action === 'unchanged') { process.stdout.write(`${r.name} ${r.version} is already installed and up to date\n`); return; }
  process.stdout.write(`${r.action} ${r.name} ${r.from ? `${r.from} -> ` : ''}${r.version}\n  path: ${r.plugin.link}\n`);
  // The link is named after the plugin; a library built by cargo is named after its crate (my_plugin).
  const installedAs = path.basename(r.plugin.link);
  if (r.artifact && r.artifact !== installedAs) {
    process.stdout.write(`  note: the registry's file ${r.artifact} is installed as ${installedAs}; in backworks.yaml write\n    path: ${r.plugin.link}\n`);
  }
}

const withContext = (cmd: Command) => cmd
  .option('-c, --config <file>', 'configuration whose plugin_trust (keys, registry) and state_dir are used')
  .option('--state-dir <dir>', 'state directory (default: state_dir of the configuration)');

/** `backworks plugin install`, `update`, `remove` and `publish`. */
export function registerRegistryCommands(plugin: Command): void {
  withContext(plugin.command('install'))
    .description('download NAME[@VERSION] from a signed registry, verify it and put it in the state directory\'s plugin store')
    .argument('<plugin>', 'NAME or NAME@VERSION')
    .option('--registry <url>', 'index.json URL (https://, http://, file://) or folder (default: plugin_trust.registry)')
    .action(async (spec: string, opts: RegistryOptions) => {
      const { installPlugin } = await import('../../trust/install.js');
      const at = spec.lastIndexOf('@');
      const [name, version] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, undefined];
      try {
        const options = await installOptions(opts);
        if (!options.registry) throw Object.assign(new Error('no registry: pass --registry URL or set plugin_trust.registry'), { code: 'BW_ERR_REGISTRY_NOT_FOUND' });
        printResult(await installPlugin(name, version, { ...options, registry: options.registry }));
      } catch (err) { report(err); }
    });

  withContext(plugin.command('update'))
    .description('update installed plugins (all, or the named ones) to the newest version of their registry')
    .argument('[names...]', 'installed plugins (default: all)')
    .option('--registry <url>', 'index.json URL or folder (default: the one each plugin came from)')
    .action(async (names: string[], opts: RegistryOptions) => {
      const { updatePlugins } = await import('../../trust/install.js');
      try {
        const results = await updatePlugins(names, await installOptions(opts));
        if (!results.length) process.stdout.write('no plugins installed\n');
        for (const r of results) printResult(r);
      } catch (err) { report(err); }
    });

  withContext(plugin.command('remove'))
    .description('remove an installed plugin: its path, its record and its stored files')
    .argument('<name>', 'installed plugin')
    .action(async (name: string, opts: ContextOptions) => {
      const { removePlugin } = await import('../../trust/install.js');
      try {
        const { stateDir } = await trustContext(opts);
        const removed = removePlugin(name, stateDir);
        process.stdout.write(`removed ${name} ${removed.version} (${removed.link})\n`);
      } catch (err) { report(err); }
    });

  plugin.command('publish')
    .description('write a signed index.json for a folder of signed libraries (each FILE with FILE.sig), ready to serve as a registry')
    .argument('<dir>', 'registry folder')
    .requiredOption('--key <file>', 'private key from backworks plugin keygen')
    .option('--expires <duration>', 'how long the index stays valid (e.g. 30d)', '30d')
    .option('--index-version <n>', 'index version (default: the published one + 1)')
    .action(async (dir: string, opts: { key: string; expires: string; indexVersion?: string }) => {
      const { readPrivateKey } = await import('../../trust/keys.js');
      const { publishRegistry } = await import('../../trust/publish.js');
      try {
        const { file, index } = publishRegistry(path.resolve(dir), {
          signer: readPrivateKey(opts.key), validForMs: parseDuration(opts.expires), ...(opts.indexVersion ? { version: Number(opts.indexVersion) } : {}),
        });
        const count = Object.values(index.plugins).reduce((n, v) => n + Object.keys(v).length, 0);
        process.stdout.write(`${file}: version ${index.version}, ${count} plugin versions, expires ${index.expires}\n`);
      } catch (err) { report(err); }
    });
}

/** Installed plugins and the folder of their links, for `backworks plugin list`. */
export async function installedPlugins(stateDir: string) {
  const { installedDir, listInstalled } = await import('../../trust/install.js');
  return { plugins: listInstalled(stateDir), dir: installedDir(stateDir) };
}

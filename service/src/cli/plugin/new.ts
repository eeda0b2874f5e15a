import type { Command } from 'commander';
import { report } from './context.js';

/** `backworks plugin new NAME --lang rust|c|ts --template endpoint|connector|hook`. */
export function registerNewCommand(plugin: Command): void {
  plugin.command('new')
    .description('scaffold a plugin that builds, passes its own test and loads: a Rust crate, a C folder, or a TypeScript pack (packs/INDUSTRY/NAME)')
    .argument('<name>', 'plugin name: lowercase letters, digits and dashes, e.g. line-counter')
    .requiredOption('--lang <lang>', 'rust, c or ts')
    .option('--template <template>', 'endpoint, connector or hook', 'endpoint')
    .option('--dir <dir>', 'where to create it (default: ./NAME; for ts: packs/INDUSTRY/NAME of the current folder)')
    .option('--industry <industry>', 'ts only: the packs/ folder it belongs to', 'general')
    .option('--description <text>', 'one line saying what it does')
    .action(async (name: string, opts: { lang: string; template: string; dir?: string; industry: string; description?: string }) => {
      const { scaffoldPlugin } = await import('./scaffold.js');
      try {
        const result = scaffoldPlugin({ name, lang: opts.lang, template: opts.template, dir: opts.dir, industry: opts.industry, description: opts.description });
        process.stdout.write(`created ${result.dir} (${opts.lang} ${opts.template})\n${result.files.map((f) => `  ${f}`).join('\n')}\n\nnext:\n${result.next.map((l) => `  ${l}`).join('\n')}\n`);
      } catch (err) { report(err); }
    });
}

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { PackCliModule } from '../../../sdk/typescript/index.js';
import { moduleExtension, packsRoot } from '../paths.js';
import { listPacks } from '../plugins/packs.js';

/**
 * The commands packs declare in their `cli` module (see PackCommand), found by looking, not listed
 * here: a pack that adds one needs no change to the service.
 */
export async function registerPackCommands(program: Command): Promise<void> {
  const groups = new Map<string, Command>();
  for (const pack of listPacks()) {
    const file = path.join(packsRoot, pack, `cli${moduleExtension}`);
    if (!fs.existsSync(file)) continue;
    const { commands } = (await import(pathToFileURL(file).href)) as PackCliModule;
    for (const declared of commands) {
      let group = groups.get(declared.group);
      if (!group) {
        group = program.command(declared.group).description(declared.groupDescription);
        groups.set(declared.group, group);
      }
      const command = group.command(declared.name).description(`${declared.description} (pack ${pack})`);
      for (const argument of declared.arguments ?? []) command.argument(`<${argument.name}>`, argument.description);
      for (const option of declared.options ?? []) command.option(option.flags, option.description, option.default);
      command.action(async (...given: unknown[]) => {
        const args = given.slice(0, declared.arguments?.length ?? 0).map(String);
        const options = given[args.length] as Record<string, string | boolean | undefined>;
        process.exitCode = await declared.run(args, options);
      });
    }
  }
}

import type { Command } from 'commander';
import { ConfigSchema } from '../config/schema.js';

export function registerSchemaCommand(program: Command): void {
  program.command('schema')
    .description('print the JSON Schema of backworks.yaml (editors use it for completion and checks)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(ConfigSchema, null, 2)}\n`);
    });
}

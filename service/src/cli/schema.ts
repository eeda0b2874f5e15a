import type { Command } from 'commander';

export function registerSchemaCommand(program: Command): void {
  program.command('schema')
    .description('print the JSON Schema of backworks.yaml (editors use it for completion and checks)')
    .action(async () => {
      const { ConfigSchema } = await import('../config/schema.js');
      process.stdout.write(`${JSON.stringify(ConfigSchema, null, 2)}\n`);
    });
}

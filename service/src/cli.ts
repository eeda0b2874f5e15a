#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { packageVersion } from './paths.js';
import { registerCheckCommand } from './cli/check.js';
import { registerFleetCommands } from './cli/fleet.js';
import { registerPackCommands } from './cli/pack-commands.js';
import { registerPluginCommands } from './cli/plugin.js';
import { registerReloadCommand } from './cli/reload.js';
import { registerRunCommand } from './cli/run.js';
import { registerSchemaCommand } from './cli/schema.js';
import { registerStatusCommand } from './cli/status.js';
import { registerTokenCommands } from './cli/token.js';
import { registerUserCommands } from './cli/user.js';

/** Exit codes: 0 success, 1 the work failed (invalid config, unhealthy), 2 usage error. */
const program = new Command()
  .name('backworks')
  .description('Backworks edge gateway: protocol plugins, a store-and-forward buffer, configured HTTP endpoints, an MQTT fleet link')
  .version(packageVersion, '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerRunCommand(program);
registerCheckCommand(program);
registerSchemaCommand(program);
registerStatusCommand(program);
registerReloadCommand(program);
registerPluginCommands(program);
registerUserCommands(program);
registerTokenCommands(program);
registerFleetCommands(program);
await registerPackCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; everything else commander refuses is a usage error.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  process.stderr.write(`backworks: ${(err as Error).message}\n`);
  process.exit(1);
}

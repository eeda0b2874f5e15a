import type { Command } from 'commander';
import { locateConfig } from '../config/locate.js';

export function registerCheckCommand(program: Command): void {
  program.command('check')
    .description('validate backworks.yaml (and each plugin\'s config) without starting anything; exit 0 valid, 1 invalid, 2 usage error')
    .option('-c, --config <file>', 'configuration file (default ./backworks.yaml, then /etc/backworks/backworks.yaml)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { config?: string; json?: boolean }) => {
      // Loaded on use, so that `backworks --help` and `--version` answer at once.
      const { ConfigError, loadConfig } = await import('../config/load.js');
      const { formatIssue } = await import('../../../sdk/typescript/yaml.js');
      const file = locateConfig(opts.config);
      try {
        const loaded = await loadConfig(file);
        const plugins = Object.keys(loaded.config.plugins ?? {}).length;
        const endpoints = Object.keys(loaded.config.endpoints ?? {}).length;
        const { exposureWarnings } = await import('../auth/exposure.js');
        const warnings = exposureWarnings(loaded.config);
        // External plugins without `path`: the library plugin_discovery found for each.
        const discovered = Object.fromEntries(loaded.plugins.libraries ?? []);
        if (opts.json) process.stdout.write(`${JSON.stringify({ valid: true, file, plugins, endpoints, discovered, errors: [], warnings })}\n`);
        else {
          for (const warning of warnings) process.stderr.write(`${file}: warning: ${warning}\n`);
          for (const [name, library] of Object.entries(discovered)) process.stdout.write(`${file}: plugin "${name}" is ${library} (found in plugin_discovery.directories)\n`);
          process.stdout.write(`${file}: valid (${plugins} plugins, ${endpoints} endpoints)\n`);
        }
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        if (opts.json) process.stdout.write(`${JSON.stringify({ valid: false, file, errors: err.issues })}\n`);
        else process.stderr.write(`${err.issues.map(formatIssue).join('\n')}\n${err.issues.length} error(s); fix them and run backworks check again\n`);
        process.exitCode = 1;
      }
    });
}

import type { Command } from 'commander';
import type { ReloadResult } from '../gateway.js';
import { formatIssue } from '../../../sdk/typescript/yaml.js';
import { authHint, callApi, describeTarget, withApiOptions, type ApiOptions } from './api-client.js';

export function registerReloadCommand(program: Command): void {
  withApiOptions(program.command('reload')
    .description('apply the edited backworks.yaml to a running gateway without a restart (same as SIGHUP); exit 1 when the file is refused'))
    .option('--json', 'print the result as JSON')
    .action(async (opts: ApiOptions & { json?: boolean }) => {
      let result: ReloadResult;
      try {
        const res = await callApi(opts, 'POST', '/api/reload', 60_000);
        const refused = authHint(res.status, res.body);
        if (refused) { process.stderr.write(`${refused}\n`); process.exitCode = 1; return; }
        result = res.body as ReloadResult;
      } catch (err) {
        process.stderr.write(`cannot reach ${describeTarget(opts)}: ${(err as Error).message}; is the service running (systemctl status backworks)?\n`);
        process.exitCode = 1;
        return;
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (!result.ok) process.stderr.write(`${result.issues.map(formatIssue).join('\n')}\nreload refused: the running configuration stays\n`);
      else {
        const p = result.plugins;
        process.stdout.write(`reloaded: ${p.kept.length} plugins unchanged, ${p.replaced.length} replaced, ${p.started.length} started, ${p.removed.length} removed; ${result.endpoints} endpoints\n`);
        for (const r of p.refused) process.stdout.write(`  "${r.name}" keeps its previous config: the new one is not healthy (${r.reason})\n`);
        if (result.needsRestart.length) process.stdout.write(`  restart to apply: ${result.needsRestart.join(', ')}\n`);
      }
      if (!result.ok || result.plugins.refused.length) process.exitCode = 1;
    });
}

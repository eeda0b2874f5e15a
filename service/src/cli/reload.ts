import type { Command } from 'commander';
import type { ReloadResult } from '../gateway.js';
import { formatIssue } from '../config/source.js';

export function registerReloadCommand(program: Command): void {
  program.command('reload')
    .description('apply the edited backworks.yaml to a running gateway without a restart (same as SIGHUP); exit 1 when the file is refused')
    .option('--url <url>', 'base URL of the gateway', 'http://127.0.0.1:8080')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { url: string; json?: boolean }) => {
      let result: ReloadResult;
      try {
        const res = await fetch(new URL('/api/reload', opts.url), { method: 'POST', signal: AbortSignal.timeout(60_000) });
        result = (await res.json()) as ReloadResult;
      } catch (err) {
        process.stderr.write(`cannot reach ${opts.url}: ${(err as Error).message}; is the service running (systemctl status backworks)?\n`);
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

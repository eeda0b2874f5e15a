import type { Command } from 'commander';
import type { HealthReport } from '../health.js';

export function registerStatusCommand(program: Command): void {
  program.command('status')
    .description("show a running gateway's health: exit 0 healthy or degraded, 1 unhealthy or unreachable")
    .option('--url <url>', 'base URL of the gateway', 'http://127.0.0.1:8080')
    .option('--json', 'print the health report as JSON')
    .action(async (opts: { url: string; json?: boolean }) => {
      let report: HealthReport;
      try {
        const res = await fetch(new URL('/health', opts.url), { signal: AbortSignal.timeout(5000) });
        report = (await res.json()) as HealthReport;
      } catch (err) {
        process.stderr.write(`cannot reach ${opts.url}: ${(err as Error).message}; is the service running (systemctl status backworks)?\n`);
        process.exitCode = 1;
        return;
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else {
        process.stdout.write(`${report.status}  version ${report.version}  up ${report.uptime_s}s\n`);
        for (const p of Object.values(report.plugins)) {
          process.stdout.write(`  ${p.name.padEnd(20)} ${p.status.padEnd(10)} ${p.state.padEnd(12)} breaker ${p.breaker}${p.restarts ? `  restarts ${p.restarts}` : ''}${p.message ? `  ${p.message}` : ''}\n`);
        }
      }
      if (report.status === 'unhealthy') process.exitCode = 1;
    });
}

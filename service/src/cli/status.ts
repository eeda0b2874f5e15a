import type { Command } from 'commander';
import type { HealthReport } from '../health.js';
import { authHint, callApi, describeTarget, withApiOptions, type ApiOptions } from './api-client.js';

export function registerStatusCommand(program: Command): void {
  withApiOptions(program.command('status')
    .description("show a running gateway's health: exit 0 healthy or degraded, 1 unhealthy or unreachable"))
    .option('--json', 'print the health report as JSON')
    .action(async (opts: ApiOptions & { json?: boolean }) => {
      let report: HealthReport & { setup?: { pending: boolean; token_file: string } };
      let status: number;
      try {
        const res = await callApi(opts, 'GET', '/health', 5000);
        report = res.body as typeof report;
        status = res.status;
      } catch (err) {
        process.stderr.write(`cannot reach ${describeTarget(opts)}: ${(err as Error).message}; is the service running (systemctl status backworks)?\n`);
        process.exitCode = 1;
        return;
      }
      const refused = authHint(status, report);
      if (refused) { process.stderr.write(`${refused}\n`); process.exitCode = 1; return; }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else if (!report.plugins) {
        // Without a credential /health shows only the state.
        process.stdout.write(`${report.status}  (details need a token: --token or BACKWORKS_TOKEN, or run as root on the box)\n`);
      } else {
        process.stdout.write(`${report.status}  version ${report.version}  up ${report.uptime_s}s\n`);
        for (const p of Object.values(report.plugins)) {
          process.stdout.write(`  ${p.name.padEnd(20)} ${p.status.padEnd(10)} ${p.state.padEnd(12)} breaker ${p.breaker}${p.restarts ? `  restarts ${p.restarts}` : ''}${p.message ? `  ${p.message}` : ''}\n`);
        }
      }
      if (!opts.json && report.setup?.pending) {
        process.stdout.write(`setup: no admin user yet; the one-time setup token is in ${report.setup.token_file} (POST /api/auth/setup, or backworks user add NAME --role admin on the box)\n`);
      }
      if (report.status === 'unhealthy') process.exitCode = 1;
    });
}

import { InvalidArgumentError, type Command } from 'commander';
import { locateConfig } from '../config/locate.js';

export function registerRunCommand(program: Command): void {
  program.command('run')
    .description('start the gateway in the foreground (systemd runs this)')
    .option('-c, --config <file>', 'configuration file (default ./backworks.yaml, then /etc/backworks/backworks.yaml)')
    .option('-p, --port <port>', 'HTTP port, overriding server.port', parsePort)
    .option('--host <host>', 'address to listen on, overriding server.host')
    .action(async (opts: { config?: string; port?: number; host?: string }) => {
      const { ConfigError, loadConfig } = await import('../config/load.js');
      const { formatIssue } = await import('../../../sdk/typescript/yaml.js');
      const { Gateway } = await import('../gateway.js');
      const { createLogger } = await import('../log.js');
      const file = locateConfig(opts.config);
      let loaded;
      try {
        // A plugin the deep checks refuse is started as failed with the reason; the rest runs.
        loaded = await loadConfig(file, { pluginsFailAlone: true });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`${err.issues.map(formatIssue).join('\n')}\nnot started: fix backworks.yaml (backworks check -c ${file})\n`);
        process.exit(1);
      }
      const { LogRing } = await import('../console/log-ring.js');
      const logRing = new LogRing();
      const log = createLogger(loaded.config.logging?.level ?? 'info', process.stdout, logRing);
      log.info({ file, config: loaded.redacted() }, 'configuration loaded');
      // Relative paths in the file mean the file's folder, as `check` reads them, also for what a
      // plugin loaded into this process opens itself (under systemd the working directory is /).
      try { process.chdir(loaded.dir); } catch (err) {
        log.warn({ dir: loaded.dir, err: (err as Error).message }, 'cannot work in the folder of the configuration; relative paths in plugin configs may not resolve');
      }
      const { linkToSystemd } = await import('../systemd/link.js');
      const { killAllHosts } = await import('../plugins/native/host-process.js');
      const gateway = await Gateway.start(loaded, { log, logRing, port: opts.port, host: opts.host });
      const systemd = linkToSystemd(gateway, log);

      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        systemd.stopping();
        log.info({ signal, budget_ms: STOP_BUDGET_MS }, 'stopping');
        // Whatever a plugin does, the service is gone before systemd's TimeoutStopSec (60 s).
        setTimeout(() => {
          log.error({ budget_ms: STOP_BUDGET_MS, hosts: killAllHosts('the service did not stop within its budget') }, 'stop budget spent: plugin hosts killed, exiting');
          process.exit(1);
        }, STOP_BUDGET_MS).unref();
        await gateway.stop();
        log.info('stopped');
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
      // systemctl reload (ExecReload sends SIGHUP): a refused file keeps the running config.
      process.on('SIGHUP', () => {
        if (stopping) return;
        systemd.reloading();
        void gateway.reload()
          .catch((err: Error) => log.error({ err: err.message }, 'reload failed; the running configuration stays'))
          .finally(() => { if (!stopping) systemd.ready(); });
      });
      // Last, once every plugin is running or failed: systemd may send SIGTERM or SIGHUP the
      // moment it hears READY=1.
      systemd.starting();
      void gateway.settled.then(() => { if (!stopping) systemd.ready(); });
    });
}

/** Below the unit's TimeoutStopSec (60 s), so that the service, not systemd, ends what is left. */
const STOP_BUDGET_MS = 50_000;

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`must be 0-65535, got "${value}"`);
  return port;
}

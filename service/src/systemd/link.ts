import type { Gateway } from '../gateway.js';
import type { Logger } from '../log.js';
import { monotonicUsec, notifierFromEnvironment, watchdogIntervalMs, type Notifier } from './notify.js';
import { startWatchdog } from './watchdog.js';

/** What `backworks run` tells systemd at each step of the service's life. */
export interface SystemdLink {
  /**
   * HTTP listens, plugins are still starting: STATUS says so, and EXTEND_TIMEOUT_USEC keeps
   * systemd's start timeout ahead while they do (each is bounded by its own init_timeout, which
   * may be longer than TimeoutStartSec).
   */
  starting(): void;
  /** Config loaded, storage open, every plugin settled, HTTP listening: READY=1, then status and watchdog. */
  ready(): void;
  /** A SIGHUP reload begins (RELOADING=1); call ready() when it is done. */
  reloading(): void;
  /** A graceful stop begins: STOPPING=1, and the watchdog stops (systemd's stop timeout applies now). */
  stopping(): void;
}

const STATUS_EVERY_MS = 5_000;

const detached: SystemdLink = { starting() {}, ready() {}, reloading() {}, stopping() {} };
/** While plugins start: every EXTEND_EVERY_MS, the start may take EXTEND_BY_US more. */
const EXTEND_EVERY_MS = 10_000;
const EXTEND_BY_US = 30_000_000;

/** The link for this process; does nothing at all when systemd did not set NOTIFY_SOCKET. */
export function linkToSystemd(gateway: Gateway, log: Logger): SystemdLink {
  let notifier: Notifier | undefined;
  try {
    notifier = notifierFromEnvironment();
  } catch (err) {
    log.error({ err: (err as Error).message }, 'systemd: NOTIFY_SOCKET is set but libsystemd.so.0 cannot be used; systemd will time the start out');
    return detached;
  }
  if (!notifier) return detached;

  let warned = false;
  const send = (fields: Record<string, string | number>) => {
    if (notifier.send(fields) || warned) return;
    warned = true;
    log.warn({ socket: process.env.NOTIFY_SOCKET }, 'systemd: a notification was not delivered');
  };

  let lastStatus = '';
  const sendStatus = (force = false) => {
    const status = statusLine(gateway);
    if (!force && status === lastStatus) return;
    lastStatus = status;
    send({ STATUS: status });
  };

  let statusTimer: NodeJS.Timeout | undefined;
  let extendTimer: NodeJS.Timeout | undefined;
  let watchdog: { stop(): void } | undefined;
  const intervalMs = watchdogIntervalMs();
  return {
    starting() {
      const extend = () => {
        const waiting = gateway.manager.statuses().filter((p) => p.state === 'starting').map((p) => p.name);
        send({ EXTEND_TIMEOUT_USEC: EXTEND_BY_US, STATUS: (lastStatus = `starting: waiting for ${waiting.join(', ') || 'plugins'}`) });
      };
      extend();
      extendTimer ??= setInterval(extend, EXTEND_EVERY_MS).unref();
    },
    ready() {
      clearInterval(extendTimer);
      send({ READY: 1, STATUS: (lastStatus = statusLine(gateway)) });
      statusTimer ??= setInterval(() => sendStatus(), STATUS_EVERY_MS).unref();
      if (intervalMs && !watchdog) {
        watchdog = startWatchdog({
          intervalMs,
          alive: () => supervisionStalled(gateway),
          ping: () => send({ WATCHDOG: 1 }),
          onStall: (reason) => log.error({ reason }, 'systemd: watchdog pings stopped; systemd restarts the service unless this recovers'),
          onRecover: () => log.warn('systemd: watchdog pings resumed'),
        });
        log.info({ interval_ms: intervalMs }, 'systemd: watchdog enabled');
      }
    },
    reloading() {
      // MONOTONIC_USEC is what systemd >= 253 needs for Type=notify-reload; older versions ignore it.
      send({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec().toString(), STATUS: 'reloading configuration' });
      lastStatus = 'reloading configuration';
    },
    stopping() {
      watchdog?.stop();
      clearInterval(statusTimer);
      clearInterval(extendTimer);
      send({ STOPPING: 1, STATUS: 'stopping: draining plugins and flushing the buffer' });
    },
  };
}

/** One line for `systemctl status`: "healthy: 3 plugins, 2 endpoints, 0 pending". */
export function statusLine(gateway: Gateway): string {
  const health = gateway.health();
  const endpoints = Object.keys(gateway.loaded.config.endpoints ?? {}).length;
  const pending = Object.values(gateway.buffer.pending()).reduce((sum, n) => sum + n, 0);
  return `${health.status}: ${Object.keys(health.plugins).length} plugins, ${endpoints} endpoints, ${pending} pending`;
}

/**
 * Why supervision is not running, or undefined when it is: the plugin manager's health sweep (every
 * health.interval, each check under its plugin's deadline) must have finished recently.
 */
function supervisionStalled(gateway: Gateway): string | undefined {
  const { lastHealthSweepAt, healthIntervalMs } = gateway.manager;
  const staleAfterMs = 3 * healthIntervalMs + 30_000;
  const age = Date.now() - lastHealthSweepAt;
  return age > staleAfterMs ? `the plugin manager's health sweep last finished ${Math.round(age / 1000)} s ago (limit ${Math.round(staleAfterMs / 1000)} s)` : undefined;
}

import { createRequire } from 'node:module';
import type koffiModule from 'koffi';

/**
 * The service's half of systemd's notify protocol (sd_notify(3)): one datagram per state change on
 * the AF_UNIX socket systemd names in NOTIFY_SOCKET.
 *
 * Sent through libsystemd's own sd_notify, called with koffi, because Node has no AF_UNIX datagram
 * sockets. Not the `systemd-notify` npm package: it spawns the systemd-notify CLI on every call (a
 * fork+exec every few seconds for the watchdog), cannot send WATCHDOG=1, and its messages come from
 * the CLI's PID rather than the service's, which systemd's default NotifyAccess=main refuses.
 */
export interface Notifier {
  /** Sends one message of `KEY=value` lines; false when systemd did not take it (logged by the caller). */
  send(fields: Record<string, string | number>): boolean;
}

type SdNotify = (unsetEnvironment: number, state: string) => number;

/**
 * The notifier for this process, or undefined when systemd did not ask for notifications (no
 * NOTIFY_SOCKET): then nothing is loaded and nothing is sent. Throws when NOTIFY_SOCKET is set
 * but libsystemd.so.0 cannot be opened (the package depends on libsystemd0).
 */
export function notifierFromEnvironment(env: NodeJS.ProcessEnv = process.env): Notifier | undefined {
  if (!env.NOTIFY_SOCKET) return undefined;
  const sdNotify = openSdNotify();
  return {
    send(fields) {
      const state = Object.entries(fields).map(([key, value]) => `${key}=${String(value).replace(/\n/g, ' ')}`).join('\n');
      // sd_notify returns > 0 when sent, 0 when NOTIFY_SOCKET is unset, < 0 (-errno) on failure.
      return sdNotify(0, state) > 0;
    },
  };
}

let cached: SdNotify | undefined;

/** koffi (a native addon) is loaded only when systemd asks for notifications: it costs memory otherwise. */
function openSdNotify(): SdNotify {
  const koffi = createRequire(import.meta.url)('koffi') as typeof koffiModule;
  cached ??= koffi.load('libsystemd.so.0').func('int sd_notify(int unset_environment, const char *state)') as SdNotify;
  return cached;
}

/**
 * How often to ping the watchdog: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises, or
 * undefined when the watchdog is off or meant for another process (WATCHDOG_PID names another PID).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** CLOCK_MONOTONIC in microseconds, as RELOADING=1's MONOTONIC_USEC= wants (libuv's hrtime reads that clock). */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

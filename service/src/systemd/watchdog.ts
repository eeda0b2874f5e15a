/**
 * Pings systemd's watchdog from a timer on the event loop, so a wedged loop stops the pings by
 * itself, and only while `alive()` says the rest of the service is working too. When the pings stop,
 * systemd kills the service after WatchdogSec and Restart=on-failure starts it again.
 */
export interface WatchdogOptions {
  intervalMs: number;
  /** undefined when alive; otherwise why not (logged once when the pings stop). */
  alive: () => string | undefined;
  ping: () => void;
  onStall: (reason: string) => void;
  onRecover: () => void;
}

export function startWatchdog(options: WatchdogOptions): { stop(): void } {
  let stalled = false;
  const tick = () => {
    const reason = options.alive();
    if (reason === undefined) {
      if (stalled) { stalled = false; options.onRecover(); }
      options.ping();
    } else if (!stalled) {
      stalled = true;
      options.onStall(reason);
    }
  };
  tick();
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

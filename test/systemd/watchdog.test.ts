/**
 * The watchdog's liveness rule through libsystemd's real sd_notify to a real socket: pings only while
 * `alive()` holds, one log on stall and on recovery; and the plugin manager's health sweep, which the
 * service's `alive()` reads, advances while the manager runs and stops when it stops.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createManager } from '../helpers/gateway.js';
import { notifierFromEnvironment, watchdogIntervalMs } from '../../service/src/systemd/notify.js';
import { startWatchdog } from '../../service/src/systemd/watchdog.js';
import { pingTimes, startReceiver, type Receiver } from './receiver.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let receiver: Receiver | undefined;
afterEach(() => { receiver?.close(); delete process.env.NOTIFY_SOCKET; });

describe('the watchdog', () => {
  it('pings while alive, stops while not, and resumes', async () => {
    receiver = await startReceiver();
    // sd_notify reads the process environment itself (getenv), as under systemd.
    process.env.NOTIFY_SOCKET = receiver.socket;
    const notifier = notifierFromEnvironment()!;
    let reason: string | undefined;
    const events: string[] = [];
    const watchdog = startWatchdog({
      intervalMs: 50,
      alive: () => reason,
      ping: () => notifier.send({ WATCHDOG: 1 }),
      onStall: (why) => events.push(`stall: ${why}`),
      onRecover: () => events.push('recover'),
    });
    try {
      await sleep(400);
      const whileAlive = pingTimes(receiver.messages).length;
      expect(whileAlive).toBeGreaterThanOrEqual(4);
      expect(receiver.messages.every((m) => m.pid === process.pid)).toBe(true);

      reason = 'supervision stalled';
      await sleep(100);
      const atStall = pingTimes(receiver.messages).length;
      await sleep(400);
      expect(pingTimes(receiver.messages).length).toBe(atStall);
      expect(events).toEqual(['stall: supervision stalled']);

      reason = undefined;
      await sleep(300);
      expect(pingTimes(receiver.messages).length).toBeGreaterThan(atStall + 2);
      expect(events).toEqual(['stall: supervision stalled', 'recover']);
    } finally {
      watchdog.stop();
    }
  });

  it('reads WATCHDOG_USEC and WATCHDOG_PID as sd_watchdog_enabled(3) does', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({}, 42)).toBeUndefined();
    expect(notifierFromEnvironment({})).toBeUndefined();
  });
});

describe("the plugin manager's health sweep (the watchdog's liveness signal)", () => {
  it('advances every health interval while running and stops with the manager', async () => {
    const { manager } = createManager(50);
    await manager.start({});
    const first = manager.lastHealthSweepAt;
    expect(Date.now() - first).toBeLessThan(1_000);
    await sleep(200);
    const running = manager.lastHealthSweepAt;
    expect(running).toBeGreaterThan(first);
    await manager.stop();
    await sleep(200);
    const stopped = manager.lastHealthSweepAt;
    await sleep(200);
    expect(manager.lastHealthSweepAt).toBe(stopped);
  });
});

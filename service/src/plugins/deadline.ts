/** Thrown when a call does not settle before its deadline. */
export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`deadline of ${ms}ms exceeded`);
    this.name = 'DeadlineExceeded';
  }
}

interface Pending {
  /** The sweep tick at which the call has certainly run for `ms`. */
  due: number;
  ms: number;
  reject: (err: Error) => void;
}

/** How often expired calls are looked for: a deadline fires between `ms` and `ms + 2 * RESOLUTION_MS`. */
export const RESOLUTION_MS = 10;

const pending = new Set<Pending>();
let sweeper: NodeJS.Timeout | undefined;
/** Sweeps so far: time is counted in ticks, so a call never reads the clock. */
let tick = 0;

/**
 * Settles with `work`, or rejects with DeadlineExceeded after `ms`. The work itself is not
 * cancelled (a native call cannot be); the caller decides what to do with an abandoned call.
 *
 * Every call on every plugin has a deadline, so this is on the per-request path: instead of a
 * timer per call (setTimeout, clearTimeout and a Promise.race: ~1.4 µs), one sweep timer runs
 * while calls are in flight and fails the expired ones. A timer fires late, never early, so a call
 * gets at least `ms`.
 */
export function withDeadline<T, R = T>(
  work: Promise<T>,
  ms: number,
  onValue: (value: T) => R = (value) => value as unknown as R,
  onError: (err: unknown) => unknown = (err) => err,
): Promise<R> {
  // onValue/onError run exactly once, when the call settles or its deadline passes, whichever is
  // first; taking them here saves the caller a .then (a promise and a microtask per call).
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      pending.delete(entry);
      reject(onError(err));
    };
    // +1: the next tick may come at once, so it does not count as a whole period.
    const entry: Pending = { due: tick + Math.ceil(ms / RESOLUTION_MS) + 1, ms, reject: fail };
    pending.add(entry);
    sweeper ??= setInterval(sweep, RESOLUTION_MS);
    work.then((value) => {
      if (settled) return;
      settled = true;
      pending.delete(entry);
      try { resolve(onValue(value)); } catch (err) { reject(err); }
    }, fail);
  });
}

function sweep(): void {
  tick++;
  for (const entry of pending) {
    if (entry.due <= tick) {
      pending.delete(entry);
      entry.reject(new DeadlineExceeded(entry.ms));
    }
  }
  if (pending.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

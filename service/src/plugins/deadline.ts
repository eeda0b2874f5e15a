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
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // +1: the next tick may come at once, so it does not count as a whole period.
    const entry: Pending = { due: tick + Math.ceil(ms / RESOLUTION_MS) + 1, ms, reject };
    pending.add(entry);
    sweeper ??= setInterval(sweep, RESOLUTION_MS);
    work.then(
      (value) => { pending.delete(entry); resolve(value); },
      (err: unknown) => { pending.delete(entry); reject(err); },
    );
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

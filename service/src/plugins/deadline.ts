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
 * The sweeper stops after this many ticks with no call in flight. Not at the first: calls that
 * answer at once have always settled by the next tick, and stopping and starting the timer at
 * every tick costs ~25 µs (clearInterval inside its own callback), more than the sweeps.
 */
const IDLE_TICKS_BEFORE_STOP = 10;
let idleTicks = 0;

/**
 * Calls `onValue` with what `work` settles to, or `onError` with its error or with
 * DeadlineExceeded after `ms`, whichever comes first; exactly one of them runs, once. Neither may
 * throw. The work itself is not cancelled (a native call cannot be); the caller decides what to do
 * with an abandoned call.
 *
 * Every call on every plugin has a deadline, so this is on the per-request path: it makes no
 * promise of its own (a promise wrapper and its microtask cost as much as the rest), and instead
 * of a timer per call (setTimeout, clearTimeout and a Promise.race: ~1.4 µs), one sweep timer runs
 * while calls are in flight and fails the expired ones. A timer fires late, never early, so a call
 * gets at least `ms`.
 */
export function settleWithin<T>(work: Promise<T>, ms: number, onValue: (value: T) => void, onError: (err: unknown) => void): void {
  let settled = false;
  const fail = (err: unknown) => {
    if (settled) return;
    settled = true;
    pending.delete(entry);
    onError(err);
  };
  // +1: the next tick may come at once, so it does not count as a whole period.
  const entry: Pending = { due: tick + Math.ceil(ms / RESOLUTION_MS) + 1, ms, reject: fail };
  pending.add(entry);
  sweeper ??= setInterval(sweep, RESOLUTION_MS);
  work.then((value) => {
    if (settled) return;
    settled = true;
    pending.delete(entry);
    onValue(value);
  }, fail);
}

function sweep(): void {
  tick++;
  for (const entry of pending) {
    if (entry.due <= tick) {
      pending.delete(entry);
      entry.reject(new DeadlineExceeded(entry.ms));
    }
  }
  if (pending.size > 0) idleTicks = 0;
  else if (++idleTicks >= IDLE_TICKS_BEFORE_STOP) {
    clearInterval(sweeper);
    sweeper = undefined;
    idleTicks = 0;
  }
}

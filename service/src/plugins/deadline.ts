/** Thrown when a call does not settle before its deadline. */
export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`deadline of ${ms}ms exceeded`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * A call in flight, linked into the list of pending calls. A linked list rather than a Set: with
 * a gateway-sized heap, a Set of calls coming and going got its tables and calls promoted and
 * filled the old generation (plugin calls in a loop: a Mark-Compact every ~65,000 calls, 3.3 µs
 * per call instead of 0.7 µs); linking and unlinking allocate nothing.
 */
class Pending {
  prev: Pending = this;
  next: Pending = this;
  constructor(
    /** The sweep tick at which the call has certainly run for `ms`. */
    readonly due: number,
    readonly ms: number,
    readonly onError: (err: unknown) => void,
  ) {}

  /** Takes the call out of the list; false when it was out already (settled or expired). */
  unlink(): boolean {
    if (this.next === this) return false;
    this.prev.next = this.next;
    this.next.prev = this.prev;
    this.prev = this.next = this;
    return true;
  }
}

/** How often expired calls are looked for: a deadline fires between `ms` and `ms + 2 * RESOLUTION_MS`. */
export const RESOLUTION_MS = 10;

/** The head of the list of pending calls (itself no call): empty when it links to itself. */
const pending = new Pending(0, 0, () => {});
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
  // +1: the next tick may come at once, so it does not count as a whole period.
  const entry = new Pending(tick + Math.ceil(ms / RESOLUTION_MS) + 1, ms, onError);
  entry.prev = pending.prev;
  entry.next = pending;
  pending.prev.next = entry;
  pending.prev = entry;
  sweeper ??= setInterval(sweep, RESOLUTION_MS);
  work.then((value) => { if (entry.unlink()) onValue(value); }, (err: unknown) => { if (entry.unlink()) onError(err); });
}

function sweep(): void {
  tick++;
  // Expired calls are collected first: failing one runs the caller's code, which may settle others.
  let expired: Pending[] | undefined;
  for (let entry = pending.next; entry !== pending; entry = entry.next) if (entry.due <= tick) (expired ??= []).push(entry);
  if (expired) for (const entry of expired) if (entry.unlink()) entry.onError(new DeadlineExceeded(entry.ms));
  if (pending.next !== pending) idleTicks = 0;
  else if (++idleTicks >= IDLE_TICKS_BEFORE_STOP) {
    clearInterval(sweeper);
    sweeper = undefined;
    idleTicks = 0;
  }
}

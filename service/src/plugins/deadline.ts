/** Thrown when a call does not settle before its deadline. */
export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`deadline of ${ms}ms exceeded`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * Settles with `work`, or rejects with DeadlineExceeded after `ms`. The work itself is not
 * cancelled (a native call cannot be); the caller decides what to do with an abandoned call.
 */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const expired = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new DeadlineExceeded(ms)), ms); });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

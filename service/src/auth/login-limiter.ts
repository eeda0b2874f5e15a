/**
 * Failed logins, counted per source address and per user name over a sliding window. Once either
 * count reaches its limit, logins from that source or for that user are refused (429, without
 * checking the password: that also keeps scrypt from being a CPU lever) until the window passes.
 * A successful login clears the user's count, not the source's.
 */
export interface LimiterOptions { perUser: number; perSource: number; windowMs: number }

export const DEFAULT_LIMITS: LimiterOptions = { perUser: 5, perSource: 20, windowMs: 15 * 60 * 1000 };

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly options: LimiterOptions = DEFAULT_LIMITS) {}

  /** Seconds until a login from `source` for `user` may be tried again, or 0 when it may now. */
  retryAfter(source: string, user: string, now = Date.now()): number {
    const s = this.wait(`source:${source}`, this.options.perSource, now);
    const u = this.wait(`user:${user}`, this.options.perUser, now);
    return Math.ceil(Math.max(s, u) / 1000);
  }

  failed(source: string, user: string, now = Date.now()): void {
    for (const key of [`source:${source}`, `user:${user}`]) {
      const times = this.recent(key, now);
      times.push(now);
      this.failures.set(key, times);
    }
    if (this.failures.size > 10_000) this.sweep(now);
  }

  succeeded(user: string): void {
    this.failures.delete(`user:${user}`);
  }

  private wait(key: string, limit: number, now: number): number {
    const times = this.recent(key, now);
    if (times.length < limit) return 0;
    return times[times.length - limit] + this.options.windowMs - now;
  }

  private recent(key: string, now: number): number[] {
    const times = this.failures.get(key) ?? [];
    const cutoff = now - this.options.windowMs;
    let i = 0;
    while (i < times.length && times[i] <= cutoff) i++;
    return i ? times.slice(i) : times;
  }

  private sweep(now: number): void {
    for (const key of [...this.failures.keys()]) if (this.recent(key, now).length === 0) this.failures.delete(key);
  }
}

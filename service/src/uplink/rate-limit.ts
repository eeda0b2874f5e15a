/**
 * A token bucket per sender: `burst` commands at once, refilled at `burst` per `periodMs`. Senders
 * idle for a full period are forgotten, so a flood of distinct senders cannot grow the map for ever
 * (at most the senders of one period are held).
 */
export class SenderRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly burst: number, private readonly periodMs: number) {}

  /** Takes one token for `sender`; false when its bucket is empty. */
  take(sender: string, now = Date.now()): boolean {
    this.forgetIdle(now);
    const bucket = this.buckets.get(sender) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.burst) / this.periodMs);
    bucket.at = now;
    this.buckets.set(sender, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private forgetIdle(now: number): void {
    if (this.buckets.size < 1024) return;
    for (const [sender, bucket] of this.buckets) if (now - bucket.at >= this.periodMs) this.buckets.delete(sender);
  }
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** 0 closed, 1 half-open, 2 open: the value of the backworks_plugin_breaker_state gauge. */
export const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * One circuit breaker per plugin, one mutable object shared by every call: a copy per call would
 * count each failure on its own copy and never trip.
 *
 * closed --(threshold consecutive failures)--> open --(recovery elapsed)--> half-open: one probe
 * half-open --(probe succeeds)--> closed;  half-open --(probe fails)--> open again
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(
    private readonly threshold: number,
    private readonly recoveryMs: number,
    private readonly onChange: (state: BreakerState) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** May a call go through now? In half-open, only one probe at a time does. */
  allow(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open') {
      if (this.now() - this.openedAt < this.recoveryMs) return false;
      this.set('half-open');
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    if (this.current !== 'closed') this.set('closed');
  }

  failure(): void {
    this.failures++;
    this.probing = false;
    if (this.current === 'half-open' || (this.current === 'closed' && this.failures >= this.threshold)) {
      this.openedAt = this.now();
      this.set('open');
    }
  }

  /** Milliseconds until an open breaker lets a probe through (0 when not open). */
  retryInMs(): number {
    return this.current === 'open' ? Math.max(0, this.recoveryMs - (this.now() - this.openedAt)) : 0;
  }

  private set(state: BreakerState): void {
    this.current = state;
    this.onChange(state);
  }
}

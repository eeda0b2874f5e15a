import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../service/src/plugins/breaker.js';

describe('circuit breaker', () => {
  it('goes closed -> open -> half-open -> closed, and back to open when the probe fails', () => {
    let now = 0;
    const changes: string[] = [];
    const breaker = new CircuitBreaker(3, 1000, (s) => changes.push(s), () => now);

    breaker.failure(); breaker.failure();
    expect(breaker.state).toBe('closed');
    breaker.success(); // a success resets the count of consecutive failures
    breaker.failure(); breaker.failure();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);

    now = 999;
    expect(breaker.allow()).toBe(false);
    now = 1000;
    expect(breaker.allow()).toBe(true); // the probe
    expect(breaker.state).toBe('half-open');
    expect(breaker.allow()).toBe(false); // only one probe at a time
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.retryInMs()).toBe(1000);

    now = 2000;
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });
});

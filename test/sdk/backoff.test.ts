/** backoffDelay: doubling up to the limit, never below half of it, spread (not in lockstep). */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../sdk/typescript/backoff.js';

describe('backoffDelay', () => {
  it('doubles per attempt up to the limit and stays in the upper half of each step', () => {
    for (const [attempt, ceiling] of [[0, 200], [1, 400], [3, 1600], [10, 30_000], [1000, 30_000]] as const) {
      for (let i = 0; i < 200; i++) {
        const delay = backoffDelay(attempt, 200, 30_000);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('spreads retries that start together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(5, 1000, 60_000)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

import { describe, expect, it } from 'vitest';
import { SenderRateLimit } from '../../service/src/uplink/rate-limit.js';
import { responseTopicProblem } from '../../service/src/uplink/topics.js';

describe('response topics a fleet command may be answered on', () => {
  it('takes topic names, refuses wildcards, $ topics, oversized names and topics outside the prefixes', () => {
    expect(responseTopicProblem('ops/replies', [])).toBeUndefined();
    expect(responseTopicProblem('x/#', [])).toMatch(/wildcard/);
    expect(responseTopicProblem('ops/+/r', [])).toMatch(/wildcard/);
    expect(responseTopicProblem('$SYS/x', [])).toMatch(/system topic/);
    expect(responseTopicProblem('', [])).toMatch(/empty/);
    expect(responseTopicProblem(`ops/${'a'.repeat(1100)}`, [])).toMatch(/1024 bytes/);
    expect(responseTopicProblem('backworks/_ops/me', ['backworks/_ops/'])).toBeUndefined();
    expect(responseTopicProblem('elsewhere/me', ['backworks/_ops/'])).toBe('is outside fleet.commands.response_prefixes (backworks/_ops/)');
  });
});

describe('the per-sender rate limit', () => {
  it('lets a burst through, refuses the next, and refills over the period, per sender', () => {
    const limit = new SenderRateLimit(3, 1000);
    const t = 1_000_000;
    expect([1, 2, 3, 4].map(() => limit.take('a', t))).toEqual([true, true, true, false]);
    expect(limit.take('b', t)).toBe(true);
    expect(limit.take('a', t + 300)).toBe(false); // 0.9 of a token back
    expect(limit.take('a', t + 400)).toBe(true);
    expect([1, 2, 3, 4].map(() => limit.take('a', t + 5000))).toEqual([true, true, true, false]);
  });
});

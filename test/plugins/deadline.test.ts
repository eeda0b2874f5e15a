import { describe, expect, it } from 'vitest';
import { DeadlineExceeded, RESOLUTION_MS, settleWithin } from '../../service/src/plugins/deadline.js';

/** settleWithin's outcome as a record of every callback it ran. */
function outcome<T>(work: Promise<T>, ms: number) {
  const seen: Array<{ value?: T; err?: unknown; at: number }> = [];
  const started = Date.now();
  const done = new Promise<void>((resolve) => settleWithin(work, ms,
    (value) => { seen.push({ value, at: Date.now() - started }); resolve(); },
    (err) => { seen.push({ err, at: Date.now() - started }); resolve(); }));
  return { seen, done };
}

const never = new Promise<never>(() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('call deadlines', () => {
  it('fails a call that does not settle, no earlier than its deadline', async () => {
    const { seen, done } = outcome(never, 40);
    await done;
    expect(seen).toHaveLength(1);
    expect(seen[0].err).toBeInstanceOf(DeadlineExceeded);
    expect(seen[0].at).toBeGreaterThanOrEqual(40);
    expect(seen[0].at).toBeLessThan(40 + 20 * RESOLUTION_MS);
  });

  it('settles each of many calls exactly once, whether it answers, fails or hangs', async () => {
    const calls = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0 ? outcome(Promise.resolve(i), 30)
      : i % 3 === 1 ? outcome(Promise.reject(new Error(`e${i}`)), 30)
      : outcome(never, 30));
    await Promise.all(calls.map((c) => c.done));
    await sleep(60); // a late second callback would show here
    calls.forEach((c, i) => {
      expect(c.seen).toHaveLength(1);
      if (i % 3 === 0) expect(c.seen[0].value).toBe(i);
      else if (i % 3 === 1) expect((c.seen[0].err as Error).message).toBe(`e${i}`);
      else expect(c.seen[0].err).toBeInstanceOf(DeadlineExceeded);
    });
  });

  it('keeps timing calls after the sweeper went idle and stopped', async () => {
    await outcome(Promise.resolve(1), 20).done;
    await sleep(20 * RESOLUTION_MS); // idle long enough for the sweeper to stop
    const late = outcome(never, 20);
    const answered = outcome(sleep(5).then(() => 'ok'), 200);
    await Promise.all([late.done, answered.done]);
    expect(late.seen[0].err).toBeInstanceOf(DeadlineExceeded);
    expect(answered.seen).toEqual([{ value: 'ok', at: expect.any(Number) }]);
  });
});

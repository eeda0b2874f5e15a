import { describe, expect, it } from 'vitest';
import { LifecycleQueue } from '../../service/src/plugins/lifecycle.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('lifecycle queue', () => {
  it('runs jobs one at a time in the order asked, whatever each one throws', async () => {
    const queue = new LifecycleQueue();
    const log: string[] = [];
    let active = 0;
    const job = (name: string, fail = false) => async () => {
      active++;
      expect(active).toBe(1);
      log.push(`begin ${name}`);
      await tick();
      log.push(`end ${name}`);
      active--;
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([queue.run('a', job('a')), queue.run('b', job('b', true)), queue.run('c', job('c'))]);
    expect(log).toEqual(['begin a', 'end a', 'begin b', 'end b', 'begin c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('joins a waiting job of the same key, never the one already running', async () => {
    const queue = new LifecycleQueue();
    let runs = 0;
    const restart = () => queue.run('restart plc', async () => { runs++; await tick(); return runs; });
    const first = restart(); // begins at once
    await tick(1);
    const asked = Array.from({ length: 19 }, restart); // wait behind it: one job
    expect(await first).toBe(1);
    expect(new Set(await Promise.all(asked))).toEqual(new Set([2]));
    expect(runs).toBe(2);
  });

  it('close runs after the job in progress, refuses the waiting ones and any asked later', async () => {
    const queue = new LifecycleQueue();
    const log: string[] = [];
    const running = queue.run('reload', async () => { await tick(); log.push('reload'); });
    const waiting = queue.run('restart x', async () => { log.push('restart'); });
    const closed = queue.close(async () => { log.push('shutdown'); });
    await expect(waiting).rejects.toThrow('the gateway is stopping; restart x not done');
    await running;
    await closed;
    await expect(queue.run('reload', async () => undefined)).rejects.toThrow(/stopping/);
    expect(log).toEqual(['reload', 'shutdown']);
  });
});

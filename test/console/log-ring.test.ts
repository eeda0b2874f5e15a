import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../service/src/log.js';
import { LogRing } from '../../service/src/console/log-ring.js';

/** The console's log lines: the same redacted JSON lines as stdout, the newest kept, filtered. */
describe('LogRing', () => {
  it('holds what the logger writes to stdout, secrets redacted, by level and plugin', () => {
    const ring = new LogRing(10);
    const stdout = new PassThrough();
    let printed = '';
    stdout.on('data', (d: Buffer) => { printed += d.toString(); });
    const log = createLogger('debug', stdout, ring);
    log.info({ password: 'hunter2-long-password', user: 'anna' }, 'login');
    log.child({ plugin: 'modbus' }).warn({ err: 'timeout' }, 'poll failed');
    log.child({ plugin: 'modbus' }).debug('polled');
    log.trace('not logged at debug');

    const lines = ring.query({ limit: 100 });
    expect(lines.map((l) => [l.id, l.level, l.msg, l.plugin])).toEqual([[1, 'info', 'login', undefined], [2, 'warn', 'poll failed', 'modbus'], [3, 'debug', 'polled', 'modbus']]);
    expect(lines[0].fields).toEqual({ password: '[redacted]', user: 'anna' });
    expect(printed).toContain('"password":"[redacted]"');
    expect(JSON.stringify(lines)).not.toContain('hunter2');
    expect(ring.query({ level: 'warn' }).map((l) => l.msg)).toEqual(['poll failed']);
    expect(ring.query({ plugin: 'modbus' }).map((l) => l.msg)).toEqual(['poll failed', 'polled']);
    expect(ring.query({ after: 2 }).map((l) => l.id)).toEqual([3]);
    expect(ring.lastProblem('modbus')?.msg).toBe('poll failed');
    expect(ring.lastProblem('other')).toBeUndefined();
  });

  it('keeps the newest lines up to its capacity, and tells subscribers of each new one', () => {
    const ring = new LogRing(3);
    const seen: number[] = [];
    const stop = ring.subscribe((line) => seen.push(line.id));
    for (let i = 0; i < 5; i++) ring.write(JSON.stringify({ level: 30, time: i, msg: `line ${i}` }));
    stop();
    ring.write(JSON.stringify({ level: 30, time: 5, msg: 'after' }));
    ring.write('not json');
    expect(ring.query().map((l) => l.msg)).toEqual(['line 3', 'line 4', 'after']);
    expect(ring.query({ limit: 2 }).map((l) => l.msg)).toEqual(['line 4', 'after']);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
});

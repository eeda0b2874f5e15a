/**
 * Back-pressure on a full disk, end to end: the real service with general/http-ingest, a native
 * C plugin using bw_host_emit_acknowledged, and the buffer on a small tmpfs (needs root, as in CI's container). Every reading posted is counted: each
 * one answered 2xx is stored exactly once, each one answered 503 is never stored, even after space
 * comes back; the refusals do not open the plugin's breaker, are logged once (not per request), and
 * ingest answers 2xx again within a second of space coming back.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { libs } from '../plugins/native/helpers.js';

const PER_REQUEST = 50;

describe('http-ingest on a disk that fills up', () => {
  let mountPoint = '';
  let service: RunningService | undefined;
  let next = 0;
  const started = Date.now(); // recent: older readings would meet storage.max_age

  beforeAll(async () => {
    mountPoint = tempDir('bw-ingest-disk-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3M', 'tmpfs', mountPoint]);
    const dir = tempDir('bw-ingest-');
    const file = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(file, `plugins:
  ingest:
    type: builtin
    pack: general/http-ingest
    failure_threshold: 2
  native:
    type: external
    path: ${libs.contractC}
    failure_threshold: 2
storage:
  path: ${path.join(mountPoint, 'buffer.db')}
  flush_interval: 10ms
endpoints:
  ingest: { path: /ingest, methods: [POST], plugin: ingest }
  native-ingest: { path: /native/ingest, methods: [POST], plugin: native }
`);
    service = await startService(file, { timeoutMs: 30_000 });
  }, 40_000);

  afterAll(async () => {
    await service?.stop();
    try { execFileSync('umount', ['-l', mountPoint]); } catch { /* already gone */ }
    fs.rmSync(mountPoint, { recursive: true, force: true });
  });

  let posts = 0;
  const refusedBy = { ts: 0, native: 0 };
  /**
   * Posts PER_REQUEST readings with the next unique values, to the TypeScript ingest pack and to a
   * native C plugin (bw_host_emit_acknowledged) in turn; returns the status and the values.
   */
  async function post(): Promise<{ status: number; values: number[] }> {
    const values = Array.from({ length: PER_REQUEST }, () => next++);
    const body = JSON.stringify(values.map((value) => ({ device: 'meter-1', point: 'energy', value, ts: started + value })));
    const native = posts++ % 2 === 1;
    const res = await service!.fetch(native ? '/native/ingest' : '/ingest', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.text();
    if (res.status === 503) refusedBy[native ? 'native' : 'ts']++;
    return { status: res.status, values };
  }

  it('stores each reading answered 2xx once, never one answered 503, and answers 2xx within 1 s of space coming back', async () => {
    const accepted: number[] = [];
    const refused: number[] = [];
    const book = ({ status, values }: { status: number; values: number[] }) => {
      expect([200, 503]).toContain(status);
      (status === 200 ? accepted : refused).push(...values);
      return status;
    };

    for (let i = 0; i < 20; i++) expect(book(await post())).toBe(200);
    // Fill the file system, then keep posting: concurrent senders, some answered, then all refused.
    const filler = path.join(mountPoint, 'filler');
    try { execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' }); } catch { /* dd stops at ENOSPC */ }
    let refusals = 0;
    for (let round = 0; round < 200 && refusals < 60; round++) {
      const statuses = await Promise.all([post(), post(), post()].map(async (p) => book(await p)));
      refusals += statuses.filter((s) => s === 503).length;
    }
    expect(refusals).toBeGreaterThanOrEqual(60);
    expect(refusedBy.ts).toBeGreaterThanOrEqual(20);
    expect(refusedBy.native).toBeGreaterThanOrEqual(20);

    const health = await (await service!.fetch('/health')).json() as { plugins: Record<string, { breaker: string; status: string }>; buffer?: { disk: string } };
    expect(health.plugins.ingest).toMatchObject({ breaker: 'closed' });
    expect(health.plugins.native).toMatchObject({ breaker: 'closed' });

    // Space comes back: the next request is stored.
    fs.rmSync(filler);
    const freed = Date.now();
    let firstOk = 0;
    while (Date.now() - freed < 5000) {
      if (book(await post()) === 200) { firstOk = Date.now() - freed; break; }
    }
    expect(firstOk).toBeGreaterThan(0);
    expect(firstOk).toBeLessThan(1000);
    for (let i = 0; i < 10; i++) expect(book(await post())).toBe(200);

    const logs = service!.logs;
    expect(logs.filter((l) => l.msg === 'request failed')).toEqual([]);
    const fullLines = logs.filter((l) => String(l.msg).startsWith('buffer: the disk refuses writes'));
    expect(fullLines.length).toBeGreaterThanOrEqual(1);
    expect(fullLines.length).toBeLessThanOrEqual(3); // once per change of state, not once per refused request
    const okAgain = logs.filter((l) => l.msg === 'buffer: writes are committed again');
    expect(okAgain.reduce((n, l) => n + Number(l.refused_readings), 0)).toBe(refused.length);

    // Read what the file holds once the service has stopped (it flushes and closes cleanly).
    expect(await service!.stop()).toBe(0);
    service = undefined;
    const db = new Database(path.join(mountPoint, 'buffer.db'), { readonly: true });
    const stored = (db.prepare("SELECT value FROM readings WHERE device = 'meter-1'").pluck().all() as string[]).map(Number).sort((a, b) => a - b);
    db.close();
    const refusedSet = new Set(refused);
    expect(stored.filter((v) => refusedSet.has(v))).toEqual([]);
    expect(stored).toEqual([...accepted].sort((a, b) => a - b));
    expect(new Set(stored).size).toBe(stored.length);
    expect(accepted.length + refused.length).toBe(next);
  }, 60_000);
});

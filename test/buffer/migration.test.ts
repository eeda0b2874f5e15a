import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../service/src/buffer/migrations.js';
import { openBuffer, tempDir } from './helpers.js';

const dirs: string[] = [];
const dir = () => { const d = tempDir(); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

type Row = { seq: number; device: string; point: string; value: string; quality: string; ts: number };

/**
 * A file as Backworks wrote it before migration 3: schema version 2, each reading inserted and
 * each point's latest upserted with the statements of that version's commit path, an uplink's
 * cursor, and the newest rows deleted (their seqs must stay used).
 */
function writeVersion2(file: string, n: number): Row[] {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  expect(migrate(db, file, { upTo: 2 })).toBe(2);
  const insert = db.prepare('INSERT INTO readings (device, point, value, quality, ts) VALUES (?, ?, ?, ?, ?)');
  const latest = db.prepare(`INSERT INTO latest (device, point, value, quality, ts, seq) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (device, point) DO UPDATE SET value = excluded.value, quality = excluded.quality, ts = excluded.ts, seq = excluded.seq`);
  const t0 = 1_700_000_000_000;
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const device = `dev${i % 3}`;
      const point = `p${i % 7}`;
      const value = i % 5 === 0 ? JSON.stringify(`text ${i}`) : String(i / 2);
      const quality = i % 11 === 0 ? 'bad' : 'good';
      const seq = Number(insert.run(device, point, value, quality, t0 + i * 1000).lastInsertRowid);
      latest.run(device, point, value, quality, t0 + i * 1000, seq);
    }
    db.prepare("INSERT INTO outbox_cursors (uplink, stream, acked_seq, updated_at) VALUES ('fleet', 'readings', 100, 0)").run();
    db.prepare("INSERT INTO counters (name, value) VALUES ('clean_shutdown', 1)").run();
  })();
  // The newest five go behind the buffer's back: seqs n-4..n were handed out and must not return.
  db.prepare('DELETE FROM readings WHERE seq > ?').run(n - 5);
  const rows = db.prepare('SELECT seq, device, point, value, quality, ts FROM readings ORDER BY seq').all() as Row[];
  db.close();
  return rows;
}

describe('migration 3 (samples, point dictionary, history by generation)', () => {
  it('converts a version 2 file in place, resumably: an interrupted conversion completes on the next start with every reading once', async () => {
    const file = path.join(dir(), 'b.db');
    const before = writeVersion2(file, 1000);

    // Interrupted after two committed chunks of 150 rows.
    const db = new Database(file);
    let steps = 0;
    expect(() => migrate(db, file, { chunkRows: 150, onStep: () => { if (++steps === 2) throw new Error('killed'); } })).toThrow('killed');
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.prepare('SELECT count(*) FROM samples').pluck().get()).toBe(300);
    db.close();

    // The next start completes it.
    const buffer = openBuffer(file);
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT seq, device, point, value, quality, ts FROM readings ORDER BY seq').all()).toEqual(before);
    expect(check.prepare('SELECT count(*), count(DISTINCT seq) FROM samples').raw().get()).toEqual([995, 995]);
    expect(check.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'latest' AND sql LIKE '%point_id%'").pluck().get()).toBe(1);
    check.close();

    // Latest values, history and the outbox read the converted rows.
    const newest = (device: string, point: string) => before.filter((r) => r.device === device && r.point === point).at(-1)!;
    const latest = buffer.device('dev1')!;
    // Latest was kept per point before migration: the deleted newest rows were its newest.
    expect(Object.keys(latest).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    expect(latest.p3.seq).toBeGreaterThanOrEqual(newest('dev1', 'p3').seq);
    const history = buffer.history({ device: 'dev2', point: 'p4', from: 0, limit: 1000 });
    expect(history.map((h) => h.seq)).toEqual(before.filter((r) => r.device === 'dev2' && r.point === 'p4').map((r) => r.seq));
    expect(history[0].value).toBe(JSON.parse(before.find((r) => r.device === 'dev2' && r.point === 'p4')!.value));
    expect(buffer.openOutbox('fleet')).toBe(100);
    expect(buffer.pending().fleet).toBe(895);
    expect(buffer.outboxBatch(100, 1)!.lastSeq).toBe(101);

    // A seq deleted before the migration is never handed out again.
    await buffer.emit('sim', [{ device: 'dev0', point: 'p0', value: 1 }]);
    expect(buffer.device('dev0')!.p0.seq).toBe(1001);
    buffer.close();
  });

  it('converts an empty version 2 file and a fresh one to the same schema', () => {
    const a = path.join(dir(), 'a.db');
    const b = path.join(dir(), 'b.db');
    const old = new Database(a);
    migrate(old, a, { upTo: 2 });
    old.close();
    openBuffer(a).close();
    openBuffer(b).close();
    const schema = (file: string) => {
      const db = new Database(file, { readonly: true });
      const rows = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all();
      db.close();
      return rows;
    };
    expect(schema(a)).toEqual(schema(b));
  });
});

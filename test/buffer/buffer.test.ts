import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../service/src/buffer/migrations.js';
import { waitFor } from '../helpers/wait.js';
import { committedSeqs, openBuffer, readings, tempDir } from './helpers.js';

const dirs: string[] = [];
const dir = () => { const d = tempDir(); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

describe('buffer', () => {
  it('opens in WAL mode at the newest migration', () => {
    const file = path.join(dir(), 'b.db');
    openBuffer(file).close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS[MIGRATIONS.length - 1].version);
    db.close();
  });

  it('refuses a file from a newer schema, naming the file', () => {
    const file = path.join(dir(), 'b.db');
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    expect(() => openBuffer(file)).toThrow(/b\.db has buffer schema version 999, newer than this Backworks knows/);
  });

  it('commits at flush_rows without waiting for the timer, and at flush_interval otherwise', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file, { flushRows: 100, flushIntervalMs: 50 });
    void buffer.emit('sim', readings('d1', 100));
    expect(committedSeqs(file)).toHaveLength(100); // synchronous commit at N rows
    const pending = buffer.emit('sim', readings('d1', 10));
    expect(committedSeqs(file)).toHaveLength(100);
    const started = Date.now();
    await pending;
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(committedSeqs(file)).toHaveLength(110);
    buffer.close();
  });

  it('hands out strictly increasing seqs that are never reused, also after a restart', async () => {
    const file = path.join(dir(), 'b.db');
    let buffer = openBuffer(file);
    await buffer.emit('sim', readings('d1', 5));
    buffer.close();
    // Delete the newest rows behind the buffer's back: their seqs must still not come back.
    const db = new Database(file);
    db.prepare('DELETE FROM readings WHERE seq > 3').run();
    db.close();
    buffer = openBuffer(file);
    await buffer.emit('sim', readings('d1', 2));
    buffer.close();
    expect(committedSeqs(file)).toEqual([1, 2, 3, 6, 7]);
  });

  it('skips seqs after an unclean stop, since a power loss may have undone commits already sent', async () => {
    const file = path.join(dir(), 'b.db');
    const first = openBuffer(file);
    await first.emit('sim', readings('d1', 3));
    // No close(): the process "died". A second open sees the unclean flag.
    const second = openBuffer(file);
    await second.emit('sim', readings('d1', 1));
    second.close();
    const seqs = committedSeqs(file);
    expect(seqs.slice(0, 3)).toEqual([1, 2, 3]);
    expect(seqs[3]).toBeGreaterThan(1_000_000);
  });

  it('serves the latest value of each point and the history of one', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file);
    const t0 = Date.now() - 60_000;
    await buffer.emit('sim', [
      { device: 'press', point: 'temp', value: 20.5, ts: t0 + 1000 },
      { device: 'press', point: 'temp', value: 21, ts: t0 + 2000, quality: 'uncertain' },
      { device: 'press', point: 'on', value: true, ts: t0 + 1500 },
      { device: 'press', point: 'mode', value: 'auto', ts: t0 + 1500 },
      { device: 'oven', point: 'temp', value: null, ts: t0 + 3000, quality: 'bad' },
    ]);
    expect(buffer.devices()).toEqual([{ device: 'oven', points: 1, last_ts: t0 + 3000 }, { device: 'press', points: 3, last_ts: t0 + 2000 }]);
    expect(buffer.device('press')).toEqual({
      mode: { value: 'auto', quality: 'good', ts: t0 + 1500, seq: 4 },
      on: { value: true, quality: 'good', ts: t0 + 1500, seq: 3 },
      temp: { value: 21, quality: 'uncertain', ts: t0 + 2000, seq: 2 },
    });
    expect(buffer.device('nope')).toBeUndefined();
    expect(buffer.history({ device: 'press', point: 'temp', from: t0, limit: 10 }).map((r) => r.value)).toEqual([20.5, 21]);
    expect(buffer.history({ device: 'press', point: 'temp', limit: 1 }).map((r) => r.value)).toEqual([21]);
    expect(buffer.history({ device: 'press', point: 'temp', from: t0 + 1500, to: t0 + 2500, limit: 10 }).map((r) => r.ts)).toEqual([t0 + 2000]);
    buffer.close();
    // The latest values come back from the file after a restart.
    const again = openBuffer(file);
    expect(again.device('press')?.temp).toEqual({ value: 21, quality: 'uncertain', ts: t0 + 2000, seq: 2 });
    again.close();
  });

  it('refuses a bad reading by index and field, storing nothing of that call', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file);
    await expect(buffer.emit('sim', [{ device: 'd', point: 'p', value: 1 }, { device: 'd', point: '', value: 2 }])).rejects.toThrow('reading 1 emitted by plugin "sim": point must be a non-empty string');
    await expect(buffer.emit('sim', [{ device: 'd', point: 'p', value: {} as never }])).rejects.toThrow(/d\/p\): value must be a number, string, boolean or null, not object/);
    await expect(buffer.emit('sim', [{ device: 'd', point: 'p', value: 1, quality: 'great' as never }])).rejects.toThrow(/quality "great" is not one of/);
    await buffer.emit('sim', [{ device: 'd', point: 'p', value: 3 }]);
    buffer.close();
    expect(committedSeqs(file)).toEqual([1]);
  });

  it('resolves a commit only once the document is in the file', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file, { flushIntervalMs: 10_000 });
    const [id] = await buffer.commit('hl7', { documents: [{ type: 'hl7v2', body: 'MSH|^~\\&|A', meta: { sender: 'lab' } }] });
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT type, body, meta, status FROM documents WHERE id = ?').get(id)).toEqual({ type: 'hl7v2', body: 'MSH|^~\\&|A', meta: '{"sender":"lab"}', status: 'received' });
    db.close();
    expect(await buffer.setPluginDocumentStatus('hl7', id, 'forwarded')).toBe(true);
    expect((await buffer.queryPluginDocuments('hl7', { status: 'forwarded' })).map((d) => d.id)).toEqual([id]);
    await expect(buffer.commit('hl7', { documents: [{ type: '', body: 'x' }] })).rejects.toThrow(/plugin "hl7" committed documents\[0\] without a string type/);
    buffer.close();
  });

  it('keeps plugin state across restarts and reads its own pending writes', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file);
    const write = buffer.commit('x12', { state: [['control', '000000042']] });
    expect(await buffer.getState('x12', 'control')).toBe('000000042');
    await write;
    expect(await buffer.getState('x12', 'other')).toBeUndefined();
    buffer.close();
    const again = openBuffer(file);
    expect(await again.getState('x12', 'control')).toBe('000000042');
    again.close();
  });

  it('writes again, with the next commit, the outbox cursor of a commit that rolled back after writing it', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file, { flushRows: 10, maxQueued: 10, retryMs: 20 });
    buffer.openOutbox('fleet');
    await buffer.emit('sim', readings('line1', 5));
    // A real SQLite failure late in the commit: the drop counter, written after the cursor, is refused.
    const other = new Database(file);
    other.exec("CREATE TRIGGER refuse BEFORE INSERT ON counters BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    buffer.ack('fleet', 3);
    void buffer.emit('sim', readings('line1', 20, 5)).catch(() => undefined); // 10 over maxQueued: a drop to count
    await waitFor('a refused commit', () => buffer.disk === 'error', { timeoutMs: 5_000 });
    other.exec('DROP TRIGGER refuse');
    other.close();
    await waitFor('a commit that goes through', () => buffer.disk === 'ok' && buffer.writer.queued === 0, { timeoutMs: 5_000 });
    buffer.close();
    const again = openBuffer(file);
    expect(again.openOutbox('fleet')).toBe(3);
    expect(again.drops().readings.queue_full).toBe(10);
    again.close();
  });
});


import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GEN_BITS } from '../../service/src/buffer/migrations.js';
import { committedSeqs, openBuffer, tempDir } from './helpers.js';

const dirs: string[] = [];
const dir = () => { const d = tempDir(); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

const GEN = 2 ** GEN_BITS;

describe('buffer layout (point dictionary, history by generation, latest checkpoint)', () => {
  it('answers history across full generations and the open one, in time order, with from/to and limits', async () => {
    const file = path.join(dir(), 'b.db');
    // Timestamps from 2023: no age limit here.
    const buffer = openBuffer(file, { flushRows: 10_000, maxAgeMs: 100 * 365 * 86_400_000 });
    const t0 = 1_700_000_000_000;
    const n = GEN * 2 + 5000; // two full generations and part of a third
    // 50 points; point "p7" also gets readings with out-of-order timestamps (a device clock jump).
    for (let i = 0; i < n; i += 10_000) {
      const chunk = Array.from({ length: Math.min(10_000, n - i) }, (_, k) => {
        const j = i + k;
        return { device: `d${j % 5}`, point: `p${j % 10}`, value: j, ts: j % 1000 === 7 ? t0 - j : t0 + j };
      });
      await buffer.emit('sim', chunk);
    }
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM generations').pluck().get()).toBe(2);
    db.close();
    const all = Array.from({ length: n }, (_, j) => ({ j, ts: j % 1000 === 7 ? t0 - j : t0 + j })).filter(({ j }) => j % 5 === 2 && j % 10 === 7);
    const sorted = all.slice().sort((a, b) => a.ts - b.ts || a.j - b.j);
    const values = (rows: Array<{ value: unknown }>) => rows.map((r) => r.value);

    expect(values(buffer.history({ device: 'd2', point: 'p7', from: 0, limit: 100_000 }))).toEqual(sorted.map((r) => r.j));
    expect(values(buffer.history({ device: 'd2', point: 'p7', from: t0 + 60_000, to: t0 + 70_000, limit: 100_000 })))
      .toEqual(sorted.filter((r) => r.ts >= t0 + 60_000 && r.ts <= t0 + 70_000).map((r) => r.j));
    expect(values(buffer.history({ device: 'd2', point: 'p7', from: 0, limit: 3 }))).toEqual(sorted.slice(0, 3).map((r) => r.j));
    // Without from: the newest `limit` up to `to`, oldest first.
    expect(values(buffer.history({ device: 'd2', point: 'p7', limit: 4 }))).toEqual(sorted.slice(-4).map((r) => r.j));
    expect(values(buffer.history({ device: 'd2', point: 'p7', to: t0 + GEN, limit: 2 })))
      .toEqual(sorted.filter((r) => r.ts <= t0 + GEN).slice(-2).map((r) => r.j));
    expect(buffer.history({ device: 'd2', point: 'nope', from: 0, limit: 10 })).toEqual([]);
    buffer.close();
  });

  it('drops whole generations from history with their readings and keeps answering from what is left', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file, { flushRows: 10_000, maxAgeMs: 60_000 });
    const now = Date.now();
    const n = GEN * 2 + 10;
    for (let i = 0; i < n; i += 10_000) {
      await buffer.emit('sim', Array.from({ length: Math.min(10_000, n - i) }, (_, k) => {
        const j = i + k;
        return { device: 'd', point: `p${j % 2}`, value: j, ts: j < GEN + 100 ? now - 3_600_000 : now };
      }));
    }
    buffer.maintain();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT min(gen) FROM history').pluck().get()).toBe(1);
    db.close();
    expect(buffer.drops().readings.max_age).toBe(GEN + 100);
    const rows = buffer.history({ device: 'd', point: 'p0', from: 0, limit: 1_000_000 });
    expect(rows[0].value).toBe(GEN + 100);
    expect(rows).toHaveLength((n - GEN - 100) / 2);
    buffer.close();
  });

  it('after a kill (no close), serves the latest values committed since the last checkpoint and keeps seqs unique', async () => {
    const file = path.join(dir(), 'b.db');
    const ts = Date.now();
    const first = openBuffer(file);
    await first.emit('sim', [{ device: 'a', point: 'x', value: 1, ts }]);
    first.close();
    const second = openBuffer(file);
    await second.emit('sim', [{ device: 'a', point: 'x', value: 2, ts: ts + 1 }, { device: 'b', point: 'y', value: 'on', ts: ts + 1 }]);
    // No close(): the process died before `latest` was checkpointed again.
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM latest').pluck().get()).toBe(1);
    db.close();
    const third = openBuffer(file, { durability: 'full' });
    expect(third.device('a')!.x).toMatchObject({ value: 2, ts: ts + 1, seq: 2 });
    expect(third.device('b')!.y).toMatchObject({ value: 'on', seq: 3 });
    expect(third.devices().map((d) => d.device)).toEqual(['a', 'b']);
    await third.emit('sim', [{ device: 'a', point: 'x', value: 3 }]);
    third.close();
    expect(committedSeqs(file)).toEqual([1, 2, 3, 4]);
  });
});

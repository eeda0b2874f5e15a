import type { Database, Statement } from 'better-sqlite3';
import type { Durability } from './buffer.js';
import type { ReadingQueries } from './queries.js';
import type { Batch } from './writer.js';

/**
 * What one group commit writes, in one transaction: the readings, the latest value of each point
 * they touch, the durable commits' documents and state, and whatever `alsoWrite` adds (moved
 * cursors, changed counters).
 */
export class CommitTransaction {
  private readonly insertReading: Statement;
  private readonly upsertLatest: Statement;
  private readonly insertDocuments: Statement;
  private readonly upsertStates: Statement;
  /** The connection's `synchronous` level is FULL (else NORMAL); it starts at what `durability` asks for. */
  private synchronousFull: boolean;

  /**
   * @param latest the in-memory latest values, updated once the transaction committed
   * @param alsoWrite runs last inside the transaction
   */
  constructor(private readonly db: Database, private readonly durability: Durability, private readonly latest: ReadingQueries, private readonly alsoWrite: () => void) {
    this.synchronousFull = durability === 'full';
    this.insertReading = db.prepare('INSERT INTO readings (device, point, value, quality, ts) VALUES (?, ?, ?, ?, ?)');
    this.upsertLatest = db.prepare(`INSERT INTO latest (device, point, value, quality, ts, seq) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (device, point) DO UPDATE SET value = excluded.value, quality = excluded.quality, ts = excluded.ts, seq = excluded.seq`);
    // A durable commit's documents and state straight from its JSON (@json: text, or the JSONB
    // blob made of its text), in batch order.
    this.insertDocuments = db.prepare(`INSERT INTO documents (plugin, type, body, meta, status, received_at, updated_at)
      SELECT @plugin, value ->> '$.type', value ->> '$.body', CASE WHEN json_type(value, '$.meta') IN ('object', 'array') THEN value -> '$.meta' END,
        coalesce(value ->> '$.status', 'received'), @now, @now
      FROM jsonb_each(@json, '$.documents') ORDER BY key`);
    this.upsertStates = db.prepare(`INSERT INTO plugin_state (plugin, key, value, updated_at)
      SELECT @plugin, value ->> 0, value ->> 1, @now FROM jsonb_each(@json, '$.state') WHERE true ORDER BY key
      ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);
  }

  /** Writes the batch; returns each durable commit's document ids. Throws (and writes nothing) when SQLite refuses it. */
  write(batch: Batch): number[][] {
    const now = Date.now();
    const ids: number[][] = [];
    // device -> point -> index in the batch of its newest reading: latest is written once per point.
    const newest = new Map<string, Map<string, number>>();
    let firstSeq = 0;
    // A durable commit is acknowledged to its sender: it is always synced, whatever `durability`
    // says. The level changes only when the kind of batch does (each change compiles a pragma):
    // a FULL left over from the last batch syncs more, never less.
    const full = this.durability === 'full' || batch.commits.length > 0;
    if (full !== this.synchronousFull) {
      this.db.pragma(`synchronous = ${full ? 'FULL' : 'NORMAL'}`);
      this.synchronousFull = full;
    }
    this.db.transaction(() => {
      const readings = batch.readings;
      for (let i = 0; i < readings.length; i++) {
        const r = readings[i];
        const info = this.insertReading.run(r.device, r.point, r.value, r.quality, r.ts);
        if (i === 0) firstSeq = Number(info.lastInsertRowid);
        let points = newest.get(r.device);
        if (!points) { points = new Map(); newest.set(r.device, points); }
        points.set(r.point, i);
      }
      // One writer in one transaction: AUTOINCREMENT hands out consecutive seqs.
      for (const [device, points] of newest) {
        for (const [point, i] of points) {
          const r = readings[i];
          this.upsertLatest.run(device, point, r.value, r.quality, r.ts, firstSeq + i);
        }
      }
      for (const c of batch.commits) {
        const { changes, lastInsertRowid } = this.insertDocuments.run({ plugin: c.plugin, now, json: c.json });
        // One writer in one transaction: AUTOINCREMENT hands out consecutive ids.
        const first = Number(lastInsertRowid) - changes + 1;
        ids.push(Array.from({ length: changes }, (_, i) => first + i));
        if (c.states === undefined || c.states.length > 0) this.upsertStates.run({ plugin: c.plugin, now, json: c.json });
      }
      this.alsoWrite();
    })();
    for (const [device, points] of newest) {
      for (const [point, i] of points) {
        const r = batch.readings[i];
        this.latest.setLatest(device, point, { value: r.value, quality: r.quality, ts: r.ts, seq: firstSeq + i });
      }
    }
    return ids;
  }
}

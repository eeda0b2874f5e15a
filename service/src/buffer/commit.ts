import type { Database, Statement } from 'better-sqlite3';
import type { Durability } from './buffer.js';
import { GEN_BITS } from './migrations.js';
import type { PointDictionary, PointEntry } from './points.js';
import { setLatest } from './queries.js';
import type { Batch } from './writer.js';

/**
 * What one group commit writes, in one transaction: the readings (appended in seq order, one
 * integer point id each), the seq high-water mark, a full generation's history, the durable
 * commits' documents and state, and whatever `alsoWrite` adds (moved cursors, changed counters).
 * The latest value of each point is kept in memory and written to `latest` every 5 s.
 */
/** `latest` is written to the file at most this often; the readings since are read back at start. */
const LATEST_EVERY_MS = 5000;
const GEN_SIZE = 2 ** GEN_BITS;

export class CommitTransaction {
  private readonly insertSample: Statement;
  private readonly upsertLatest: Statement;
  private readonly upsertCounter: Statement;
  private readonly buildHistory: Statement;
  private readonly buildGenerations: Statement;
  private readonly insertDocuments: Statement;
  private readonly upsertStates: Statement;
  /** The connection's `synchronous` level is FULL (else NORMAL); it starts at what `durability` asks for. */
  private synchronousFull: boolean;
  /** The newest seq ever handed out (the `seq_high` counter, written with every commit that moves it). */
  private seqHigh: number;
  /** Generations below this one are in `history`; from it on, readings are found by scanning. */
  private historyGen: number;
  /** Points whose latest value changed since `latest` was last written. */
  private dirty: PointEntry[] = [];
  private lastLatestWrite = Date.now();

  /** @param alsoWrite runs last inside the transaction */
  constructor(private readonly db: Database, private readonly durability: Durability, private readonly points: PointDictionary, private readonly alsoWrite: () => void) {
    this.synchronousFull = durability === 'full';
    this.insertSample = db.prepare('INSERT INTO samples (seq, point_id, value, quality, ts) VALUES (?, ?, ?, ?, ?)');
    this.upsertLatest = db.prepare(`INSERT INTO latest (point_id, value, quality, ts, seq) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (point_id) DO UPDATE SET value = excluded.value, quality = excluded.quality, ts = excluded.ts, seq = excluded.seq`);
    this.upsertCounter = db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value');
    // One sorted append per full generation: the history index is never written at random places.
    this.buildHistory = db.prepare(`INSERT INTO history (gen, point_id, ts, seq)
      SELECT seq >> ${GEN_BITS}, point_id, ts, seq FROM samples WHERE seq >= ? AND seq < ? ORDER BY 1, 2, 3, 4`);
    this.buildGenerations = db.prepare(`INSERT OR REPLACE INTO generations (gen, ts_min, ts_max)
      SELECT seq >> ${GEN_BITS}, min(ts), max(ts) FROM samples WHERE seq >= ? AND seq < ? GROUP BY 1`);
    // A durable commit's documents and state straight from its JSON (@json: text, or the JSONB
    // blob made of its text), in batch order.
    this.insertDocuments = db.prepare(`INSERT INTO documents (plugin, type, body, meta, status, received_at, updated_at)
      SELECT @plugin, value ->> '$.type', value ->> '$.body', CASE WHEN json_type(value, '$.meta') IN ('object', 'array') THEN value -> '$.meta' END,
        coalesce(value ->> '$.status', 'received'), @now, @now
      FROM jsonb_each(@json, '$.documents') ORDER BY key`);
    this.upsertStates = db.prepare(`INSERT INTO plugin_state (plugin, key, value, updated_at)
      SELECT @plugin, value ->> 0, value ->> 1, @now FROM jsonb_each(@json, '$.state') WHERE true ORDER BY key
      ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);

    const counter = db.prepare('SELECT value FROM counters WHERE name = ?').pluck();
    const maxSeq = db.prepare('SELECT coalesce(max(seq), 0) FROM samples').pluck().get() as number;
    this.seqHigh = Math.max((counter.get('seq_high') as number | undefined) ?? 0, maxSeq);
    this.historyGen = (counter.get('history_gen') as number | undefined) ?? 0;
    // Readings committed after the last checkpoint of `latest` (a kill -9): read back, written with the next one.
    const since = (counter.get('latest_seq') as number | undefined) ?? 0;
    const tail = db.prepare(`SELECT p.device, p.point, s.value, s.quality, s.ts, s.seq FROM samples s JOIN points p ON p.id = s.point_id
      WHERE s.seq > ? ORDER BY s.seq`).raw();
    for (const [device, point, value, quality, ts, seq] of tail.iterate(since) as Iterable<[string, string, string, string, number, number]>) {
      this.changed(this.points.find(device, point)!, value, quality, ts, seq);
    }
  }

  /** The first seq of the generations not yet in `history` (the history query scans from there). */
  get unindexedFrom(): number {
    return this.historyGen * GEN_SIZE;
  }

  /** Moves the seq ahead by `gap` (after an unclean stop), inside the caller's transaction. */
  skipSeqs(gap: number): void {
    this.seqHigh += gap;
    this.upsertCounter.run('seq_high', this.seqHigh);
  }

  /**
   * Writes the latest value of every point changed since the last time, in point order, and the
   * seq it is complete up to; inside a transaction. `latestWritten` once that committed.
   */
  writeLatest(): void {
    const dirty = this.dirty.slice().sort((a, b) => a.id - b.id);
    for (const e of dirty) this.upsertLatest.run(e.id, e.value, e.quality, e.ts, e.seq);
    this.upsertCounter.run('latest_seq', this.seqHigh);
  }

  /** The transaction that ran writeLatest committed. */
  latestWritten(): void {
    for (const e of this.dirty) e.dirty = false;
    this.dirty = [];
    this.lastLatestWrite = Date.now();
  }

  /** Writes the batch; returns each durable commit's document ids. Throws (and writes nothing) when SQLite refuses it. */
  write(batch: Batch): number[][] {
    const now = Date.now();
    const ids: number[][] = [];
    const readings = batch.readings;
    const entries = new Array<PointEntry>(readings.length);
    const firstSeq = this.seqHigh + 1;
    const lastSeq = this.seqHigh + readings.length;
    const added: Array<[string, string]> = [];
    let historyGen = this.historyGen;
    // A durable commit is acknowledged to its sender: it is always synced, whatever `durability`
    // says. The level changes only when the kind of batch does (each change compiles a pragma):
    // a FULL left over from the last batch syncs more, never less.
    const full = this.durability === 'full' || batch.commits.length > 0;
    if (full !== this.synchronousFull) {
      this.db.pragma(`synchronous = ${full ? 'FULL' : 'NORMAL'}`);
      this.synchronousFull = full;
    }
    try {
      this.db.transaction(() => {
        for (let i = 0; i < readings.length; i++) {
          const r = readings[i];
          const e = this.points.entry(r.device, r.point, added);
          entries[i] = e;
          this.insertSample.run(firstSeq + i, e.id, r.value, r.quality, r.ts);
        }
        if (readings.length > 0) {
          this.upsertCounter.run('seq_high', lastSeq);
          const openGen = Math.floor(lastSeq / GEN_SIZE);
          if (openGen > historyGen) {
            const from = historyGen * GEN_SIZE;
            const to = openGen * GEN_SIZE;
            this.buildHistory.run(from, to);
            this.buildGenerations.run(from, to);
            historyGen = openGen;
            this.upsertCounter.run('history_gen', historyGen);
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
    } catch (err) {
      this.points.forget(added);
      throw err;
    }
    if (readings.length > 0) this.seqHigh = lastSeq;
    this.historyGen = historyGen;
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i];
      this.changed(entries[i], r.value, r.quality, r.ts, firstSeq + i);
    }
    if (now - this.lastLatestWrite >= LATEST_EVERY_MS) this.checkpointLatest();
    return ids;
  }

  /**
   * `latest` in its own small transaction after a commit: the batch is committed already, so a
   * refusing disk only postpones this (the dirty points stay dirty).
   */
  private checkpointLatest(): void {
    try {
      this.db.transaction(() => this.writeLatest())();
      this.latestWritten();
    } catch {
      this.lastLatestWrite = Date.now();
    }
  }

  private changed(e: PointEntry, value: string, quality: string, ts: number, seq: number): void {
    if (!setLatest(e, value, quality, ts, seq)) return;
    if (!e.dirty) { e.dirty = true; this.dirty.push(e); }
  }
}

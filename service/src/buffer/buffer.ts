import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { DocumentQuery, DurableBatch, InboundDocument, Reading, StoredDocument } from '../../../sdk/typescript/index.js';
import type { HostServices } from '../plugins/host-context.js';
import { BackworksError } from '../errors.js';
import { diskStateOf, isDiskError, type DiskState } from './disk-state.js';
import { migrate } from './migrations.js';
import { toQueued } from './readings.js';
import { Retention, type Drop, type DropKind, type DropReason } from './retention.js';
import { GroupWriter, type Batch } from './writer.js';

export type Durability = 'normal' | 'full';

export interface BufferOptions {
  /** The SQLite file; its directory is created when missing. */
  file: string;
  maxBytes: number;
  maxAgeMs: number;
  durability: Durability;
  flushRows?: number;
  flushIntervalMs?: number;
  maxQueued?: number;
  /** How often a refused commit is retried. */
  retryMs?: number;
  /** Called when the disk state changes (ok, full, read-only, error). */
  onDiskState?(state: DiskState, err: Error | null): void;
}

/** The newest value of one point. */
export interface LatestValue {
  value: unknown;
  quality: string;
  ts: number;
  seq: number;
}

/** One row of the readings table, as the outbox hands it out: [seq, device, point, valueJson, quality, ts]. */
export type OutboxRow = [number, string, string, string, string, number];

export interface HistoryQuery {
  device: string;
  point: string;
  from?: number;
  to?: number;
  limit: number;
}

/**
 * After an unclean stop under durability "normal", the last commits may be gone from the file while
 * an uplink already sent their seqs. Skipping this far ahead keeps every seq unique: it is more
 * readings than the WAL can hold between two syncs.
 */
const SEQ_GAP_AFTER_CRASH = 1_000_000;
const MAINTAIN_EVERY_MS = 1000;

interface LatestRow { value: string; quality: string; ts: number; seq: number }

/**
 * The SQLite store-and-forward buffer: readings, documents and plugin state written by one group
 * committing writer; uplinks read their outbox (rows after their cursor) and move the cursor only
 * once the remote end acknowledged. It is the gateway's HostServices.
 */
export class DataBuffer implements HostServices {
  readonly file: string;
  readonly writer: GroupWriter;
  /** The SQLite library better-sqlite3 was built with (reported in fleet health). */
  readonly sqliteVersion: string;
  private readonly db: Db;
  /** Prepared statements of queryPluginDocuments, one per shape of query (a handful). */
  private readonly documentQueries = new Map<string, Statement>();
  private readonly retention: Retention;
  private readonly durability: Durability;
  private readonly statements: Record<string, Statement>;
  private readonly latest = new Map<string, Map<string, LatestRow>>();
  private readonly counters = new Map<string, number>();
  private readonly dirtyCounters = new Set<string>();
  private readonly cursors = new Map<string, number>();
  private readonly dirtyCursors = new Set<string>();
  /** Readings after each uplink's cursor, kept current so health never counts the whole table. */
  private readonly pendingCounts = new Map<string, number>();
  private readonly committedListeners = new Set<(count: number) => void>();
  private diskState: DiskState = 'ok';
  private diskError: string | null = null;
  private lastMaintain = 0;
  /** The connection's `synchronous` level is FULL (else NORMAL). */
  private synchronousFull: boolean;
  private rows: number;
  private closed = false;

  constructor(private readonly options: BufferOptions) {
    this.file = path.resolve(options.file);
    this.durability = options.durability;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    this.synchronousFull = options.durability === 'full';
    this.db.pragma(`synchronous = ${this.synchronousFull ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    // Checkpoints run from the once-a-second maintenance, not inside whichever commit fills the
    // WAL past 1,000 pages: a commit someone waits on does not also copy the WAL into the file.
    this.db.pragma('wal_autocheckpoint = 0');
    migrate(this.db, this.file);
    this.sqliteVersion = this.db.prepare('SELECT sqlite_version()').pluck().get() as string;

    const db = this.db;
    this.statements = {
      insertReading: db.prepare('INSERT INTO readings (device, point, value, quality, ts) VALUES (?, ?, ?, ?, ?)'),
      upsertLatest: db.prepare(`INSERT INTO latest (device, point, value, quality, ts, seq) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (device, point) DO UPDATE SET value = excluded.value, quality = excluded.quality, ts = excluded.ts, seq = excluded.seq`),
      // A durable commit's documents and state straight from its JSON (@json: text, or the JSONB
      // blob commitJson made of it), in batch order.
      insertDocuments: db.prepare(`INSERT INTO documents (plugin, type, body, meta, received_at, updated_at)
        SELECT @plugin, value ->> '$.type', value ->> '$.body', CASE WHEN json_type(value, '$.meta') IN ('object', 'array') THEN value -> '$.meta' END, @now, @now
        FROM jsonb_each(@json, '$.documents') ORDER BY key`),
      upsertStates: db.prepare(`INSERT INTO plugin_state (plugin, key, value, updated_at)
        SELECT @plugin, value ->> 0, value ->> 1, @now FROM jsonb_each(@json, '$.state') WHERE true ORDER BY key
        ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
      pendingStates: db.prepare("SELECT value ->> 0, value ->> 1 FROM jsonb_each(?, '$.state') ORDER BY key").raw(),
      // commitJson parses the text once, into the JSONB the check and the inserts then read
      // without parsing (a blob argument is JSONB to SQLite's JSON functions).
      toJsonb: db.prepare('SELECT jsonb(?)').pluck(),
      // What commitJson checks before queueing: the shape, the first bad document and state pair,
      // and how much there is.
      checkBatch: db.prepare(`SELECT json_type(@j), json_type(@j, '$.documents'), json_type(@j, '$.state'),
          (SELECT min(key) FROM jsonb_each(@j, '$.documents') WHERE CASE WHEN type <> 'object' THEN 1
            WHEN json_type(value, '$.type') IS NOT 'text' OR value ->> '$.type' = '' OR json_type(value, '$.body') IS NOT 'text' THEN 1 ELSE 0 END),
          (SELECT min(key) FROM jsonb_each(@j, '$.state') WHERE CASE WHEN type <> 'array' THEN 1
            WHEN json_array_length(value) <> 2 OR json_type(value, '$[0]') IS NOT 'text' OR json_type(value, '$[1]') IS NOT 'text' THEN 1 ELSE 0 END),
          coalesce(json_array_length(@j, '$.documents'), 0) + coalesce(json_array_length(@j, '$.state'), 0)`).raw(),
      selectState: db.prepare('SELECT value FROM plugin_state WHERE plugin = ? AND key = ?').pluck(),
      upsertCursor: db.prepare(`INSERT INTO outbox_cursors (uplink, stream, acked_seq, updated_at) VALUES (?, 'readings', ?, ?)
        ON CONFLICT (uplink, stream) DO UPDATE SET acked_seq = excluded.acked_seq, updated_at = excluded.updated_at`),
      upsertCounter: db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      readingsAfter: db.prepare('SELECT seq, device, point, value, quality, ts FROM readings WHERE seq > ? ORDER BY seq LIMIT ?').raw(),
      // One JSON array per device for the next `limit` readings, built by SQLite: no row objects in JS.
      outboxMessages: db.prepare(`SELECT device,
          '[' || group_concat('{"device":' || json_quote(device) || ',"point":' || json_quote(point) || ',"value":' || value
            || ',"quality":"' || quality || '","ts":' || ts || ',"seq":' || seq || '}', ',' ORDER BY seq) || ']',
          count(*), max(seq)
        FROM (SELECT seq, device, point, value, quality, ts FROM readings WHERE seq > ? ORDER BY seq LIMIT ?)
        GROUP BY device ORDER BY min(seq)`).raw(),
      countAfter: db.prepare('SELECT count(*) FROM readings WHERE seq > ?').pluck(),
      countBetween: db.prepare('SELECT count(*) FROM readings WHERE seq > ? AND seq <= ?').pluck(),
      historyAsc: db.prepare(`SELECT seq, value, quality, ts FROM readings
        WHERE device = ? AND point = ? AND ts >= ? AND ts <= ? ORDER BY ts, seq LIMIT ?`),
      historyDesc: db.prepare(`SELECT seq, value, quality, ts FROM readings
        WHERE device = ? AND point = ? AND ts <= ? ORDER BY ts DESC, seq DESC LIMIT ?`),
      setDocumentStatus: db.prepare('UPDATE documents SET status = ?, updated_at = ? WHERE id = ?'),
      setPluginDocumentStatus: db.prepare('UPDATE documents SET status = ?, updated_at = ? WHERE id = ? AND plugin = ?'),
      documentsByStatus: db.prepare('SELECT id, plugin, type, body, meta, status, received_at FROM documents WHERE status = ? AND id > ? ORDER BY id LIMIT ?'),
    };

    for (const row of db.prepare('SELECT name, value FROM counters').all() as Array<{ name: string; value: number }>) this.counters.set(row.name, row.value);
    for (const row of db.prepare("SELECT uplink, acked_seq FROM outbox_cursors WHERE stream = 'readings'").all() as Array<{ uplink: string; acked_seq: number }>) this.cursors.set(row.uplink, row.acked_seq);
    for (const row of db.prepare('SELECT device, point, value, quality, ts, seq FROM latest').all() as Array<LatestRow & { device: string; point: string }>) this.setLatest(row.device, row.point, row);
    this.rows = db.prepare('SELECT count(*) FROM readings').pluck().get() as number;

    try {
      this.markRunning();
    } catch (err) {
      // A full or read-only disk at start: serve what is buffered and report it in health.
      if (!isDiskError(err)) throw err;
      this.diskState = diskStateOf(err, this.file);
      this.diskError = (err as Error).message;
    }
    for (const [uplink, seq] of this.cursors) this.pendingCounts.set(uplink, this.statements.countAfter.get(seq) as number);
    this.retention = new Retention(db, { maxBytes: options.maxBytes, maxAgeMs: options.maxAgeMs }, (upToSeq) => {
      for (const [uplink, cursor] of this.cursors) {
        if (cursor < upToSeq) this.pendingCounts.set(uplink, (this.pendingCounts.get(uplink) ?? 0) - (this.statements.countBetween.get(cursor, upToSeq) as number));
      }
    });
    this.writer = new GroupWriter({
      flushRows: options.flushRows ?? 1000,
      flushIntervalMs: options.flushIntervalMs ?? 100,
      maxQueued: options.maxQueued ?? 100_000,
      retryMs: options.retryMs ?? 1000,
      commit: (batch) => {
        try {
          return this.write(batch);
        } catch (err) {
          // Callers (an MLLP ACK, an HTTP 2xx) see one clear error; health sees the disk state.
          const state = isDiskError(err) ? diskStateOf(err, this.file) : 'error';
          throw Object.assign(new BackworksError('BW_ERR_BUFFER_REFUSED', state, (err as Error).message), { cause: err, diskState: state });
        }
      },
      onCommitResult: (err) => this.afterCommit(err),
      statesOf: (jsonb) => this.statements.pendingStates.all(jsonb) as Array<[string, string]>,
      onQueueOverflow: (count) => this.count('readings', 'queue_full', count),
    });
  }

  // ---- HostServices ---------------------------------------------------------------------------

  emit(plugin: string, readings: Reading[]): Promise<void> {
    let rows;
    try {
      rows = toQueued(plugin, readings, Date.now());
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writer.addReadings(rows);
  }

  emitDurable(plugin: string, doc: InboundDocument): Promise<{ id: number }> {
    if (!doc || typeof doc.type !== 'string' || doc.type === '' || typeof doc.body !== 'string') {
      return Promise.reject(new TypeError(`plugin "${plugin}" emitted a document without a string type and body`));
    }
    const json = JSON.stringify({ documents: [{ type: doc.type, body: doc.body, meta: doc.meta || null }] });
    return this.writer.addCommit({ plugin, json, states: [] }).then((ids) => ({ id: ids[0] }));
  }

  /**
   * HostServices: documents and state writes in one transaction, all or nothing; resolves with the
   * documents' ids once committed. Commits arriving together share the transaction and its sync.
   */
  commit(plugin: string, batch: DurableBatch): Promise<number[]> {
    let documents: InboundDocument[];
    let states: Array<[string, string]>;
    try {
      documents = toDocuments(plugin, batch?.documents ?? []);
      states = toStates(plugin, batch?.state ?? []);
    } catch (err) {
      return Promise.reject(err);
    }
    if (documents.length === 0 && states.length === 0) return Promise.resolve([]);
    return this.writer.addCommit({ plugin, json: JSON.stringify({ documents, state: states }), states });
  }

  /**
   * HostServices: `commit` with the batch as JSON text (how a native plugin hands it over). SQLite
   * checks and stores it from the text: the documents never become JS objects.
   */
  commitJson(plugin: string, json: string): Promise<number[]> {
    if (typeof json !== 'string') return Promise.reject(new TypeError(`plugin "${plugin}" committed a batch that is not JSON text`));
    let jsonb: Buffer;
    try {
      jsonb = this.statements.toJsonb.get(json) as Buffer;
    } catch (err) {
      return Promise.reject(new TypeError(`plugin "${plugin}" committed a batch that is not JSON: ${(err as Error).message}`));
    }
    const [top, documents, state, badDocument, badState, count] = this.statements.checkBatch.get({ j: jsonb }) as
      [string, string | null, string | null, number | string | null, number | string | null, number];
    let why: string | null = null;
    if (top !== 'object') why = 'a batch that is not a JSON object';
    else if (documents !== null && documents !== 'array') why = 'documents that are not an array';
    else if (state !== null && state !== 'array') why = 'state that is not an array of [key, value] pairs';
    else if (badDocument !== null) why = `documents[${badDocument}] without a string type and body`;
    else if (badState !== null) why = `state[${badState}] that is not a [key, value] pair of strings`;
    if (why) return Promise.reject(new TypeError(`plugin "${plugin}" committed ${why}`));
    if (count === 0) return Promise.resolve([]);
    return this.writer.addCommit({ plugin, json: jsonb });
  }

  async getState(plugin: string, key: string): Promise<string | undefined> {
    return this.writer.pendingState(plugin, key) ?? (this.statements.selectState.get(plugin, key) as string | undefined);
  }

  setState(plugin: string, key: string, value: string): Promise<void> {
    if (typeof value !== 'string') return Promise.reject(new TypeError(`plugin "${plugin}" state "${key}" must be a string`));
    const states: Array<[string, string]> = [[key, value]];
    return this.writer.addCommit({ plugin, json: JSON.stringify({ state: states }), states }).then(() => undefined);
  }

  // ---- reads for the API -------------------------------------------------------------------------

  devices(): Array<{ device: string; points: number; last_ts: number }> {
    return [...this.latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([device, points]) => {
      let last = 0;
      for (const p of points.values()) if (p.ts > last) last = p.ts;
      return { device, points: points.size, last_ts: last };
    });
  }

  /** Newest value of every point of a device, or undefined for a device never seen. */
  device(device: string): Record<string, LatestValue> | undefined {
    const points = this.latest.get(device);
    if (!points) return undefined;
    const out: Record<string, LatestValue> = {};
    for (const name of [...points.keys()].sort()) {
      const p = points.get(name)!;
      out[name] = { value: JSON.parse(p.value), quality: p.quality, ts: p.ts, seq: p.seq };
    }
    return out;
  }

  /** Readings of one point in [from, to], oldest first; without `from`, the newest `limit` up to `to`. */
  history(q: HistoryQuery): LatestValue[] {
    const to = q.to ?? Number.MAX_SAFE_INTEGER;
    const rows = (q.from === undefined
      ? (this.statements.historyDesc.all(q.device, q.point, to, q.limit) as LatestRow[]).reverse()
      : (this.statements.historyAsc.all(q.device, q.point, q.from, to, q.limit) as LatestRow[]));
    return rows.map((r) => ({ value: JSON.parse(r.value), quality: r.quality, ts: r.ts, seq: r.seq }));
  }

  // ---- the outbox --------------------------------------------------------------------------------

  /** Registers an uplink; a new one starts with everything buffered. Returns its acknowledged seq. */
  openOutbox(uplink: string): number {
    if (!this.cursors.has(uplink)) {
      this.cursors.set(uplink, 0);
      this.pendingCounts.set(uplink, this.rows);
      this.dirtyCursors.add(uplink);
      this.writer.touch();
    }
    return this.cursors.get(uplink)!;
  }

  /** Committed readings after `seq`, oldest first. */
  readingsAfter(seq: number, limit: number): OutboxRow[] {
    return this.statements.readingsAfter.all(seq, limit) as OutboxRow[];
  }

  /**
   * The next outbox batch after `seq`: one message per device (a JSON array of {device, point,
   * value, quality, ts, seq} in seq order) and the batch's last seq; undefined when there is none.
   */
  outboxBatch(seq: number, limit: number): { lastSeq: number; messages: Array<{ device: string; payload: string; count: number }> } | undefined {
    const rows = this.statements.outboxMessages.all(seq, limit) as Array<[string, string, number, number]>;
    if (rows.length === 0) return undefined;
    let lastSeq = seq;
    const messages = rows.map(([device, payload, count, last]) => {
      if (last > lastSeq) lastSeq = last;
      return { device, payload, count };
    });
    return { lastSeq, messages };
  }

  /** The remote end acknowledged every reading up to `seq`; written with the next commit. */
  ack(uplink: string, seq: number): void {
    const cursor = this.cursors.get(uplink) ?? 0;
    if (seq <= cursor) return;
    // Counting only the acknowledged range: rows dropped meanwhile were already subtracted.
    this.pendingCounts.set(uplink, (this.pendingCounts.get(uplink) ?? 0) - (this.statements.countBetween.get(cursor, seq) as number));
    this.cursors.set(uplink, seq);
    this.dirtyCursors.add(uplink);
    this.writer.touch();
  }

  /** Calls `listener` with the number of readings after every commit that added some; returns the unsubscribe function. */
  onCommitted(listener: (count: number) => void): () => void {
    this.committedListeners.add(listener);
    return () => this.committedListeners.delete(listener);
  }

  // ---- documents -----------------------------------------------------------------------------------

  /** HostServices: a plugin's own documents in id order (its outbox, its keys after a restart). */
  async queryPluginDocuments(plugin: string, query: DocumentQuery): Promise<StoredDocument[]> {
    const where = ['plugin = ?', 'id > ?'];
    const args: unknown[] = [plugin, Number(query.after_id ?? 0)];
    if (typeof query.type === 'string') { where.push('type = ?'); args.push(query.type); }
    if (typeof query.status === 'string') { where.push('status = ?'); args.push(query.status); }
    if (typeof query.since_ms === 'number') { where.push('received_at >= ?'); args.push(query.since_ms); }
    const limit = Math.min(Math.max(Math.trunc(Number(query.limit ?? 100)) || 100, 1), 1000);
    const columns = `id, type, status, meta, received_at${query.with_body ? ', body' : ''}`;
    const sql = `SELECT ${columns} FROM documents WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${limit}`;
    let statement = this.documentQueries.get(sql);
    if (!statement) { statement = this.db.prepare(sql); this.documentQueries.set(sql, statement); }
    return (statement.all(...args) as Array<StoredDocument & { meta: string | null }>)
      .map((row) => ({ ...row, meta: row.meta ? JSON.parse(row.meta) as Record<string, unknown> : null }));
  }

  /** HostServices: sets the status of one of the plugin's documents; false when it has none with that id. */
  async setPluginDocumentStatus(plugin: string, id: number, status: string): Promise<boolean> {
    return this.statements.setPluginDocumentStatus.run(status, Date.now(), id, plugin).changes > 0;
  }

  setDocumentStatus(id: number, status: string): void {
    this.statements.setDocumentStatus.run(status, Date.now(), id);
  }

  documentsWithStatus(status: string, afterId = 0, limit = 100): Array<{ id: number; plugin: string; type: string; body: string; meta: Record<string, unknown> | null; status: string; received_at: number }> {
    return (this.statements.documentsByStatus.all(status, afterId, limit) as Array<{ id: number; plugin: string; type: string; body: string; meta: string | null; status: string; received_at: number }>)
      .map((d) => ({ ...d, meta: d.meta ? JSON.parse(d.meta) : null }));
  }

  // ---- health and stats ------------------------------------------------------------------------------

  get rowCount(): number {
    return this.rows;
  }

  usedBytes(): number {
    return this.retention.usedBytes();
  }

  get disk(): DiskState {
    return this.diskState;
  }

  /** Drops so far (persisted, so they survive restarts), by kind and reason. */
  drops(): Record<DropKind, Record<DropReason, number>> & { total: number } {
    const get = (kind: DropKind, reason: DropReason) => this.counters.get(`dropped.${kind}.${reason}`) ?? 0;
    const readings = { max_bytes: get('readings', 'max_bytes'), max_age: get('readings', 'max_age'), queue_full: get('readings', 'queue_full') };
    const documents = { max_bytes: get('documents', 'max_bytes'), max_age: get('documents', 'max_age'), queue_full: 0 };
    const total = Object.values(readings).reduce((a, b) => a + b, 0) + Object.values(documents).reduce((a, b) => a + b, 0);
    return { readings, documents, total };
  }

  /** Readings each uplink has not had acknowledged yet. */
  pending(): Record<string, number> {
    return Object.fromEntries(this.pendingCounts);
  }

  stats() {
    let fileBytes = 0;
    try { fileBytes = fs.statSync(this.file).size; } catch { /* reported through disk state */ }
    return {
      file: this.file,
      durability: this.durability,
      disk: this.diskState,
      ...(this.diskError ? { disk_error: this.diskError } : {}),
      rows: this.rows,
      bytes: this.retention.usedBytes(),
      file_bytes: fileBytes,
      max_bytes: this.options.maxBytes,
      queued: this.writer.queued,
      pending: this.pending(),
      dropped: this.drops(),
    };
  }

  /** The /health section: unhealthy while the disk refuses writes (the service keeps serving). */
  health() {
    return { status: this.diskState === 'ok' ? 'healthy' as const : 'unhealthy' as const, ...this.stats() };
  }

  /** Flushes what is queued, records a clean shutdown and closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.writer.close();
    try {
      this.db.transaction(() => {
        this.writeDirty();
        this.statements.upsertCounter.run('clean_shutdown', 1);
      })();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A refusing disk must not stop the shutdown; what was committed is safe in the WAL.
    }
    this.db.close();
  }

  // ---- internals --------------------------------------------------------------------------------------

  private write(batch: Batch): number[][] {
    const s = this.statements;
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
        const info = s.insertReading.run(r.device, r.point, r.value, r.quality, r.ts);
        if (i === 0) firstSeq = Number(info.lastInsertRowid);
        let points = newest.get(r.device);
        if (!points) { points = new Map(); newest.set(r.device, points); }
        points.set(r.point, i);
      }
      // One writer in one transaction: AUTOINCREMENT hands out consecutive seqs.
      for (const [device, points] of newest) {
        for (const [point, i] of points) {
          const r = readings[i];
          s.upsertLatest.run(device, point, r.value, r.quality, r.ts, firstSeq + i);
        }
      }
      for (const c of batch.commits) {
        const { changes, lastInsertRowid } = s.insertDocuments.run({ plugin: c.plugin, now, json: c.json });
        // One writer in one transaction: AUTOINCREMENT hands out consecutive ids.
        const first = Number(lastInsertRowid) - changes + 1;
        ids.push(Array.from({ length: changes }, (_, i) => first + i));
        if (c.states === undefined || c.states.length > 0) s.upsertStates.run({ plugin: c.plugin, now, json: c.json });
      }
      this.writeDirty();
    })();
    this.rows += batch.readings.length;
    for (const [uplink, n] of this.pendingCounts) this.pendingCounts.set(uplink, n + batch.readings.length);
    for (const [device, points] of newest) {
      for (const [point, i] of points) {
        const r = batch.readings[i];
        this.setLatest(device, point, { value: r.value, quality: r.quality, ts: r.ts, seq: firstSeq + i });
      }
    }
    if (batch.readings.length > 0) for (const listener of this.committedListeners) listener(batch.readings.length);
    return ids;
  }

  private afterCommit(err: Error | null): void {
    if (err) {
      this.setDisk((err as { diskState?: DiskState }).diskState ?? 'error', (err as { cause?: Error }).cause ?? err);
      return;
    }
    this.setDisk('ok', null);
    const now = Date.now();
    this.maintain(now, false);
    if (now - this.lastMaintain < MAINTAIN_EVERY_MS) return;
    this.lastMaintain = now;
    // The age check and the checkpoint (tens of ms under load) wait for the next turn: the
    // commit's callers hear back first.
    setImmediate(() => { if (!this.closed) this.maintain(); });
  }

  /** Applies the limits (size, and age with a WAL checkpoint when `age`); a refusing disk only postpones it. */
  maintain(now = Date.now(), age = true): void {
    const record = (drop: Drop) => this.recordDrop(drop);
    try {
      if (age) {
        this.retention.enforceAge(now, record);
        this.db.pragma('wal_checkpoint(PASSIVE)');
      }
      this.retention.enforceSize(record);
    } catch (err) {
      this.setDisk(isDiskError(err) ? diskStateOf(err, this.file) : 'error', err as Error);
    }
  }

  private recordDrop(drop: Drop): void {
    if (drop.count === 0) return;
    if (drop.kind === 'readings') this.rows -= drop.count;
    this.count(drop.kind, drop.reason, drop.count);
    this.writeDirty(); // inside the deleting transaction: the count and the delete commit together
  }

  private count(kind: DropKind, reason: DropReason, n: number): void {
    const name = `dropped.${kind}.${reason}`;
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
    this.dirtyCounters.add(name);
    this.dropListener?.(kind, reason, n);
  }

  /** Set by the metrics module: every drop is counted there too. */
  dropListener: ((kind: DropKind, reason: DropReason, n: number) => void) | null = null;

  private writeDirty(): void {
    const now = Date.now();
    for (const uplink of this.dirtyCursors) this.statements.upsertCursor.run(uplink, this.cursors.get(uplink), now);
    for (const name of this.dirtyCounters) this.statements.upsertCounter.run(name, this.counters.get(name));
    this.dirtyCursors.clear();
    this.dirtyCounters.clear();
  }

  /** Marks the file in use; if the last run did not close it cleanly, moves seq past what it may have sent. */
  private markRunning(): void {
    this.db.transaction(() => {
      const clean = this.counters.get('clean_shutdown');
      if (clean === 0 && this.durability === 'normal') {
        this.db.prepare("UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'readings'").run(SEQ_GAP_AFTER_CRASH);
      }
      this.statements.upsertCounter.run('clean_shutdown', 0);
    })();
    this.counters.set('clean_shutdown', 0);
  }

  private setLatest(device: string, point: string, row: LatestRow): void {
    let points = this.latest.get(device);
    if (!points) { points = new Map(); this.latest.set(device, points); }
    const prev = points.get(point);
    if (!prev || prev.seq < row.seq) points.set(point, row);
  }

  private setDisk(state: DiskState, err: Error | null): void {
    const message = err ? err.message : null;
    if (state === this.diskState && message === this.diskError) return;
    this.diskState = state;
    this.diskError = message;
    this.options.onDiskState?.(state, err);
  }
}

/** Checks a commit's documents, naming the first bad one, so nothing of a bad batch is stored. */
function toDocuments(plugin: string, docs: unknown): InboundDocument[] {
  if (!Array.isArray(docs)) throw new TypeError(`plugin "${plugin}" committed documents that are not an array`);
  const out: InboundDocument[] = new Array(docs.length);
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i] as InboundDocument;
    if (!d || typeof d.type !== 'string' || d.type === '' || typeof d.body !== 'string') {
      throw new TypeError(`plugin "${plugin}" committed documents[${i}] without a string type and body`);
    }
    out[i] = { type: d.type, body: d.body, ...(d.meta ? { meta: d.meta } : {}) };
  }
  return out;
}

function toStates(plugin: string, pairs: unknown): Array<[string, string]> {
  if (!Array.isArray(pairs)) throw new TypeError(`plugin "${plugin}" committed state that is not an array of [key, value] pairs`);
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i] as unknown[];
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string') {
      throw new TypeError(`plugin "${plugin}" committed state[${i}] that is not a [key, value] pair of strings`);
    }
  }
  return pairs as Array<[string, string]>;
}

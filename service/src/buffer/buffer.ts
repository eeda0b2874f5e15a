import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { DocumentQuery, DurableBatch, InboundDocument, Reading, StoredDocument } from '../../../sdk/typescript/index.js';
import type { HostServices } from '../plugins/host-context.js';
import { BackworksError } from '../errors.js';
import { CommitTransaction } from './commit.js';
import { Counters } from './counters.js';
import { diskStateOf, isDiskError, type DiskState } from './disk-state.js';
import { Documents, type DocumentListQuery, type DocumentWithStatus } from './documents.js';
import { JsonBatchCheck, toDocuments, toStates } from './durable-batch.js';
import { AuditLog } from './audit.js';
import { migrate } from './migrations.js';
import { PointDictionary } from './points.js';
import { Outbox, type OutboxMessage } from './outbox.js';
import { ReadingQueries, type HistoryQuery, type LatestValue } from './queries.js';
import { toQueued } from './readings.js';
import { Retention, type Drop, type DropKind, type DropReason } from './retention.js';
import { GroupWriter, type Batch } from './writer.js';

export type { OutboxMessage } from './outbox.js';
export type { HistoryQuery, LatestValue } from './queries.js';

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
  /**
   * Called when the disk state changes (ok, full, read-only, error), with what was refused while
   * the state that ends lasted: acknowledged readings and durable commits (each answered "not stored").
   */
  onDiskState?(state: DiskState, err: Error | null, refused: { readings: number; commits: number }): void;
}

/**
 * After an unclean stop under durability "normal", the last commits may be gone from the file while
 * an uplink already sent their seqs. Skipping this far ahead keeps every seq unique: it is more
 * readings than the WAL can hold between two syncs.
 */
const SEQ_GAP_AFTER_CRASH = 1_000_000;
const MAINTAIN_EVERY_MS = 1000;

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
  /** The control plane's audit trail, in the same file and under the same limits. */
  readonly audit: AuditLog;
  private readonly db: Db;
  private readonly retention: Retention;
  private readonly durability: Durability;
  private readonly selectState: Statement;
  private readonly selectOldest: Statement;
  /** The state writes of a queued JSONB batch, for the writer's pendingState (getState sees its own writes). */
  private readonly pendingStates: Statement;
  private readonly commitTransaction: CommitTransaction;
  private readonly jsonBatchCheck: JsonBatchCheck;
  private readonly readingQueries: ReadingQueries;
  private readonly documents: Documents;
  private readonly outbox: Outbox;
  private readonly counters: Counters;
  private diskState: DiskState = 'ok';
  private diskError: string | null = null;
  /** Refused since the disk state last changed. */
  private refused = { readings: 0, commits: 0 };
  private lastMaintain = 0;
  private rows: number;
  private closed = false;

  constructor(private readonly options: BufferOptions) {
    this.file = path.resolve(options.file);
    this.durability = options.durability;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    // Checkpoints run from the once-a-second maintenance, not inside whichever commit fills the
    // WAL past 1,000 pages: a commit someone waits on does not also copy the WAL into the file.
    this.db.pragma('wal_autocheckpoint = 0');
    migrate(this.db, this.file);
    this.sqliteVersion = this.db.prepare('SELECT sqlite_version()').pluck().get() as string;

    const db = this.db;
    this.selectState = db.prepare('SELECT value FROM plugin_state WHERE plugin = ? AND key = ?').pluck();
    this.selectOldest = db.prepare('SELECT seq, ts FROM samples ORDER BY seq LIMIT 1');
    this.pendingStates = db.prepare("SELECT value ->> 0, value ->> 1 FROM jsonb_each(?, '$.state') ORDER BY key").raw();
    this.jsonBatchCheck = new JsonBatchCheck(db);
    const points = new PointDictionary(db);
    this.readingQueries = new ReadingQueries(db, points, () => this.commitTransaction.unindexedFrom);
    this.commitTransaction = new CommitTransaction(db, options.durability, points, () => this.writeDirty());
    this.documents = new Documents(db);
    this.outbox = new Outbox(db, () => this.writer.touch());
    this.counters = new Counters(db);
    this.audit = new AuditLog(db);
    this.rows = db.prepare('SELECT count(*) FROM samples').pluck().get() as number;

    try {
      this.markRunning();
    } catch (err) {
      // A full or read-only disk at start: serve what is buffered and report it in health.
      if (!isDiskError(err)) throw err;
      this.diskState = diskStateOf(err, this.file);
      this.diskError = (err as Error).message;
    }
    this.retention = new Retention(db, { maxBytes: options.maxBytes, maxAgeMs: options.maxAgeMs }, (upToSeq) => this.outbox.dropping(upToSeq));
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
      onCommitResult: (err, batch, refusedAcked = 0) => {
        this.afterCommit(err);
        // After the state change it may cause: a refusal counts in the state it belongs to.
        if (err) { this.refused.readings += refusedAcked; this.refused.commits += batch.commits.length; }
      },
      statesOf: (jsonb) => this.pendingStates.all(jsonb) as Array<[string, string]>,
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

  /**
   * HostServices: readings a sender waits for. Resolves once committed; rejects with
   * BW_ERR_BUFFER_REFUSED (503) when the disk refuses them, and then nothing of them is stored.
   */
  emitAcknowledged(plugin: string, readings: Reading[]): Promise<void> {
    let rows;
    try {
      rows = toQueued(plugin, readings, Date.now());
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writer.addAcknowledged(rows);
  }

  /**
   * HostServices: the one durable write. Documents and state writes in one transaction, all or
   * nothing; resolves with the documents' ids once committed. Commits arriving together share the
   * transaction and its sync. `batch` as JSON text is how a native plugin hands it over: SQLite
   * checks and stores it from the text, and the documents never become JS objects.
   */
  commit(plugin: string, batch: DurableBatch | string): Promise<number[]> {
    if (typeof batch === 'string') {
      const checked = this.jsonBatchCheck.check(plugin, batch);
      if (checked instanceof TypeError) return Promise.reject(checked);
      if (checked.count === 0) return Promise.resolve([]);
      return this.writer.addCommit({ plugin, json: checked.jsonb });
    }
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

  async getState(plugin: string, key: string): Promise<string | undefined> {
    return this.writer.pendingState(plugin, key) ?? (this.selectState.get(plugin, key) as string | undefined);
  }

  // ---- reads for the API -------------------------------------------------------------------------

  /** The oldest reading the buffer still holds (the console's overview), or undefined when empty. */
  oldestReading(): { seq: number; ts: number } | undefined {
    return this.selectOldest.get() as { seq: number; ts: number } | undefined;
  }

  devices(): Array<{ device: string; points: number; last_ts: number }> {
    return this.readingQueries.devices();
  }

  /** Newest value of every point of a device, or undefined for a device never seen. */
  device(device: string): Record<string, LatestValue> | undefined {
    return this.readingQueries.device(device);
  }

  /** Readings of one point in [from, to], oldest first; without `from`, the newest `limit` up to `to`. */
  history(q: HistoryQuery): LatestValue[] {
    return this.readingQueries.history(q);
  }

  // ---- the outbox --------------------------------------------------------------------------------

  /** Registers an uplink; a new one starts with everything buffered. Returns its acknowledged seq. */
  openOutbox(uplink: string): number {
    return this.outbox.open(uplink, this.rows);
  }

  /**
   * The next outbox batch after `seq`: one message per device (a JSON array of {device, point,
   * value, quality, ts, seq} in seq order) and the batch's last seq; undefined when there is none.
   */
  outboxBatch(seq: number, limit: number): { lastSeq: number; messages: OutboxMessage[] } | undefined {
    return this.outbox.batch(seq, limit);
  }

  /** The remote end acknowledged every reading up to `seq`; written with the next commit. */
  ack(uplink: string, seq: number): void {
    this.outbox.ack(uplink, seq);
  }

  /** Calls `listener` with the number of readings after every commit that added some; returns the unsubscribe function. */
  onCommitted(listener: (count: number) => void): () => void {
    return this.outbox.onCommitted(listener);
  }

  // ---- documents -----------------------------------------------------------------------------------

  /** Every plugin's documents, newest first, without their bodies (the console's messages page). */
  listDocuments(query: DocumentListQuery) {
    return this.documents.list(query);
  }

  /** One document with its body. */
  document(id: number) {
    return this.documents.one(id);
  }

  /** HostServices: a plugin's own documents in id order (its outbox, its keys after a restart). */
  async queryPluginDocuments(plugin: string, query: DocumentQuery): Promise<StoredDocument[]> {
    return this.documents.pluginDocuments(plugin, query);
  }

  /** HostServices: sets the status of one of the plugin's documents; false when it has none with that id. */
  async setPluginDocumentStatus(plugin: string, id: number, status: string): Promise<boolean> {
    return this.documents.setPluginStatus(plugin, id, status);
  }

  documentCounts(): Array<{ plugin: string; type: string; status: string; n: number }> {
    return this.documents.counts();
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
    return this.counters.drops();
  }

  /** Readings each uplink has not had acknowledged yet. */
  pending(): Record<string, number> {
    return this.outbox.pending();
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
        this.commitTransaction.writeLatest();
        this.counters.store('clean_shutdown', 1);
      })();
      this.commitTransaction.latestWritten();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A refusing disk must not stop the shutdown; what was committed is safe in the WAL.
    }
    this.db.close();
  }

  // ---- internals --------------------------------------------------------------------------------------

  /** The writer's commit: the batch in one transaction, then what follows from it in memory. */
  private write(batch: Batch): number[][] {
    const ids = this.commitTransaction.write(batch);
    this.rows += batch.readings.length;
    this.outbox.committed(batch.readings.length);
    return ids;
  }

  private afterCommit(err: Error | null): void {
    if (err) {
      this.rolledBack();
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
      this.rolledBack();
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
    this.counters.countDrop(kind, reason, n);
    this.dropListener?.(kind, reason, n);
  }

  /** Set by the metrics module: every drop is counted there too. */
  dropListener: ((kind: DropKind, reason: DropReason, n: number) => void) | null = null;

  /** Writes the moved outbox cursors and the changed counters; called inside a transaction. */
  private writeDirty(): void {
    this.outbox.writeCursors(Date.now());
    this.counters.writeChanged();
  }

  /** What writeDirty wrote in a transaction that failed is written again by the next one. */
  private rolledBack(): void {
    this.outbox.rolledBack();
    this.counters.rolledBack();
  }

  /** Marks the file in use; if the last run did not close it cleanly, moves seq past what it may have sent. */
  private markRunning(): void {
    this.db.transaction(() => {
      const clean = this.counters.get('clean_shutdown');
      if (clean === 0 && this.durability === 'normal') {
        this.commitTransaction.skipSeqs(SEQ_GAP_AFTER_CRASH);
      }
      this.counters.store('clean_shutdown', 0);
    })();
  }

  private setDisk(state: DiskState, err: Error | null): void {
    const message = err ? err.message : null;
    if (state === this.diskState && message === this.diskError) return;
    const stateChanged = state !== this.diskState;
    this.diskState = state;
    this.diskError = message;
    if (!stateChanged) return; // another message for the same state: not worth a log line
    const refused = this.refused;
    this.refused = { readings: 0, commits: 0 };
    this.options.onDiskState?.(state, err, refused);
  }
}

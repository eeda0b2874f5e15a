import type { Database, Statement } from 'better-sqlite3';
import { GEN_BITS } from './migrations.js';

export type DropReason = 'max_bytes' | 'max_age' | 'queue_full';
export type DropKind = 'readings' | 'documents';

export interface RetentionLimits {
  maxBytes: number;
  maxAgeMs: number;
}

/** A drop the limits forced; the caller counts it in the same transaction that deleted the rows. */
export interface Drop {
  kind: DropKind;
  reason: DropReason;
  count: number;
  /** Readings only: the newest seq dropped, so each uplink can tell how many it never sent. */
  upToSeq?: number;
}

/** Shrink to this share of max_bytes once over it, so limits do not delete on every commit. */
const LOW_WATER = 0.9;
const AGE_CHUNK = 10_000;

/**
 * The buffer's limits: by size and by age, always the oldest first. Deleting frees pages inside the
 * file, which SQLite reuses, so the file stops growing at about max_bytes (plus the WAL).
 */
export class Retention {
  private readonly pageSize: number;
  /** Prepared once: db.pragma() compiles its statement on every call, and this runs after every commit. */
  private readonly pageCount: Statement;
  private readonly freelistCount: Statement;
  private readonly oldestReadings: Statement;
  private readonly seqRange: Statement;
  private readonly deleteSamplesUpTo: Statement;
  private readonly deleteHistoryBelow: Statement;
  private readonly deleteGenerationsBelow: Statement;
  private readonly oldestDocuments: Statement;
  private readonly deleteDocumentsUpTo: Statement;
  private readonly oldestDocumentsByAge: Statement;
  private readonly deleteAuditBefore: Statement;
  private readonly oldestAudit: Statement;
  private readonly deleteAuditUpTo: Statement;

  /**
   * @param beforeDrop runs inside the deleting transaction, before readings up to `upToSeq` go, so
   *   the caller can count what each uplink loses without ever scanning the whole table.
   */
  constructor(private readonly db: Database, private readonly limits: RetentionLimits, private readonly beforeDrop: (upToSeq: number) => void = () => {}) {
    this.pageSize = db.pragma('page_size', { simple: true }) as number;
    this.pageCount = db.prepare('PRAGMA page_count').pluck();
    this.freelistCount = db.prepare('PRAGMA freelist_count').pluck();
    this.oldestReadings = db.prepare('SELECT seq, ts FROM samples ORDER BY seq LIMIT ?').raw();
    this.seqRange = db.prepare('SELECT min(seq), max(seq), count(*) FROM samples').raw();
    this.deleteSamplesUpTo = db.prepare('DELETE FROM samples WHERE seq <= ?');
    // A generation's history goes once all of its readings did; the rest is filtered by the join.
    this.deleteHistoryBelow = db.prepare('DELETE FROM history WHERE gen < ?');
    this.deleteGenerationsBelow = db.prepare('DELETE FROM generations WHERE gen < ?');
    this.oldestDocuments = db.prepare('SELECT id FROM documents ORDER BY id LIMIT 1 OFFSET ?').pluck();
    this.deleteDocumentsUpTo = db.prepare('DELETE FROM documents WHERE id <= ?');
    this.oldestDocumentsByAge = db.prepare('SELECT id, received_at FROM documents ORDER BY id LIMIT ?').raw();
    this.deleteAuditBefore = db.prepare('DELETE FROM audit WHERE ts < ?');
    this.oldestAudit = db.prepare('SELECT id FROM audit ORDER BY id LIMIT 1 OFFSET ?').pluck();
    this.deleteAuditUpTo = db.prepare('DELETE FROM audit WHERE id <= ?');
  }

  /** Deletes the readings up to `upToSeq` and the history of the generations they emptied; returns how many readings went. */
  private deleteReadingsUpTo(upToSeq: number): number {
    const count = this.deleteSamplesUpTo.run(upToSeq).changes;
    const belowGen = Math.floor((upToSeq + 1) / 2 ** GEN_BITS);
    this.deleteHistoryBelow.run(belowGen);
    this.deleteGenerationsBelow.run(belowGen);
    return count;
  }

  /** Bytes of the file holding data now (pages in use, not the free list). */
  usedBytes(): number {
    const pages = this.pageCount.get() as number;
    const free = this.freelistCount.get() as number;
    return (pages - free) * this.pageSize;
  }

  /**
   * Drops the oldest readings (by seq) older than max_age, then the oldest documents (by id)
   * received before it. Both walk from the front of the table: a check that finds nothing to
   * drop reads one chunk, not the whole table (it runs every second beside the commits).
   */
  enforceAge(now: number, record: (drop: Drop) => void): void {
    const cutoff = now - this.limits.maxAgeMs;
    for (;;) {
      // Oldest by seq, not by ts: a device with a wrong clock must not make us drop fresh data.
      const rows = this.oldestReadings.all(AGE_CHUNK) as Array<[number, number]>;
      let expired = 0;
      while (expired < rows.length && rows[expired][1] < cutoff) expired++;
      if (expired === 0) break;
      const upToSeq = rows[expired - 1][0];
      this.db.transaction(() => {
        this.beforeDrop(upToSeq);
        const count = this.deleteReadingsUpTo(upToSeq);
        record({ kind: 'readings', reason: 'max_age', count, upToSeq });
      })();
      if (expired < rows.length) break;
    }
    // Audit rows are few (control-plane requests): one indexed delete.
    this.deleteAuditBefore.run(cutoff);
    // Usually nothing is due: the oldest document alone tells.
    const oldest = this.oldestDocumentsByAge.all(1) as Array<[number, number]>;
    if (oldest.length === 0 || oldest[0][1] >= cutoff) return;
    for (;;) {
      const rows = this.oldestDocumentsByAge.all(AGE_CHUNK) as Array<[number, number]>;
      let expired = 0;
      while (expired < rows.length && rows[expired][1] < cutoff) expired++;
      if (expired === 0) break;
      const upToId = rows[expired - 1][0];
      this.db.transaction(() => {
        const count = this.deleteDocumentsUpTo.run(upToId).changes;
        record({ kind: 'documents', reason: 'max_age', count });
      })();
      if (expired < rows.length) break;
    }
  }

  /** Cheap when under the limit (two pragmas): run after every commit. */
  enforceSize(record: (drop: Drop) => void): void {
    for (let round = 0; round < 16; round++) {
      const used = this.usedBytes();
      if (used <= this.limits.maxBytes) return;
      const share = (used - this.limits.maxBytes * LOW_WATER) / used;
      const [minSeq, , count] = this.seqRange.get() as [number | null, number | null, number];
      if (count > 0 && minSeq !== null) {
        // Rows are contiguous from the oldest (drops only ever cut the front), so a seq bound
        // deletes about `share` of them in one indexed range delete.
        const upToSeq = minSeq + Math.max(1, Math.ceil(count * share)) - 1;
        this.db.transaction(() => {
          this.beforeDrop(upToSeq);
          const dropped = this.deleteReadingsUpTo(upToSeq);
          record({ kind: 'readings', reason: 'max_bytes', count: dropped, upToSeq });
        })();
        continue;
      }
      // No readings left to give: documents go next, oldest first.
      const total = this.db.prepare('SELECT count(*) FROM documents').pluck().get() as number;
      if (total === 0) {
        // Last of all, the oldest audit rows.
        const audited = this.db.prepare('SELECT count(*) FROM audit').pluck().get() as number;
        const lastAudit = audited === 0 ? undefined : this.oldestAudit.get(Math.max(0, Math.ceil(audited * share) - 1)) as number | undefined;
        if (lastAudit === undefined) return;
        this.deleteAuditUpTo.run(lastAudit);
        continue;
      }
      const lastId = this.oldestDocuments.get(Math.max(0, Math.ceil(total * share) - 1)) as number | undefined;
      if (lastId === undefined) return;
      this.db.transaction(() => {
        const dropped = this.deleteDocumentsUpTo.run(lastId).changes;
        record({ kind: 'documents', reason: 'max_bytes', count: dropped });
      })();
    }
  }
}

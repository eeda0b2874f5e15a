import type { Database, Statement } from 'better-sqlite3';

/** One audited request: who (user, token name or "local"), with which role, from where, what, and how it ended. */
export interface AuditEntry {
  ts: number;
  who: string | null;
  role: string | null;
  via: string | null;
  source: string | null;
  method: string;
  route: string;
  status: number;
  outcome: 'ok' | 'denied' | 'rate_limited' | 'failed';
}

export interface AuditRow extends AuditEntry { id: number }

/**
 * The audit table of the buffer's SQLite file (migration 2). Rows are written one by one, at once,
 * outside the readings' group commit: a control-plane request is rare, and its row must not wait
 * for, or be lost with, a batch of readings. The buffer's age and size limits apply to it too.
 */
export class AuditLog {
  private readonly insert: Statement;
  private readonly page: Statement;
  /** Rows the disk refused since the start (backworks_audit_rows_unwritten). */
  unwritten = 0;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO audit (ts, who, role, via, source, method, route, status, outcome) VALUES (@ts, @who, @role, @via, @source, @method, @route, @status, @outcome)');
    this.page = db.prepare('SELECT id, ts, who, role, via, source, method, route, status, outcome FROM audit WHERE id > ? ORDER BY id LIMIT ?');
  }

  /**
   * Writes the row; false when the disk refused it. The request it records already happened, so a
   * refusal is counted rather than thrown, and the caller puts the entry in the journal instead.
   */
  record(entry: AuditEntry): boolean {
    try {
      this.insert.run(entry);
      return true;
    } catch {
      this.unwritten++;
      return false;
    }
  }

  /** Rows after `afterId`, oldest first. */
  rows(afterId = 0, limit = 1000): AuditRow[] {
    return this.page.all(afterId, limit) as AuditRow[];
  }
}

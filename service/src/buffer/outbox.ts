import type { Database, Statement } from 'better-sqlite3';

/** One message per device of an outbox batch: a JSON array of its readings in seq order. */
export interface OutboxMessage {
  device: string;
  payload: string;
  count: number;
}

/**
 * Each uplink's outbox: every reading after its cursor. The cursor moves only once the remote end
 * acknowledged, and is written with the buffer's next commit (`writeCursors`, inside it).
 */
export class Outbox {
  private readonly cursors = new Map<string, number>();
  private readonly dirtyCursors = new Set<string>();
  /** Readings after each uplink's cursor, kept current so health never counts the whole table. */
  private readonly pendingCounts = new Map<string, number>();
  private readonly committedListeners = new Set<(count: number) => void>();
  private readonly upsertCursor: Statement;
  private readonly selectMessages: Statement;
  private readonly countBetween: Statement;

  /** @param requestCommit asks the writer for a commit soon, which writes the moved cursors. */
  constructor(db: Database, private readonly requestCommit: () => void) {
    this.upsertCursor = db.prepare(`INSERT INTO outbox_cursors (uplink, stream, acked_seq, updated_at) VALUES (?, 'readings', ?, ?)
      ON CONFLICT (uplink, stream) DO UPDATE SET acked_seq = excluded.acked_seq, updated_at = excluded.updated_at`);
    // One JSON array per device for the next `limit` readings, built by SQLite: no row objects in JS.
    this.selectMessages = db.prepare(`SELECT p.device,
        '[' || group_concat('{"device":' || json_quote(p.device) || ',"point":' || json_quote(p.point) || ',"value":' || s.value
          || ',"quality":"' || s.quality || '","ts":' || s.ts || ',"seq":' || s.seq || '}', ',' ORDER BY s.seq) || ']',
        count(*), max(s.seq)
      FROM (SELECT seq, point_id, value, quality, ts FROM samples WHERE seq > ? ORDER BY seq LIMIT ?) s JOIN points p ON p.id = s.point_id
      GROUP BY p.device ORDER BY min(s.seq)`).raw();
    this.countBetween = db.prepare('SELECT count(*) FROM samples WHERE seq > ? AND seq <= ?').pluck();

    const countAfter = db.prepare('SELECT count(*) FROM samples WHERE seq > ?').pluck();
    for (const row of db.prepare("SELECT uplink, acked_seq FROM outbox_cursors WHERE stream = 'readings'").all() as Array<{ uplink: string; acked_seq: number }>) {
      this.cursors.set(row.uplink, row.acked_seq);
      this.pendingCounts.set(row.uplink, countAfter.get(row.acked_seq) as number);
    }
  }

  /** Registers an uplink; a new one starts with everything buffered (`rows` readings). Returns its acknowledged seq. */
  open(uplink: string, rows: number): number {
    if (!this.cursors.has(uplink)) {
      this.cursors.set(uplink, 0);
      this.pendingCounts.set(uplink, rows);
      this.dirtyCursors.add(uplink);
      this.requestCommit();
    }
    return this.cursors.get(uplink)!;
  }

  /**
   * The next outbox batch after `seq`: one message per device (a JSON array of {device, point,
   * value, quality, ts, seq} in seq order) and the batch's last seq; undefined when there is none.
   */
  batch(seq: number, limit: number): { lastSeq: number; messages: OutboxMessage[] } | undefined {
    const rows = this.selectMessages.all(seq, limit) as Array<[string, string, number, number]>;
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
    this.pendingCounts.set(uplink, (this.pendingCounts.get(uplink) ?? 0) - (this.countBetween.get(cursor, seq) as number));
    this.cursors.set(uplink, seq);
    this.dirtyCursors.add(uplink);
    this.requestCommit();
  }

  /** Calls `listener` with the number of readings after every commit that added some; returns the unsubscribe function. */
  onCommitted(listener: (count: number) => void): () => void {
    this.committedListeners.add(listener);
    return () => this.committedListeners.delete(listener);
  }

  /** A commit added `count` readings: every outbox has them pending. */
  committed(count: number): void {
    for (const [uplink, n] of this.pendingCounts) this.pendingCounts.set(uplink, n + count);
    if (count > 0) for (const listener of this.committedListeners) listener(count);
  }

  /**
   * Readings up to `upToSeq` are being deleted (retention, inside its transaction): each uplink
   * loses those it had not had acknowledged.
   */
  dropping(upToSeq: number): void {
    for (const [uplink, cursor] of this.cursors) {
      if (cursor < upToSeq) this.pendingCounts.set(uplink, (this.pendingCounts.get(uplink) ?? 0) - (this.countBetween.get(cursor, upToSeq) as number));
    }
  }

  /** Readings each uplink has not had acknowledged yet. */
  pending(): Record<string, number> {
    return Object.fromEntries(this.pendingCounts);
  }

  /** Writes the cursors moved since the last commit; called inside the committing transaction. */
  writeCursors(now: number): void {
    for (const uplink of this.dirtyCursors) this.upsertCursor.run(uplink, this.cursors.get(uplink), now);
    this.dirtyCursors.clear();
  }

  /** A transaction that wrote cursors rolled back (a full disk): the next commit writes them all again. */
  rolledBack(): void {
    for (const uplink of this.cursors.keys()) this.dirtyCursors.add(uplink);
  }
}

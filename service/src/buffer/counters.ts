import type { Database, Statement } from 'better-sqlite3';
import type { DropKind, DropReason } from './retention.js';

/**
 * The counters table, kept in memory: the drops by kind and reason (persisted, so they survive
 * restarts) and the clean-shutdown flag. A drop is written by `writeChanged`, which the buffer
 * runs inside the deleting transaction or the next commit: the count commits with what it counts.
 */
export class Counters {
  private readonly values = new Map<string, number>();
  private readonly changed = new Set<string>();
  private readonly upsert: Statement;

  constructor(db: Database) {
    this.upsert = db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value');
    for (const row of db.prepare('SELECT name, value FROM counters').all() as Array<{ name: string; value: number }>) this.values.set(row.name, row.value);
  }

  get(name: string): number | undefined {
    return this.values.get(name);
  }

  /** Writes a counter at once (inside the caller's transaction, if any). */
  store(name: string, value: number): void {
    this.upsert.run(name, value);
    this.values.set(name, value);
  }

  countDrop(kind: DropKind, reason: DropReason, n: number): void {
    const name = `dropped.${kind}.${reason}`;
    this.values.set(name, (this.values.get(name) ?? 0) + n);
    this.changed.add(name);
  }

  /** Writes the counters changed since the last call. */
  writeChanged(): void {
    for (const name of this.changed) this.upsert.run(name, this.values.get(name));
    this.changed.clear();
  }

  /** A transaction that wrote counters rolled back (a full disk): the next commit writes them all again. */
  rolledBack(): void {
    for (const name of this.values.keys()) this.changed.add(name);
  }

  /** Drops so far, by kind and reason. */
  drops(): Record<DropKind, Record<DropReason, number>> & { total: number } {
    const get = (kind: DropKind, reason: DropReason) => this.values.get(`dropped.${kind}.${reason}`) ?? 0;
    const readings = { max_bytes: get('readings', 'max_bytes'), max_age: get('readings', 'max_age'), queue_full: get('readings', 'queue_full') };
    const documents = { max_bytes: get('documents', 'max_bytes'), max_age: get('documents', 'max_age'), queue_full: 0 };
    const total = Object.values(readings).reduce((a, b) => a + b, 0) + Object.values(documents).reduce((a, b) => a + b, 0);
    return { readings, documents, total };
  }
}

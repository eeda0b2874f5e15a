import type { Database, Statement } from 'better-sqlite3';
import type { DocumentQuery, StoredDocument } from '../../../sdk/typescript/index.js';

/** A stored document with its plugin, body and status. */
export interface DocumentWithStatus {
  id: number;
  plugin: string;
  type: string;
  body: string;
  meta: Record<string, unknown> | null;
  status: string;
  received_at: number;
}

export interface DocumentListQuery { plugin?: string; status?: string; q?: string; before?: number; limit: number }

/**
 * The documents table after the commit stored them: the queries, and the status updates (each run
 * at once, outside the group writer).
 */
export class Documents {
  /** Prepared statements of `pluginDocuments`, one per shape of query (a handful). */
  private readonly pluginQueries = new Map<string, Statement>();
  private readonly updatePluginStatus: Statement;
  private readonly countByStatus: Statement;

  constructor(private readonly db: Database) {
    this.updatePluginStatus = db.prepare('UPDATE documents SET status = ?, updated_at = ? WHERE id = ? AND plugin = ?');
    this.countByStatus = db.prepare('SELECT plugin, type, status, count(*) AS n FROM documents GROUP BY plugin, type, status');
  }

  /** How many documents each plugin holds, by type and status (what was kept but not processed shows here). */
  counts(): Array<{ plugin: string; type: string; status: string; n: number }> {
    return this.countByStatus.all() as Array<{ plugin: string; type: string; status: string; n: number }>;
  }

  /** A plugin's own documents in id order (its outbox, its keys after a restart). */
  pluginDocuments(plugin: string, query: DocumentQuery): StoredDocument[] {
    const where = ['plugin = ?', 'id > ?'];
    const args: unknown[] = [plugin, Number(query.after_id ?? 0)];
    if (typeof query.type === 'string') { where.push('type = ?'); args.push(query.type); }
    if (typeof query.status === 'string') { where.push('status = ?'); args.push(query.status); }
    if (typeof query.since_ms === 'number') { where.push('received_at >= ?'); args.push(query.since_ms); }
    const limit = Math.min(Math.max(Math.trunc(Number(query.limit ?? 100)) || 100, 1), 1000);
    const columns = `id, type, status, meta, received_at${query.with_body ? ', body' : ''}`;
    const sql = `SELECT ${columns} FROM documents WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${limit}`;
    let statement = this.pluginQueries.get(sql);
    if (!statement) { statement = this.db.prepare(sql); this.pluginQueries.set(sql, statement); }
    return (statement.all(...args) as Array<StoredDocument & { meta: string | null }>)
      .map((row) => ({ ...row, meta: row.meta ? JSON.parse(row.meta) as Record<string, unknown> : null }));
  }

  /** Sets the status of one of the plugin's documents; false when it has none with that id. */
  setPluginStatus(plugin: string, id: number, status: string): boolean {
    return this.updatePluginStatus.run(status, Date.now(), id, plugin).changes > 0;
  }

  /**
   * Every plugin's documents, newest first, for the console's messages page: by plugin, status,
   * and `q` (a row id, or text found in the meta: a message control number, a sender). No body.
   */
  list(query: DocumentListQuery): Array<Omit<DocumentWithStatus, 'body'> & { updated_at: number }> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.plugin) { where.push('plugin = ?'); args.push(query.plugin); }
    if (query.status) { where.push('status = ?'); args.push(query.status); }
    if (query.before) { where.push('id < ?'); args.push(query.before); }
    if (query.q) {
      const like = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      if (/^\d+$/.test(query.q)) { where.push("(id = ? OR meta LIKE ? ESCAPE '\\')"); args.push(Number(query.q), like); }
      else { where.push("meta LIKE ? ESCAPE '\\'"); args.push(like); }
    }
    const sql = `SELECT id, plugin, type, meta, status, received_at, updated_at FROM documents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, query.limit) as Array<Omit<DocumentWithStatus, 'body' | 'meta'> & { meta: string | null; updated_at: number }>)
      .map((d) => ({ ...d, meta: d.meta ? JSON.parse(d.meta) as Record<string, unknown> : null }));
  }

  /** One document with its body, or undefined. */
  one(id: number): (DocumentWithStatus & { updated_at: number }) | undefined {
    const row = this.db.prepare('SELECT id, plugin, type, body, meta, status, received_at, updated_at FROM documents WHERE id = ?').get(id) as
      (Omit<DocumentWithStatus, 'meta'> & { meta: string | null; updated_at: number }) | undefined;
    return row && { ...row, meta: row.meta ? JSON.parse(row.meta) as Record<string, unknown> : null };
  }

}

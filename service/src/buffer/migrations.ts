import type { Database } from 'better-sqlite3';

/**
 * The buffer's schema, only ever changed by appending a migration. `PRAGMA user_version` holds the
 * number of the last one applied; each runs in its own transaction, so a crash mid-way leaves the
 * previous version intact.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'readings, outbox cursors, documents, plugin state, counters',
    sql: `
      -- AUTOINCREMENT: a seq is never handed out twice, even after the newest rows were dropped.
      CREATE TABLE readings (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        device  TEXT    NOT NULL,
        point   TEXT    NOT NULL,
        value   TEXT    NOT NULL, -- JSON, so numbers, strings, booleans and null round-trip
        quality TEXT    NOT NULL,
        ts      INTEGER NOT NULL  -- ms since the epoch
      );
      CREATE INDEX readings_history ON readings (device, point, ts);

      -- The newest reading of every point, for GET /api/devices without scanning readings.
      CREATE TABLE latest (
        device  TEXT    NOT NULL,
        point   TEXT    NOT NULL,
        value   TEXT    NOT NULL,
        quality TEXT    NOT NULL,
        ts      INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        PRIMARY KEY (device, point)
      ) WITHOUT ROWID;

      -- The outbox of an uplink is every row of a stream after its cursor: rows are shared by all
      -- uplinks, each keeps only the last seq its remote end acknowledged.
      CREATE TABLE outbox_cursors (
        uplink     TEXT    NOT NULL,
        stream     TEXT    NOT NULL, -- 'readings' | 'documents'
        acked_seq  INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (uplink, stream)
      ) WITHOUT ROWID;

      CREATE TABLE documents (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        plugin      TEXT    NOT NULL,
        type        TEXT    NOT NULL,
        body        TEXT    NOT NULL,
        meta        TEXT,             -- JSON
        status      TEXT    NOT NULL DEFAULT 'received',
        received_at INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
      CREATE INDEX documents_status ON documents (status, id);

      CREATE TABLE plugin_state (
        plugin     TEXT    NOT NULL,
        key        TEXT    NOT NULL,
        value      TEXT    NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (plugin, key)
      ) WITHOUT ROWID;

      -- Drop counts and the clean-shutdown flag: they must survive restarts like the data does.
      CREATE TABLE counters (
        name  TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'audit trail of the control plane',
    sql: `
      -- Every state-changing request to the gateway's API and every login (service/src/auth/audit.ts).
      CREATE TABLE audit (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        ts      INTEGER NOT NULL, -- ms since the epoch
        who     TEXT,             -- user, token name or 'local' (the Unix socket); NULL: no credential
        role    TEXT,
        via     TEXT,             -- 'session' | 'bearer' | 'socket'
        source  TEXT,             -- remote address; NULL on the Unix socket
        method  TEXT    NOT NULL,
        route   TEXT    NOT NULL, -- the path, without the query string
        status  INTEGER NOT NULL,
        outcome TEXT    NOT NULL  -- 'ok' | 'denied' | 'rate_limited' | 'failed'
      );
      CREATE INDEX audit_ts ON audit (ts);
    `,
  },
];

/** Brings the file to the newest schema; refuses a file written by a newer Backworks. */
export function migrate(db: Database, file: string): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = MIGRATIONS[MIGRATIONS.length - 1].version;
  if (current > newest) {
    throw new Error(`${file} has buffer schema version ${current}, newer than this Backworks knows (${newest}); upgrade Backworks or move the file away`);
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return newest;
}

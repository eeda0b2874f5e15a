import type { Database } from 'better-sqlite3';

/**
 * The buffer's schema, only ever changed by appending a migration. `PRAGMA user_version` holds the
 * number of the last one applied; each runs in its own transaction, so a crash mid-way leaves the
 * previous version intact.
 */
export interface Migration {
  version: number;
  name: string;
  /** Runs in one transaction with the version bump. */
  sql: string;
  /**
   * Runs before `sql`, in transactions of its own: a conversion too big for one. It must be
   * resumable: interrupted and run again, it carries on where the last committed step left it.
   */
  steps?: (db: Database, options: MigrateOptions) => void;
}

export interface MigrateOptions {
  /** Rows copied per transaction by a conversion. */
  chunkRows?: number;
  /** Called after each committed step (tests interrupt a conversion by throwing from it). */
  onStep?: (done: number) => void;
  /** Stop at this version (tests write a file with an older schema). */
  upTo?: number;
}

/** Readings per history generation: `seq >> GEN_BITS` is its generation. */
export const GEN_BITS = 16;

/**
 * Migration 3's conversion: readings (text device and point per row, AUTOINCREMENT) into samples
 * (integer point id, seq as the key), in seq order, one chunk per transaction. Progress is the
 * newest seq already in samples, so a restart carries on after it: nothing copied twice, nothing
 * skipped. The old table goes in migration 3's own transaction, with the version bump.
 */
function convertReadings(db: Database, options: MigrateOptions): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS points (
      id     INTEGER PRIMARY KEY,
      device TEXT    NOT NULL,
      point  TEXT    NOT NULL,
      UNIQUE (device, point)
    );
    CREATE TABLE IF NOT EXISTS samples (
      seq      INTEGER PRIMARY KEY,
      point_id INTEGER NOT NULL,
      value    TEXT    NOT NULL,
      quality  TEXT    NOT NULL,
      ts       INTEGER NOT NULL
    );
  `);
  const chunk = options.chunkRows ?? 100_000;
  const done = db.prepare('SELECT coalesce(max(seq), 0) FROM samples').pluck();
  const addPoints = db.prepare(`INSERT OR IGNORE INTO points (device, point)
    SELECT DISTINCT device, point FROM (SELECT device, point FROM readings WHERE seq > ? ORDER BY seq LIMIT ?)`);
  const copy = db.prepare(`INSERT INTO samples (seq, point_id, value, quality, ts)
    SELECT r.seq, p.id, r.value, r.quality, r.ts FROM (SELECT * FROM readings WHERE seq > ? ORDER BY seq LIMIT ?) r
    JOIN points p ON p.device = r.device AND p.point = r.point ORDER BY r.seq`);
  for (;;) {
    const copied = db.transaction(() => {
      const after = done.get() as number;
      addPoints.run(after, chunk);
      return copy.run(after, chunk).changes;
    }).immediate();
    if (copied === 0) break;
    options.onStep?.(done.get() as number);
  }
}

/** Migration 3's statements after the copy: the old tables go, the new layout takes over. */
const V3_SQL = `
  -- Never reused: the newest seq ever handed out, moved in the same transaction as the rows.
  INSERT INTO counters (name, value)
    SELECT 'seq_high', max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'readings'), 0), coalesce((SELECT max(seq) FROM samples), 0))
    WHERE true ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value);
  -- latest by point id; readings committed after its checkpoint are read back at start.
  CREATE TABLE latest_v3 (
    point_id INTEGER PRIMARY KEY,
    value    TEXT    NOT NULL,
    quality  TEXT    NOT NULL,
    ts       INTEGER NOT NULL,
    seq      INTEGER NOT NULL
  );
  INSERT OR IGNORE INTO points (device, point) SELECT device, point FROM latest;
  INSERT INTO latest_v3 SELECT p.id, l.value, l.quality, l.ts, l.seq FROM latest l JOIN points p ON p.device = l.device AND p.point = l.point;
  INSERT INTO counters (name, value) SELECT 'latest_seq', coalesce(max(seq), 0) FROM latest_v3 WHERE true
    ON CONFLICT (name) DO UPDATE SET value = excluded.value;
  DROP TABLE latest;
  ALTER TABLE latest_v3 RENAME TO latest;
  DROP TABLE readings;
  -- History: per generation (GEN_BITS of seq), the readings of each point in time order, built
  -- once the generation is full, in one sorted append; the open generation is scanned.
  CREATE TABLE history (
    gen      INTEGER NOT NULL,
    point_id INTEGER NOT NULL,
    ts       INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    PRIMARY KEY (gen, point_id, ts, seq)
  ) WITHOUT ROWID;
  CREATE TABLE generations (
    gen    INTEGER PRIMARY KEY,
    ts_min INTEGER NOT NULL,
    ts_max INTEGER NOT NULL
  );
  -- The rows as they were, for reading the file by hand (and deleting, as before).
  CREATE VIEW readings AS SELECT s.seq, p.device, p.point, s.value, s.quality, s.ts FROM samples s JOIN points p ON p.id = s.point_id;
  CREATE TRIGGER readings_delete INSTEAD OF DELETE ON readings BEGIN DELETE FROM samples WHERE seq = old.seq; END;
`;


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
  {
    version: 3,
    name: 'readings keyed by seq with an integer point dictionary; history by generation; latest checkpointed',
    steps: convertReadings,
    sql: V3_SQL,
  },
];

/** Brings the file to the newest schema; refuses a file written by a newer Backworks. */
export function migrate(db: Database, file: string, options: MigrateOptions = {}): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = MIGRATIONS[MIGRATIONS.length - 1].version;
  if (current > newest) {
    throw new Error(`${file} has buffer schema version ${current}, newer than this Backworks knows (${newest}); upgrade Backworks or move the file away`);
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    if (options.upTo !== undefined && migration.version > options.upTo) break;
    migration.steps?.(db, options);
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return db.pragma('user_version', { simple: true }) as number;
}

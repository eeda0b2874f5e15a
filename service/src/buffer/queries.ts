import type { Database, Statement } from 'better-sqlite3';

/** The newest value of one point. */
export interface LatestValue {
  value: unknown;
  quality: string;
  ts: number;
  seq: number;
}

export interface HistoryQuery {
  device: string;
  point: string;
  from?: number;
  to?: number;
  limit: number;
}

/** A reading as stored: `value` is JSON text. */
export interface LatestRow { value: string; quality: string; ts: number; seq: number }

/**
 * What the data API reads: the devices, the newest value of every point (kept in memory, loaded
 * from the `latest` table and updated by each commit) and the history of one point.
 */
export class ReadingQueries {
  private readonly latest = new Map<string, Map<string, LatestRow>>();
  private readonly historyAsc: Statement;
  private readonly historyDesc: Statement;

  constructor(db: Database) {
    this.historyAsc = db.prepare(`SELECT seq, value, quality, ts FROM readings
      WHERE device = ? AND point = ? AND ts >= ? AND ts <= ? ORDER BY ts, seq LIMIT ?`);
    this.historyDesc = db.prepare(`SELECT seq, value, quality, ts FROM readings
      WHERE device = ? AND point = ? AND ts <= ? ORDER BY ts DESC, seq DESC LIMIT ?`);
    for (const row of db.prepare('SELECT device, point, value, quality, ts, seq FROM latest').all() as Array<LatestRow & { device: string; point: string }>) this.setLatest(row.device, row.point, row);
  }

  /** A committed reading: it becomes the point's latest unless a newer one is. */
  setLatest(device: string, point: string, row: LatestRow): void {
    let points = this.latest.get(device);
    if (!points) { points = new Map(); this.latest.set(device, points); }
    const prev = points.get(point);
    if (!prev || prev.seq < row.seq) points.set(point, row);
  }

  devices(): Array<{ device: string; points: number; last_ts: number }> {
    return [...this.latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([device, points]) => {
      let last = 0;
      for (const p of points.values()) if (p.ts > last) last = p.ts;
      return { device, points: points.size, last_ts: last };
    });
  }

  /**
   * Newest value of every point of a device, or undefined for a device never seen. Keyed by point
   * names, which are user data: a null-prototype object, so that `__proto__` or `toString` is a
   * point like any other.
   */
  device(device: string): Record<string, LatestValue> | undefined {
    const points = this.latest.get(device);
    if (!points) return undefined;
    const out: Record<string, LatestValue> = Object.create(null);
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
      ? (this.historyDesc.all(q.device, q.point, to, q.limit) as LatestRow[]).reverse()
      : (this.historyAsc.all(q.device, q.point, q.from, to, q.limit) as LatestRow[]));
    return rows.map((r) => ({ value: JSON.parse(r.value), quality: r.quality, ts: r.ts, seq: r.seq }));
  }
}

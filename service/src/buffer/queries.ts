import type { Database, Statement } from 'better-sqlite3';
import type { PointDictionary, PointEntry } from './points.js';

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
 * What the data API reads: the devices, the newest value of every point (kept in memory on the
 * point dictionary's entries, loaded from the `latest` table and updated by each commit) and the
 * history of one point.
 */
export class ReadingQueries {
  private readonly gensAsc: Statement;
  private readonly gensDesc: Statement;
  private readonly genAsc: Statement;
  private readonly genDesc: Statement;
  private readonly tailAsc: Statement;
  private readonly tailDesc: Statement;

  /** @param unindexedFrom the first seq not yet in `history` */
  constructor(db: Database, private readonly points: PointDictionary, private readonly unindexedFrom: () => number) {
    this.gensAsc = db.prepare('SELECT gen, ts_min FROM generations WHERE ts_max >= ? AND ts_min <= ? ORDER BY ts_min').raw();
    this.gensDesc = db.prepare('SELECT gen, ts_max FROM generations WHERE ts_max >= ? AND ts_min <= ? ORDER BY ts_max DESC').raw();
    // The join drops history entries of readings retention deleted (a generation goes from
    // history once all of its readings did).
    // Several generations per statement (a JSON array of them): one seek each, in SQLite.
    const inGens = `FROM json_each(?) g CROSS JOIN history h ON h.gen = g.value JOIN samples s ON s.seq = h.seq
      WHERE h.point_id = ? AND h.ts >= ? AND h.ts <= ?`;
    this.genAsc = db.prepare(`SELECT s.seq, s.value, s.quality, s.ts ${inGens} ORDER BY h.ts, h.seq LIMIT ?`);
    this.genDesc = db.prepare(`SELECT s.seq, s.value, s.quality, s.ts ${inGens} ORDER BY h.ts DESC, h.seq DESC LIMIT ?`);
    this.tailAsc = db.prepare(`SELECT seq, value, quality, ts FROM samples
      WHERE seq >= ? AND point_id = ? AND ts >= ? AND ts <= ? ORDER BY ts, seq LIMIT ?`);
    this.tailDesc = db.prepare(`SELECT seq, value, quality, ts FROM samples
      WHERE seq >= ? AND point_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC, seq DESC LIMIT ?`);
    const byId = new Map<number, PointEntry>();
    for (const points of this.points.devices.values()) for (const e of points.values()) byId.set(e.id, e);
    for (const [id, value, quality, ts, seq] of db.prepare('SELECT point_id, value, quality, ts, seq FROM latest').raw().iterate() as Iterable<[number, string, string, number, number]>) {
      const e = byId.get(id);
      if (e) setLatest(e, value, quality, ts, seq);
    }
  }

  devices(): Array<{ device: string; points: number; last_ts: number }> {
    const out: Array<{ device: string; points: number; last_ts: number }> = [];
    for (const [device, points] of this.points.devices) {
      let last = 0;
      let n = 0;
      for (const p of points.values()) {
        if (p.seq === 0) continue;
        n++;
        if (p.ts > last) last = p.ts;
      }
      if (n > 0) out.push({ device, points: n, last_ts: last });
    }
    return out.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  }

  /**
   * Newest value of every point of a device, or undefined for a device never seen. Keyed by point
   * names, which are user data: a null-prototype object, so that `__proto__` or `toString` is a
   * point like any other.
   */
  device(device: string): Record<string, LatestValue> | undefined {
    const points = this.points.devices.get(device);
    if (!points) return undefined;
    const names = [...points.keys()].filter((name) => points.get(name)!.seq !== 0).sort();
    if (names.length === 0) return undefined;
    const out: Record<string, LatestValue> = Object.create(null);
    for (const name of names) {
      const p = points.get(name)!;
      out[name] = { value: JSON.parse(p.value), quality: p.quality, ts: p.ts, seq: p.seq };
    }
    return out;
  }

  /** Readings of one point in [from, to], oldest first; without `from`, the newest `limit` up to `to`. */
  history(q: HistoryQuery): LatestValue[] {
    const id = this.points.find(q.device, q.point)?.id;
    if (id === undefined || q.limit <= 0) return [];
    const to = q.to ?? Number.MAX_SAFE_INTEGER;
    const asc = q.from !== undefined;
    const from = q.from ?? Number.MIN_SAFE_INTEGER;
    const before = asc ? byTime : (a: LatestRow, b: LatestRow) => byTime(b, a);
    // The open generations first, then full ones in time order (by their first reading ascending,
    // by their last descending), until no further generation can hold one of the first `limit`.
    let rows = ((asc ? this.tailAsc : this.tailDesc).all(this.unindexedFrom(), id, from, to, q.limit) as LatestRow[]);
    const gens = (asc ? this.gensAsc : this.gensDesc).all(from, to) as Array<[number, number]>;
    const one = asc ? this.genAsc : this.genDesc;
    for (let i = 0; i < gens.length; i += GENS_PER_STATEMENT) {
      if (rows.length >= q.limit) {
        const last = rows[q.limit - 1].ts;
        const edge = gens[i][1];
        if (asc ? edge > last : edge < last) break;
      }
      const batch = JSON.stringify(gens.slice(i, i + GENS_PER_STATEMENT).map(([gen]) => gen));
      const found = one.all(batch, id, from, to, q.limit) as LatestRow[];
      if (found.length === 0) continue;
      rows = rows.concat(found).sort(before);
      if (rows.length > q.limit) rows.length = q.limit;
    }
    rows.sort(before);
    if (rows.length > q.limit) rows.length = q.limit;
    if (!asc) rows.reverse();
    return rows.map((r) => ({ value: JSON.parse(r.value), quality: r.quality, ts: r.ts, seq: r.seq }));
  }
}

/** Generations read by one statement: few enough that a `limit` stops early, many enough that JS is not per generation. */
const GENS_PER_STATEMENT = 256;

function byTime(a: LatestRow, b: LatestRow): number {
  return a.ts - b.ts || a.seq - b.seq;
}

/** A committed reading becomes its point's latest unless a newer one is. */
export function setLatest(e: PointEntry, value: string, quality: string, ts: number, seq: number): boolean {
  if (e.seq >= seq) return false;
  e.value = value;
  e.quality = quality;
  e.ts = ts;
  e.seq = seq;
  return true;
}

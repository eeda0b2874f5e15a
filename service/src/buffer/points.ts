import type { Database, Statement } from 'better-sqlite3';

/**
 * One point of the dictionary: its integer id and its newest committed reading (the data API's
 * latest value), kept on the entry so a commit updates it without another lookup.
 */
export interface PointEntry {
  readonly id: number;
  /** JSON text; '' while the point has no committed reading yet. */
  value: string;
  quality: string;
  ts: number;
  seq: number;
  /** Changed since `latest` was last written to the file. */
  dirty: boolean;
}

/**
 * The point dictionary: (device, point) -> an integer id, so a reading stores a small integer
 * instead of its names. Kept whole in memory (device, then point: no key string built per reading);
 * a new point is inserted inside the committing transaction.
 */
export class PointDictionary {
  readonly devices = new Map<string, Map<string, PointEntry>>();
  private readonly insert: Statement;
  private nextId: number;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO points (id, device, point) VALUES (?, ?, ?)');
    let max = 0;
    for (const [id, device, point] of db.prepare('SELECT id, device, point FROM points').raw().all() as Array<[number, string, string]>) {
      this.add(device, point, id);
      if (id > max) max = id;
    }
    this.nextId = max + 1;
  }

  find(device: string, point: string): PointEntry | undefined {
    return this.devices.get(device)?.get(point);
  }

  /**
   * The entry of a point, inserting it when new; inside a transaction. New entries are pushed on
   * `added`, so that a rollback can forget them.
   */
  entry(device: string, point: string, added: Array<[string, string]>): PointEntry {
    const found = this.devices.get(device)?.get(point);
    if (found) return found;
    const id = this.nextId++;
    this.insert.run(id, device, point);
    added.push([device, point]);
    return this.add(device, point, id);
  }

  /** The transaction that inserted `added` rolled back. */
  forget(added: Array<[string, string]>): void {
    if (added.length === 0) return;
    for (const [device, point] of added) {
      const points = this.devices.get(device)!;
      points.delete(point);
      if (points.size === 0) this.devices.delete(device);
    }
    let max = 0;
    for (const points of this.devices.values()) for (const e of points.values()) if (e.id > max) max = e.id;
    this.nextId = max + 1;
  }

  private add(device: string, point: string, id: number): PointEntry {
    let points = this.devices.get(device);
    if (!points) { points = new Map(); this.devices.set(device, points); }
    const e: PointEntry = { id, value: '', quality: '', ts: 0, seq: 0, dirty: false };
    points.set(point, e);
    return e;
  }
}

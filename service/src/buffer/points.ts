import type { Database, Statement } from 'better-sqlite3';

/**
 * The point dictionary: (device, point) -> an integer id, so a reading stores 8 bytes of key
 * instead of its names. Kept whole in memory (every point is known since the file was made);
 * a new point is inserted inside the committing transaction.
 */
export class PointDictionary {
  private readonly ids = new Map<string, number>();
  private readonly insert: Statement;
  private nextId: number;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO points (id, device, point) VALUES (?, ?, ?)');
    let max = 0;
    for (const [id, device, point] of db.prepare('SELECT id, device, point FROM points').raw().all() as Array<[number, string, string]>) {
      this.ids.set(key(device, point), id);
      if (id > max) max = id;
    }
    this.nextId = max + 1;
  }

  /** The id of a known point, or undefined. */
  find(device: string, point: string): number | undefined {
    return this.ids.get(key(device, point));
  }

  /**
   * The id of a point, inserting it when new; inside a transaction. `added` collects new keys so
   * a rollback can forget them.
   */
  idOf(device: string, point: string, added: string[]): number {
    const k = key(device, point);
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.nextId++;
      this.insert.run(id, device, point);
      this.ids.set(k, id);
      added.push(k);
    }
    return id;
  }

  /** The transaction that inserted `added` rolled back. */
  forget(added: string[]): void {
    for (const k of added) this.ids.delete(k);
    let max = 0;
    for (const id of this.ids.values()) if (id > max) max = id;
    this.nextId = max + 1;
  }
}

// Names never hold a NUL (nameProblem refuses control characters), so the pair is unambiguous.
function key(device: string, point: string): string {
  return `${device}\u0000${point}`;
}

/**
 * Group commit: everything handed to the buffer is queued and written in one transaction.
 * Readings wait for `flushRows` queued or `flushIntervalMs` after the first one, whichever is
 * first: one transaction per batch instead of per reading is what makes SQLite fast on a small box.
 * Durable commits (documents and state a plugin acknowledges a sender with) are written on the
 * next turn of the event loop, without a timer: their sender is waiting. Every commit that arrived
 * in the same turn (several plugins, several sessions) shares that one transaction and its sync.
 *
 * When the disk refuses a commit, queued readings stay in memory (at most `maxQueued`, oldest
 * dropped and counted beyond it) and the commit is retried every `retryMs`; durable commits are
 * rejected at once so their caller can answer its sender with a negative ACK.
 *
 * Acknowledged readings (a sender waits for the answer: HTTP ingest) are all or nothing: committed
 * when their promise resolves, dropped from memory when it rejects, so a refusal the sender heard
 * ("not stored") stays true and its retry is not stored twice. While the disk refuses, they (and
 * durable commits) are tried on the next turn without the readings waiting in memory, so the first
 * request after space came back is answered 2xx, and a retry of a big backlog is not paid per request.
 */

export interface QueuedReading {
  device: string;
  point: string;
  /** JSON text of the value. */
  value: string;
  quality: string;
  ts: number;
}

/** One plugin's documents and state writes: stored together or not at all. */
export interface QueuedCommit {
  plugin: string;
  /**
   * The batch, `{"documents"?: [{type, body, meta?}], "state"?: [[key, value]]}`, checked already:
   * JSON text or SQLite's JSONB. SQLite reads it itself: no JS object per document on the commit path.
   */
  json: string | Buffer;
  /** Its state writes as [key, value] pairs, when known; pendingState reads `json` otherwise. */
  states?: Array<[string, string]>;
  /** The stored documents' ids, in order. */
  resolve(ids: number[]): void;
  reject(err: Error): void;
}

export interface Batch {
  readings: QueuedReading[];
  commits: QueuedCommit[];
}

export interface WriterOptions {
  flushRows: number;
  flushIntervalMs: number;
  maxQueued: number;
  retryMs: number;
  /** Writes the batch in one transaction and returns each commit's document ids; throws when it cannot. */
  commit(batch: Batch): number[][];
  /** The state writes of a JSONB batch (pendingState, rarely). */
  statesOf(jsonb: Buffer): Array<[string, string]>;
  /** Called after each commit attempt: null when it succeeded; `refusedAcked` acknowledged readings were refused. */
  onCommitResult(err: Error | null, batch: Batch, refusedAcked?: number): void;
  /** Readings dropped from memory because the disk refused them for too long. */
  onQueueOverflow(count: number): void;
}

interface Waiter {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

export class GroupWriter {
  private readings: QueuedReading[] = [];
  private commits: QueuedCommit[] = [];
  /** Settles when the readings queued so far are committed; shared by every emit of the batch. */
  private waiter: Waiter | null = null;
  /** Acknowledged readings: never kept after a refused commit. */
  private acked: QueuedReading[] = [];
  private ackedWaiter: Waiter | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = 0;
  /** The next turn's flush, once a durable commit is queued. */
  private immediate: NodeJS.Immediate | null = null;
  private failing = false;
  private closed = false;

  constructor(private readonly options: WriterOptions) {}

  get queued(): number {
    return this.readings.length + this.acked.length;
  }

  /**
   * Queues readings whose sender waits: the promise resolves once they are committed, or rejects
   * and they are forgotten (nothing of them will be stored).
   */
  addAcknowledged(rows: QueuedReading[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the buffer is closed'));
    for (const row of rows) this.acked.push(row);
    if (!this.ackedWaiter) this.ackedWaiter = newWaiter();
    const { promise } = this.ackedWaiter;
    if (this.failing) this.soon();
    else if (this.readings.length + this.acked.length >= this.options.flushRows) this.flush();
    else this.schedule(this.options.flushIntervalMs);
    return promise;
  }

  /** Queues readings; the promise settles with the commit that holds them. */
  addReadings(rows: QueuedReading[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the buffer is closed'));
    for (const row of rows) this.readings.push(row);
    const waiter = this.currentWaiter();
    if (this.readings.length > this.options.maxQueued) {
      const excess = this.readings.length - this.options.maxQueued;
      this.readings.splice(0, excess);
      this.options.onQueueOverflow(excess);
    }
    if (this.readings.length >= this.options.flushRows && !this.failing) this.flush();
    else this.schedule(this.failing ? this.options.retryMs : this.options.flushIntervalMs);
    return waiter.promise;
  }

  /** Queues a durable commit; it is written on the next turn, with whatever else arrived by then. */
  addCommit(commit: Omit<QueuedCommit, 'resolve' | 'reject'>): Promise<number[]> {
    if (this.closed) return Promise.reject(new Error('the buffer is closed'));
    return new Promise((resolve, reject) => {
      this.commits.push({ plugin: commit.plugin, json: commit.json, states: commit.states, resolve, reject });
      this.soon();
    });
  }

  /** A flush on the next turn; while the disk refuses, without the readings waiting in memory. */
  private soon(): void {
    if (!this.immediate) this.immediate = setImmediate(() => { this.immediate = null; this.flush(!this.failing); });
  }

  /** The newest queued (not yet committed) value of a state key, so a reader sees its own writes. */
  pendingState(plugin: string, key: string): string | undefined {
    for (let i = this.commits.length - 1; i >= 0; i--) {
      const c = this.commits[i];
      if (c.plugin !== plugin) continue;
      c.states ??= typeof c.json === 'string' ? (JSON.parse(c.json) as { state?: Array<[string, string]> }).state ?? [] : this.options.statesOf(c.json);
      for (let j = c.states.length - 1; j >= 0; j--) if (c.states[j][0] === key) return c.states[j][1];
    }
    return undefined;
  }

  /** Asks for a commit soon even with nothing queued (cursor moves ride along with it). */
  touch(): void {
    this.schedule(this.options.flushIntervalMs);
  }

  /**
   * Commits what is queued now. Returns false when the disk refused it. `withWaiting` false leaves
   * the fire-and-forget readings queued (a quick try while the disk refuses).
   */
  flush(withWaiting = true): boolean {
    if (withWaiting && this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.immediate) { clearImmediate(this.immediate); this.immediate = null; }
    const waiting = withWaiting ? this.readings : [];
    const acked = this.acked;
    const batch: Batch = { readings: acked.length === 0 ? waiting : waiting.length === 0 ? acked : waiting.concat(acked), commits: this.commits };
    const waiter = withWaiting ? this.waiter : null;
    const ackedWaiter = this.ackedWaiter;
    if (withWaiting) { this.readings = []; this.waiter = null; }
    this.acked = []; this.ackedWaiter = null; this.commits = [];
    try {
      const ids = this.options.commit(batch);
      this.failing = false;
      this.options.onCommitResult(null, batch);
      batch.commits.forEach((c, i) => c.resolve(ids[i]));
      waiter?.resolve();
      ackedWaiter?.resolve();
      if (this.readings.length > 0) this.schedule(this.options.flushIntervalMs); // left queued by a quick try
      return true;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.failing = true;
      this.options.onCommitResult(err, batch, acked.length);
      // Readings wait in memory for the disk to come back; the caller was told it is not committed.
      // Acknowledged ones are gone: their sender was told so.
      if (waiting.length > 0) this.readings = waiting.concat(this.readings);
      for (const c of batch.commits) c.reject(err);
      waiter?.reject(err);
      ackedWaiter?.reject(err);
      if (!this.closed && this.readings.length > 0) this.schedule(this.options.retryMs);
      return false;
    }
  }

  /** Final flush; afterwards every add is refused. */
  close(): boolean {
    const ok = this.flush();
    this.closed = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.immediate) { clearImmediate(this.immediate); this.immediate = null; }
    return ok;
  }

  private currentWaiter(): Waiter {
    if (!this.waiter) this.waiter = newWaiter();
    return this.waiter;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    const due = Date.now() + delayMs;
    if (this.timer) {
      if (due >= this.timerDue) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => { this.timer = null; this.flush(); }, delayMs);
    this.timer.unref?.();
  }
}

function newWaiter(): Waiter {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  // A poller may ignore the promise: a failed commit must not become an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

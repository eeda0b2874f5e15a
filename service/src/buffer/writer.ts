/**
 * Group commit: everything handed to the buffer is queued and written in one transaction when
 * `flushRows` readings are waiting or `flushIntervalMs` after the first one, whichever is first.
 * One transaction per batch instead of per reading is what makes SQLite fast on a small box.
 *
 * When the disk refuses a commit, queued readings stay in memory (at most `maxQueued`, oldest
 * dropped and counted beyond it) and the commit is retried every `retryMs`; documents and state
 * writes are rejected at once so their caller can answer its sender with a negative ACK.
 */

export interface QueuedReading {
  device: string;
  point: string;
  /** JSON text of the value. */
  value: string;
  quality: string;
  ts: number;
}

export interface QueuedDocument {
  plugin: string;
  type: string;
  body: string;
  meta: string | null;
  resolve(result: { id: number }): void;
  reject(err: Error): void;
}

export interface QueuedState {
  plugin: string;
  key: string;
  value: string;
  resolve(): void;
  reject(err: Error): void;
}

export interface Batch {
  readings: QueuedReading[];
  documents: QueuedDocument[];
  states: QueuedState[];
}

export interface WriterOptions {
  flushRows: number;
  flushIntervalMs: number;
  maxQueued: number;
  retryMs: number;
  /** Writes the batch in one transaction and returns the document ids, in order; throws when it cannot. */
  commit(batch: Batch): number[];
  /** Called after each commit attempt: null when it succeeded. */
  onCommitResult(err: Error | null, batch: Batch): void;
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
  private documents: QueuedDocument[] = [];
  private states: QueuedState[] = [];
  /** Settles when the readings queued so far are committed; shared by every emit of the batch. */
  private waiter: Waiter | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = 0;
  private failing = false;
  private closed = false;

  constructor(private readonly options: WriterOptions) {}

  get queued(): number {
    return this.readings.length;
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

  addDocument(doc: Omit<QueuedDocument, 'resolve' | 'reject'>): Promise<{ id: number }> {
    if (this.closed) return Promise.reject(new Error('the buffer is closed'));
    return new Promise((resolve, reject) => {
      this.documents.push({ ...doc, resolve, reject });
      this.schedule(0);
    });
  }

  addState(state: Omit<QueuedState, 'resolve' | 'reject'>): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the buffer is closed'));
    return new Promise((resolve, reject) => {
      this.states.push({ ...state, resolve, reject });
      this.schedule(0);
    });
  }

  /** The newest queued (not yet committed) value of a state key, so a reader sees its own writes. */
  pendingState(plugin: string, key: string): string | undefined {
    for (let i = this.states.length - 1; i >= 0; i--) {
      const s = this.states[i];
      if (s.plugin === plugin && s.key === key) return s.value;
    }
    return undefined;
  }

  /** Asks for a commit soon even with nothing queued (cursor moves ride along with it). */
  touch(): void {
    this.schedule(this.options.flushIntervalMs);
  }

  /** Commits everything queued now. Returns false when the disk refused it. */
  flush(): boolean {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const batch: Batch = { readings: this.readings, documents: this.documents, states: this.states };
    const waiter = this.waiter;
    this.readings = []; this.documents = []; this.states = []; this.waiter = null;
    try {
      const ids = this.options.commit(batch);
      this.failing = false;
      this.options.onCommitResult(null, batch);
      batch.documents.forEach((d, i) => d.resolve({ id: ids[i] }));
      for (const s of batch.states) s.resolve();
      waiter?.resolve();
      return true;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.failing = true;
      this.options.onCommitResult(err, batch);
      // Readings wait in memory for the disk to come back; the caller was told it is not committed.
      this.readings = batch.readings.concat(this.readings);
      for (const d of batch.documents) d.reject(err);
      for (const s of batch.states) s.reject(err);
      waiter?.reject(err);
      if (!this.closed && this.readings.length > 0) this.schedule(this.options.retryMs);
      return false;
    }
  }

  /** Final flush; afterwards every add is refused. */
  close(): boolean {
    const ok = this.flush();
    this.closed = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    return ok;
  }

  private currentWaiter(): Waiter {
    if (!this.waiter) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
      // A poller may ignore the promise: a failed commit must not become an unhandled rejection.
      promise.catch(() => {});
      this.waiter = { promise, resolve, reject };
    }
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

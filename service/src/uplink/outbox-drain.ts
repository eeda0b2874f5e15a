import type { DataBuffer } from '../buffer/buffer.js';

/** Where the drain sends a message; `done` runs on PUBACK (or with the reason it was refused). */
export interface Publisher {
  readonly connected: boolean;
  /** Messages the remote end accepts unacknowledged at once (MQTT 5 receive maximum). */
  readonly receiveMaximum: number;
  /** Returns the MQTT packet id, so the message can be discarded when the connection is lost. */
  publish(device: string, payload: string, done: (err?: Error) => void): number | undefined;
  /** Forgets messages still awaiting PUBACK; their `done` may still run and is ignored. */
  discard(ids: number[]): void;
}

export interface DrainOptions {
  uplink: string;
  batchSize: number;
  maxInflight: number;
  /** Wait before resending after the remote end refused a message. */
  retryMs?: number;
  onPublished?(readings: number): void;
  onError?(err: Error): void;
}

interface InflightBatch {
  lastSeq: number;
  remaining: number;
  failed: boolean;
  ids: number[];
}

/**
 * Drains one uplink's outbox in seq order: reads committed readings after what was sent, publishes
 * one message per device per batch, and moves the uplink's cursor only over batches whose every
 * message was acknowledged, in order. Whatever was in flight when the process died is sent again
 * after restart (duplicates carry the same seq).
 */
export class OutboxDrain {
  private sentSeq: number;
  private ackedSeq: number;
  private readonly inflight: InflightBatch[] = [];
  private inflightMessages = 0;
  private rewinding = false;
  /** Bumped when the connection is lost: acknowledgements of an older connection are ignored. */
  private generation = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(private readonly buffer: DataBuffer, private readonly publisher: Publisher, private readonly options: DrainOptions) {
    this.ackedSeq = buffer.openOutbox(options.uplink);
    this.sentSeq = this.ackedSeq;
    this.unsubscribe = buffer.onCommitted(() => this.pump());
  }

  /** The last seq the remote end acknowledged. */
  get acked(): number {
    return this.ackedSeq;
  }

  get inflightCount(): number {
    return this.inflightMessages;
  }

  /** Sends as much as the window allows; called on connect, after each commit and each PUBACK. */
  pump(): void {
    if (this.stopped || this.rewinding || !this.publisher.connected) return;
    const window = Math.max(1, Math.min(this.options.maxInflight, this.publisher.receiveMaximum));
    while (this.inflightMessages < window && this.publisher.connected) {
      const next = this.buffer.outboxBatch(this.sentSeq, this.options.batchSize);
      if (!next) return;
      const { messages } = next;
      const batch: InflightBatch = { lastSeq: next.lastSeq, remaining: messages.length, failed: false, ids: [] };
      this.inflight.push(batch);
      this.sentSeq = batch.lastSeq;
      const generation = this.generation;
      for (const message of messages) {
        this.inflightMessages++;
        const id = this.publisher.publish(message.device, message.payload, (err) => {
          if (generation === this.generation) this.settle(batch, message.count, err);
        });
        if (id !== undefined) batch.ids.push(id);
      }
    }
  }

  /**
   * The connection is gone: whatever was not acknowledged is sent again from the cursor on the next
   * connection (the fleet may see those seqs twice). Resending ourselves, rather than trusting the
   * client library's replay, keeps the order and the cursor in one place.
   */
  reset(): void {
    this.generation++;
    this.publisher.discard(this.inflight.flatMap((b) => b.ids));
    this.inflight.length = 0;
    this.inflightMessages = 0;
    this.sentSeq = this.ackedSeq;
    this.rewinding = false;
    if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null; }
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private settle(batch: InflightBatch, count: number, err: Error | undefined): void {
    this.inflightMessages--;
    if (err) {
      // Refused or flushed: nothing after the last acknowledged batch counts as sent any more.
      batch.failed = true;
      this.rewinding = true;
      this.options.onError?.(err);
    } else {
      batch.remaining--;
      this.options.onPublished?.(count);
    }
    while (this.inflight.length > 0 && this.inflight[0].remaining === 0 && !this.inflight[0].failed) {
      this.ackedSeq = this.inflight.shift()!.lastSeq;
      this.buffer.ack(this.options.uplink, this.ackedSeq);
    }
    if (this.rewinding) {
      if (this.inflightMessages > 0) return;
      this.inflight.length = 0;
      this.sentSeq = this.ackedSeq;
      if (this.stopped) return;
      const generation = this.generation;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (generation !== this.generation) return;
        this.rewinding = false;
        this.pump();
      }, this.options.retryMs ?? 1000);
      return;
    }
    this.pump();
  }
}

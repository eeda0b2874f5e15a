import { Counter, Gauge, type Registry } from 'prom-client';
import type { DataBuffer } from './buffer.js';
import type { DiskState } from './disk-state.js';

const DISK_STATES: DiskState[] = ['ok', 'full', 'read-only', 'error'];

/** The buffer's Prometheus metrics on the gateway's registry; gauges are read at scrape time. */
export function registerBufferMetrics(registry: Registry, buffer: DataBuffer): void {
  const ingested = new Counter({
    name: 'backworks_buffer_readings_committed_total',
    help: 'Readings committed to the buffer',
    registers: [registry],
  });
  buffer.onCommitted((count) => ingested.inc(count));

  const dropped = new Counter({
    name: 'backworks_buffer_dropped_total',
    help: 'Readings and documents dropped by the limits: max_bytes, max_age, or queue_full while the disk refused writes',
    labelNames: ['kind', 'reason'] as const,
    registers: [registry],
  });
  // Start from the persisted counts so /metrics and /health agree across restarts.
  const persisted = buffer.drops();
  for (const kind of ['readings', 'documents'] as const) {
    for (const [reason, n] of Object.entries(persisted[kind])) dropped.labels(kind, reason).inc(n);
  }
  buffer.dropListener = (kind, reason, n) => dropped.labels(kind, reason).inc(n);

  new Gauge({
    name: 'backworks_audit_rows_unwritten',
    help: 'Audit rows the disk refused since the start (each is in the journal instead)',
    registers: [registry],
    collect() { this.set(buffer.audit.unwritten); },
  });
  new Gauge({
    name: 'backworks_buffer_rows',
    help: 'Readings held in the buffer',
    registers: [registry],
    collect() { this.set(buffer.rowCount); },
  });
  new Gauge({
    name: 'backworks_buffer_bytes',
    help: 'Bytes of the buffer file in use',
    registers: [registry],
    collect() { this.set(buffer.usedBytes()); },
  });
  new Gauge({
    name: 'backworks_buffer_queued',
    help: 'Readings waiting in memory for the next commit',
    registers: [registry],
    collect() { this.set(buffer.writer.queued); },
  });
  new Gauge({
    name: 'backworks_buffer_outbox_pending',
    help: 'Readings not yet acknowledged by each uplink',
    labelNames: ['uplink'] as const,
    registers: [registry],
    collect() {
      for (const [uplink, n] of Object.entries(buffer.pending())) this.labels(uplink).set(n);
    },
  });
  new Gauge({
    name: 'backworks_buffer_documents',
    help: 'Documents held in the buffer, by plugin, type and status (e.g. hl7v2 received, not_mapped, refused, conflict, fhir_sent)',
    labelNames: ['plugin', 'type', 'status'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of buffer.documentCounts()) this.labels(c.plugin, c.type, c.status).set(c.n);
    },
  });
  new Gauge({
    name: 'backworks_buffer_disk_state',
    help: '1 for the current state of the disk under the buffer (ok, full, read-only, error)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      for (const state of DISK_STATES) this.labels(state).set(buffer.disk === state ? 1 : 0);
    },
  });
}

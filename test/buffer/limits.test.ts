import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { registerBufferMetrics } from '../../service/src/buffer/metrics.js';
import { committedSeqs, openBuffer, readings, tempDir } from './helpers.js';

const dirs: string[] = [];
const dir = () => { const d = tempDir(); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

function metricValue(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found ? Number(found.split(' ').pop()) : NaN;
}

describe('buffer limits', () => {
  it('drops the oldest readings beyond max_bytes and counts every drop in health and metrics', async () => {
    const file = path.join(dir(), 'b.db');
    const maxBytes = 512 * 1024;
    const buffer = openBuffer(file, { maxBytes, flushRows: 1000 });
    const registry = new Registry();
    registerBufferMetrics(registry, buffer);
    buffer.openOutbox('fleet');

    const total = 40_000;
    for (let i = 0; i < total; i += 1000) {
      await buffer.emit('sim', readings('line1', 1000, i).map((r) => ({ ...r, point: `p${i % 7}` })));
      buffer.maintain();
    }
    expect(buffer.usedBytes()).toBeLessThanOrEqual(maxBytes);
    expect(fs.statSync(file).size).toBeLessThanOrEqual(maxBytes + 64 * 1024);

    const seqs = committedSeqs(file);
    const dropped = total - seqs.length;
    expect(dropped).toBeGreaterThan(0);
    // What is left is the newest, with no hole: the oldest went first.
    expect(seqs[seqs.length - 1]).toBe(total);
    expect(seqs[0]).toBe(dropped + 1);

    const health = buffer.health();
    expect(health.dropped.readings.max_bytes).toBe(dropped);
    expect(health.dropped.total).toBe(dropped);
    expect(health.rows).toBe(seqs.length);
    expect(health.pending.fleet).toBe(seqs.length);
    const text = await registry.metrics();
    expect(metricValue(text, 'backworks_buffer_dropped_total{kind="readings",reason="max_bytes"}')).toBe(dropped);
    expect(metricValue(text, 'backworks_buffer_rows')).toBe(seqs.length);
    expect(metricValue(text, 'backworks_buffer_outbox_pending{uplink="fleet"}')).toBe(seqs.length);
    expect(metricValue(text, 'backworks_buffer_readings_committed_total')).toBe(total);
    buffer.close();

    // Drop counts are data too: they survive a restart.
    const again = openBuffer(file, { maxBytes });
    expect(again.drops().readings.max_bytes).toBe(dropped);
    again.close();
  });

  it('keeps pending per uplink exact through commits, acknowledgements and drops', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file, { maxBytes: 256 * 1024, flushRows: 300 });
    buffer.openOutbox('fast');
    buffer.openOutbox('slow');
    const truth = (cursor: number) => committedSeqs(file).filter((s) => s > cursor).length;
    let fast = 0;
    let slow = 0;
    for (let round = 0; round < 40; round++) {
      await buffer.emit('sim', readings('d', 300, round * 300));
      buffer.maintain();
      const seqs = committedSeqs(file);
      fast = seqs[seqs.length - 1 - (round % 3) * 50];
      buffer.ack('fast', fast);
      if (round % 10 === 9) { slow = seqs[Math.floor(seqs.length / 2)]; buffer.ack('slow', slow); }
      expect(buffer.pending()).toEqual({ fast: truth(fast), slow: truth(slow) });
    }
    expect(buffer.drops().readings.max_bytes).toBeGreaterThan(0);
    buffer.close();
    const again = openBuffer(file, { maxBytes: 256 * 1024 });
    expect(again.pending()).toEqual({ fast: truth(fast), slow: truth(slow) });
    again.close();
  });

  it('drops readings older than max_age, oldest first, and counts them', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file, { maxAgeMs: 60_000 });
    const now = Date.now();
    await buffer.emit('sim', [
      { device: 'd', point: 'p', value: 1, ts: now - 120_000 },
      { device: 'd', point: 'p', value: 2, ts: now - 90_000 },
      { device: 'd', point: 'p', value: 3, ts: now - 1_000 },
    ]);
    buffer.maintain(now);
    expect(committedSeqs(file)).toEqual([3]);
    expect(buffer.drops().readings.max_age).toBe(2);
    expect(buffer.health().dropped.total).toBe(2);
    buffer.close();
  });

  it('drops documents older than max_age, oldest id first, and counts them', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file, { maxAgeMs: 60_000 });
    const first = await buffer.commit('hl7', { documents: [{ type: 'hl7', body: 'a' }, { type: 'hl7', body: 'b' }] });
    await new Promise((r) => setTimeout(r, 20));
    const [last] = await buffer.commit('hl7', { documents: [{ type: 'hl7', body: 'c' }] });
    const ages = (await buffer.queryPluginDocuments('hl7', { status: 'received' })).map((d) => d.received_at);
    buffer.maintain(Date.now()); // nothing is 60 s old yet
    expect(buffer.drops().documents.max_age).toBe(0);
    // A minute after the first two were received, before the third was.
    expect(ages[2]).toBeGreaterThan(ages[1]);
    buffer.maintain(ages[1] + 60_001);
    expect((await buffer.queryPluginDocuments('hl7', { status: 'received' })).map((d) => d.id)).toEqual([last]);
    expect(buffer.drops().documents.max_age).toBe(first.length);
    buffer.close();
  });

  it('caps the readings waiting in memory at max_queued, dropping (and counting) the oldest', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file, { maxQueued: 50, flushRows: 1_000_000, flushIntervalMs: 1_000_000 });
    expect(buffer.writer.queued).toBe(0);
    void buffer.emit('sim', readings('d', 80));
    expect(buffer.writer.queued).toBe(50);
    expect(buffer.drops().readings.queue_full).toBe(30);
    buffer.writer.flush();
    buffer.close();
    expect(committedSeqs(file)).toHaveLength(50);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../helpers/service.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { checkDelivery, fleetServiceYaml, subscriber } from './helpers.js';

/**
 * The real service (`backworks run`, compiled) with the simulator producing a few thousand readings
 * a second, killed with SIGKILL and started again, against a real Mosquitto.
 */
let broker: Broker;
beforeAll(async () => { broker = await startMosquitto({ persistence: true }); });
afterAll(async () => { await broker.close(); });

function writeConfig(dir: string, id: string): string {
  const file = path.join(dir, 'backworks.yaml');
  const points = ['a', 'b', 'c'].map((name) => `            - {name: ${name}, signal: counter, interval: 1ms}`).join('\n');
  fs.writeFileSync(file, `${fleetServiceYaml(broker.url, id, '100ms')}
plugins:
  sim:
    type: builtin
    pack: manufacturing/simulator
    config:
      devices:
        - name: press
          points:
${points}
        - name: oven
          points:
${points}
`);
  return file;
}

function committed(file: string): { seqs: number[]; cursor: number } {
  const db = new Database(file, { readonly: true });
  try {
    const seqs = db.prepare('SELECT seq FROM readings ORDER BY seq').pluck().all() as number[];
    const cursor = (db.prepare("SELECT acked_seq FROM outbox_cursors WHERE uplink = 'fleet'").pluck().get() as number | undefined) ?? 0;
    return { seqs, cursor };
  } finally {
    db.close();
  }
}

describe('the service killed under load', () => {
  it('says offline through its last will, and after a restart delivers every committed reading', async () => {
    const dir = tempDir('bw-kill-');
    const config = writeConfig(dir, 'gw-kill');
    const dbFile = path.join(dir, 'state', 'buffer.db');
    const sub = await subscriber(broker.url, 'backworks/plant/gw-kill/#');
    const statuses = () => sub.messages.filter((m) => m.topic === 'backworks/plant/gw-kill/status').map((m) => JSON.parse(m.payload) as { state: string; version: string });
    let service: RunningService | undefined;
    try {
      service = await startService(config);
      await waitFor('status online', () => statuses().some((s) => s.state === 'online'), { timeoutMs: 20_000 });
      await waitFor('readings flowing', () => sub.readings.length > 3000, { timeoutMs: 20_000 });
      await waitFor('a health message', () => sub.messages.some((m) => m.topic === 'backworks/plant/gw-kill/health'), { timeoutMs: 20_000 });
      const health = JSON.parse(sub.messages.find((m) => m.topic === 'backworks/plant/gw-kill/health')!.payload);
      expect(health).toMatchObject({
        plugins: { sim: { status: 'healthy' } },
        buffer: { disk: 'ok', pending: { fleet: expect.any(Number) }, dropped: { total: 0 } },
        process: { rss_bytes: expect.any(Number), cpu_percent: expect.any(Number) },
        versions: { backworks: expect.any(String), node: process.versions.node, sqlite: expect.stringMatching(/^3\./) },
        uptime_s: expect.any(Number),
      });

      await service.stop('SIGKILL');
      const atKill = committed(dbFile);
      await waitFor('the last will (status offline)', () => statuses().at(-1)?.state === 'offline', { timeoutMs: 20_000 });
      expect(statuses().at(-1)).toMatchObject({ state: 'offline', version: expect.any(String) });
      const receivedBeforeRestart = sub.readings.length;
      expect(atKill.seqs.length).toBeGreaterThan(receivedBeforeRestart / 2);

      service = await startService(config);
      await waitFor('status online again', () => statuses().at(-1)?.state === 'online', { timeoutMs: 20_000 });
      const want = new Set(atKill.seqs);
      await waitFor('every reading committed before the kill', () => { for (const r of sub.readings) want.delete(r.seq); return want.size === 0; }, { timeoutMs: 30_000 });
      await service.stop('SIGTERM');
      service = undefined;

      const result = checkDelivery(sub.readings, atKill.seqs);
      expect(result.missing).toEqual([]);
      expect(result.outOfOrder).toBe(0);
      // Duplicates only around the kill: sent but not yet recorded as acknowledged.
      const counts = new Map<number, number>();
      for (const r of sub.readings) counts.set(r.seq, (counts.get(r.seq) ?? 0) + 1);
      const duplicated = [...counts].filter(([, n]) => n > 1).map(([seq]) => seq);
      for (const seq of duplicated) {
        expect(seq).toBeGreaterThan(atKill.cursor);
        expect(seq).toBeLessThanOrEqual(atKill.seqs.at(-1)!);
      }
      // After the unclean stop, new seqs start beyond anything the killed run could have handed out.
      const after = sub.readings.filter((r) => r.seq > atKill.seqs.at(-1)!).map((r) => r.seq);
      expect(after.length).toBeGreaterThan(0);
      expect(Math.min(...after)).toBeGreaterThan(atKill.seqs.at(-1)!);
      await waitFor('status offline after the graceful stop too', () => statuses().at(-1)?.state === 'offline', { timeoutMs: 20_000 });
    } finally {
      await service?.stop('SIGKILL');
      await sub.close();
    }
  }, 90_000);
});

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toNumber } from '../../service/src/uplink/sparkplug/payload.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { registerMap, startSimServer } from '../packs/manufacturing/modbus/helpers.js';
import { fleetServiceYaml, subscriber } from './helpers.js';
import { SparkplugHost } from './sparkplug-host.js';

/**
 * The real service (`backworks run`) as a Sparkplug B 3.0 edge node against a real Mosquitto, seen
 * by a host application that decodes every message and checks the rules by their TCK ids.
 */
let broker: Broker;
beforeAll(async () => { broker = await startMosquitto(); });
afterAll(async () => { await broker.close(); });

function config(dir: string, id: string, sparkplug: string, plugins?: string, fleetExtra = ''): string {
  const file = path.join(dir, 'backworks.yaml');
  fs.writeFileSync(file, `${fleetServiceYaml(broker.url, id, '200ms')}
  sparkplug: ${sparkplug}
${fleetExtra}
plugins:
${plugins ?? `  sim:
    type: builtin
    pack: manufacturing/simulator
    config:
      devices:
        - name: press
          points:
            - {name: strokes, signal: counter, interval: 20ms}
            - {name: temperature, signal: sine, min: 20, max: 80, period: 10s, interval: 100ms}`}
`);
  return file;
}

const bdSeqOf = (m: { payload: { metrics?: Array<{ name?: string | null; value?: unknown }> | null } }) => toNumber(m.payload.metrics!.find((x) => x.name === 'bdSeq')!.value);

/** Every value of a counter point seen in DDATA must follow the one before by one: nothing lost, nothing reordered. */
function assertCounter(values: number[]): void {
  const distinct = values.filter((v, i) => i === 0 || v !== values[i - 1]);
  const gaps = distinct.slice(1).map((v, i) => [distinct[i], v]).filter(([a, b]) => b !== a + 1);
  expect(gaps, 'counter steps other than +1 (lost or reordered readings)').toEqual([]);
}

describe('Sparkplug B edge node', () => {
  it('births with bdSeq, rebirths on NCMD with the same bdSeq, dies by its will on kill -9 and counts bdSeq on across restarts', async () => {
    const dir = tempDir('bw-spb-');
    const file = config(dir, 'gw-spb', '{group_id: plant-a, edge_node_id: line-1}');
    const host = await SparkplugHost.connect(broker.url);
    let service: RunningService | undefined;
    try {
      service = await startService(file);
      await waitFor('NBIRTH', () => host.of('NBIRTH').length === 1, { timeoutMs: 20_000 });
      await waitFor('DBIRTH of press and DDATA', () => host.of('DDATA', 'press').length > 5 && host.of('DBIRTH', 'press').length >= 1, { timeoutMs: 20_000 });
      const nbirth = host.of('NBIRTH')[0];
      expect(nbirth.topic).toBe('spBv1.0/plant-a/NBIRTH/line-1');
      const first = bdSeqOf(nbirth);
      expect(first).toBe(0); // [tck-id-topics-nbirth-bdseq-increment]: starts at zero
      const names = nbirth.payload.metrics!.map((m) => m.name);
      expect(names).toEqual(expect.arrayContaining(['bdSeq', 'Node Control/Rebirth', 'Node Info/Version', 'Node Info/Health', 'Buffer/Backlog', 'Plugins/sim/State']));
      const dbirth = host.of('DBIRTH', 'press')[0];
      const strokes = dbirth.payload.metrics!.find((m) => m.name === 'strokes')!;
      expect(strokes).toMatchObject({ type: 'Double', properties: { Quality: { type: 'Int32', value: 192 } } });
      expect(strokes.alias).toBeDefined();
      expect(toNumber(strokes.timestamp)).toBeGreaterThan(0);

      // seq runs over every message of the node and wraps from 255 to 0 ([tck-id-payloads-sequence-num-incrementing]).
      await waitFor('seq wrapped past 255', () => host.messages.filter((m) => m.verb !== 'NDEATH').length > 300, { timeoutMs: 60_000 });
      expect(host.messages.some((m, i) => i > 0 && m.verb === 'DDATA' && toNumber(m.payload.seq) === 0)).toBe(true);

      await host.rebirth('plant-a', 'line-1');
      await waitFor('a rebirth', () => host.of('NBIRTH').length === 2 && host.of('DBIRTH', 'press').length >= 2, { timeoutMs: 10_000 });
      expect(bdSeqOf(host.of('NBIRTH')[1])).toBe(first);
      await waitFor('DDATA after the rebirth', () => host.messages.at(-1)!.verb === 'DDATA', { timeoutMs: 10_000 });

      const beforeKill = host.readings.length;
      await service.stop('SIGKILL');
      await waitFor('NDEATH by the will', () => host.of('NDEATH').length === 1, { timeoutMs: 20_000 });
      expect(bdSeqOf(host.of('NDEATH')[0])).toBe(first);

      service = await startService(file);
      await waitFor('NBIRTH after the restart', () => host.of('NBIRTH').length === 3, { timeoutMs: 20_000 });
      expect(bdSeqOf(host.of('NBIRTH')[2])).toBe(first + 1);
      await waitFor('DDATA again', () => host.messages.at(-1)!.verb === 'DDATA', { timeoutMs: 10_000 });
      await service.stop('SIGTERM');
      service = undefined;
      // Intentional disconnect: an NDEATH with the same bdSeq before the connection ends.
      await waitFor('NDEATH on stop', () => host.of('NDEATH').length === 2, { timeoutMs: 10_000 });
      expect(bdSeqOf(host.of('NDEATH')[1])).toBe(first + 1);

      expect(host.violations).toEqual([]);
      // The simulator's counter starts again at 0 with the new process: compare the first run only.
      assertCounter(host.readings.slice(0, beforeKill).filter((r) => r.point === 'strokes').map((r) => Number(r.value)));
    } finally {
      await service?.stop('SIGKILL');
      await host.close();
    }
  }, 120_000);

  it('waits for the primary host, stores while it is offline and replays as historical on its return: 0 lost, in order', async () => {
    const dir = tempDir('bw-spb-host-');
    const file = config(dir, 'gw-phid', '{primary_host_id: scada}');
    const host = await SparkplugHost.connect(broker.url, 'scada');
    let service: RunningService | undefined;
    try {
      service = await startService(file);
      // [tck-id-operational-behavior-edge-node-birth-sequence-wait]
      await new Promise((r) => setTimeout(r, 1500));
      expect(host.of('NBIRTH')).toEqual([]);
      await host.state('scada', true);
      await waitFor('NBIRTH once the host is online', () => host.of('NBIRTH').length === 1, { timeoutMs: 10_000 });
      await waitFor('live DDATA', () => host.of('DDATA', 'press').length > 5, { timeoutMs: 10_000 });
      expect(host.messages.find((m) => m.topic === 'spBv1.0/plant/NBIRTH/gw-phid')).toBeDefined();

      await host.state('scada', false);
      await waitFor('the node ends its session', () => host.of('NDEATH').length === 1, { timeoutMs: 10_000 });
      const offlineAt = Date.now();
      await new Promise((r) => setTimeout(r, 2000));
      const quiet = host.messages.filter((m) => m.at > offlineAt + 200 && m.verb !== 'NDEATH');
      expect(quiet, 'nothing but deaths while the primary host is offline').toEqual([]);
      const backAt = Date.now();
      await host.state('scada', true);
      await waitFor('a new birth', () => host.of('NBIRTH').length === 2, { timeoutMs: 10_000 });
      await waitFor('live data after the replay', () => host.readings.some((r) => r.point === 'strokes' && !r.historical && r.ts > backAt + 500), { timeoutMs: 20_000 });

      const stored = host.readings.filter((r) => r.historical && r.ts > offlineAt && r.ts < backAt);
      expect(stored.length, 'readings of the offline window replayed with is_historical').toBeGreaterThan(20);
      assertCounter(host.readings.filter((r) => r.point === 'strokes').map((r) => Number(r.value)));
      expect(host.violations).toEqual([]);
    } finally {
      await service?.stop('SIGKILL');
      await host.state('scada', false).catch(() => {});
      await host.close();
    }
  }, 120_000);

  it('writes a DCMD to a writable Modbus point through its plugin and answers with the next DDATA', async () => {
    const map = registerMap();
    map.holding.set(100, 1200);
    const plc = await startSimServer(map);
    const dir = tempDir('bw-spb-dcmd-');
    const file = config(dir, 'gw-dcmd', '{}', `  plc:
    type: builtin
    pack: manufacturing/modbus
    config:
      devices:
        - name: press-plc
          address: "127.0.0.1:${plc.port}"
          unit_id: 1
          interval: 100ms
          points:
            - { name: speed_setpoint, table: holding, address: 100, type: uint16, access: read_write, min: 0, max: 3000 }`);
    const host = await SparkplugHost.connect(broker.url);
    let service: RunningService | undefined;
    try {
      service = await startService(file);
      await waitFor('DBIRTH of the PLC', () => host.of('DBIRTH', 'press-plc').some((m) => m.payload.metrics!.some((x) => x.name === 'speed_setpoint' && x.value === 1200)), { timeoutMs: 20_000 });
      const alias = host.of('DBIRTH', 'press-plc').at(-1)!.payload.metrics!.find((x) => x.name === 'speed_setpoint')!.alias!;
      await host.command('plant', 'gw-dcmd', [{ alias, type: 'Double', value: 1500 }], 'press-plc');
      await waitFor('the PLC register written', () => map.holding.get(100) === 1500, { timeoutMs: 10_000 });
      await waitFor('DDATA with the new value', () => host.readings.some((r) => r.device === 'press-plc' && r.point === 'speed_setpoint' && r.value === 1500), { timeoutMs: 10_000 });
      // Out of the point's range: the plugin refuses, the register keeps its value.
      await host.command('plant', 'gw-dcmd', [{ name: 'speed_setpoint', type: 'Double', value: 99999 }], 'press-plc');
      await waitFor('the refusal in health', async () => {
        const health = await (await service!.fetch('/health')).json() as { fleet: { sparkplug: { writes_refused: number } } };
        return health.fleet.sparkplug.writes_refused === 1;
      }, { timeoutMs: 10_000 });
      expect(map.holding.get(100)).toBe(1500);

      // Reboot is off unless fleet.sparkplug.reboot: refused, and no new birth.
      const births = host.of('NBIRTH').length;
      await host.command('plant', 'gw-dcmd', [{ name: 'Node Control/Reboot', type: 'Boolean', value: true }]);
      await waitFor('the reboot refused', () => service!.logs.some((l) => String(l.msg).includes('Node Control/Reboot refused')), { timeoutMs: 10_000 });
      expect(host.of('NBIRTH').length).toBe(births);

      // The PLC stops answering: its points go bad and the node says so with a DDEATH.
      await plc.close();
      await waitFor('DDEATH of the PLC', () => host.of('DDEATH', 'press-plc').length === 1, { timeoutMs: 20_000 });
      expect(host.violations).toEqual([]);

      // The write, the refused write and the refused reboot are audit rows, like their HTTP twins.
      await service.stop('SIGTERM');
      const db = new Database(path.join(dir, 'state', 'buffer.db'), { readonly: true });
      const rows = db.prepare("SELECT route, status, outcome, who, via FROM audit WHERE route LIKE 'cmd/sparkplug/%' ORDER BY id").all();
      db.close();
      expect(rows).toEqual([
        { route: 'cmd/sparkplug/DCMD', status: 200, outcome: 'ok', who: 'fleet', via: 'mqtt' },
        { route: 'cmd/sparkplug/DCMD', status: expect.any(Number), outcome: expect.stringMatching(/failed|denied/), who: 'fleet', via: 'mqtt' },
        { route: 'cmd/sparkplug/Reboot', status: 403, outcome: 'denied', who: 'fleet', via: 'mqtt' },
      ]);
    } finally {
      await service?.stop('SIGKILL');
      await host.close();
      await plc.close();
    }
  }, 120_000);

  it('with backworks_data: false sends readings only as Sparkplug DDATA; status stays on the backworks topics', async () => {
    const dir = tempDir('bw-spb-only-');
    const file = config(dir, 'gw-only', '{}', undefined, '  backworks_data: false');
    const host = await SparkplugHost.connect(broker.url);
    const sub = await subscriber(broker.url, 'backworks/plant/gw-only/#');
    let service: RunningService | undefined;
    try {
      service = await startService(file);
      await waitFor('DDATA', () => host.of('DDATA', 'press').length > 10, { timeoutMs: 20_000 });
      await waitFor('the retained status', () => sub.messages.some((m) => m.topic === 'backworks/plant/gw-only/status'), { timeoutMs: 10_000 });
      expect(sub.messages.filter((m) => m.topic.includes('/data/'))).toEqual([]);
      expect(host.violations).toEqual([]);
    } finally {
      await service?.stop('SIGKILL');
      await sub.close();
      await host.close();
    }
  }, 60_000);
});

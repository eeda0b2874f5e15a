import { afterEach, describe, expect, it } from 'vitest';
import createOpcua from '../../../../packs/manufacturing/opcua/index.js';
import { BUILT_IN_TYPES, float32 } from '../../../../packs/manufacturing/opcua/values.js';
import { tempDir } from '../../../helpers/tmp.js';
import { collectingHost, freePort } from '../modbus/helpers.js';
import { startStandin } from './standin.js';

/**
 * The conversion table, type by type, over the wire: the stand-in server (its own process) holds
 * a scalar and an array of every built-in type the pack reports; the pack reads each by
 * subscription and by poll, and every value must come out exact.
 */

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

const iso = '2026-01-02T03:04:05.678Z';
const EXPECTED: Record<string, [scalar: unknown, array: unknown[]]> = {
  Boolean: [true, [true, false]],
  SByte: [-5, [-128, 127]],
  Byte: [200, [0, 255]],
  Int16: [-30000, [-32768, 32767]],
  UInt16: [60000, [0, 65535]],
  Int32: [-2000000000, [-2147483648, 2147483647]],
  UInt32: [4000000000, [0, 4294967295]],
  Int64: ['-5', ['-9223372036854775808', '9007199254740993']],
  UInt64: ['9007199254740993', ['0', '18446744073709551615']],
  Float: [0.1, [0.1, 2.5, -1e-7, 3.4028235e38]],
  Double: [0.1, [1.5, 2.5]],
  String: ['héllo', ['a', 'b']],
  DateTime: [iso, [iso, '2000-01-01T00:00:00.000Z']],
  Guid: ['72962B91-FA75-4AE6-8D28-B404DC7DAF63', ['72962B91-FA75-4AE6-8D28-B404DC7DAF63', '00000000-0000-0000-0000-000000000001']],
  ByteString: ['AAH/', ['aGk=', '']],
  XmlElement: ['<a>1</a>', ['<a/>', '<b/>']],
  NodeId: ['ns=1;s=Press', ['i=85', 'ns=1;i=7']],
  ExpandedNodeId: ['ns=1;s=Press', ['i=85']],
  StatusCode: ['BadNodeIdUnknown', ['Good', 'UncertainLastUsableValue']],
  QualifiedName: ['1:Q', ['A']],
  LocalizedText: ['hello', ['a', 'b']],
};

describe('manufacturing/opcua values', { timeout: 90_000 }, () => {
  it('the table covers every built-in type the pack reports', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...BUILT_IN_TYPES.values()].map((t) => t.name).sort());
  });

  it('float32: the shortest decimal that reads back to the same float', () => {
    expect([0.1, 1 / 3, 16777217, 1e-45, 3.4028234663852886e38, 2.5].map(float32)).toEqual([0.1, 0.33333334, 16777216, 1e-45, 3.4028235e38, 2.5]);
    expect([NaN, Infinity, -Infinity, 1e39].map(float32)).toEqual(['NaN', 'Infinity', '-Infinity', 'Infinity']);
    for (const x of [0.1, 1 / 3, 123.456, 1e-7, 6.02e23]) expect(Math.fround(float32(x) as number)).toBe(Math.fround(x));
  });

  it('every type, scalar and array, by subscription and by poll, exact; unknown, denied and structured nodes are bad with the reason', async () => {
    const server = await startStandin(await freePort());
    cleanups.push(() => server.signal('SIGKILL'));
    const names = Object.keys(EXPECTED);
    const points = names.flatMap((t) => [
      { name: `sub_${t}`, node: `ns=1;s=Types.${t}`, sampling_interval: '100ms' },
      { name: `poll_${t}`, node: `ns=1;s=Types.${t}`, mode: 'poll' },
      { name: `sub_${t}_array`, node: `ns=1;s=Types.${t}Array`, sampling_interval: '100ms' },
      { name: `poll_${t}_array`, node: `ns=1;s=Types.${t}Array`, mode: 'poll' },
    ]).concat([
      { name: 'matrix', node: 'ns=1;s=Types.DoubleMatrix', mode: 'poll' },
      { name: 'missing_sub', node: 'ns=1;s=Does.Not.Exist' },
      { name: 'missing_poll', node: 'ns=1;s=Does.Not.Exist', mode: 'poll' },
      { name: 'secret', node: 'ns=1;s=Press.Secret', mode: 'poll' },
      { name: 'structure', node: 'ns=1;s=Press.Structure', mode: 'poll' },
    ]);
    const host = Object.assign(collectingHost(), { stateDir: tempDir('bw-opcua-values-') });
    const plugin = createOpcua();
    await plugin.initialize({ servers: [{ name: 'rig', endpoint: server.endpoint, publishing_interval: '100ms', poll_interval: '300ms', points }] }, host);
    cleanups.push(() => plugin.shutdown!());
    await host.until(() => points.every((p) => host.last('rig', p.name)), 30_000, 'a reading of every point');

    for (const t of names) {
      const [scalar, array] = EXPECTED[t];
      for (const mode of ['sub', 'poll']) {
        expect(host.last('rig', `${mode}_${t}`), `${mode} ${t}`).toMatchObject({ value: scalar, quality: 'good' });
        const arrayReading = host.last('rig', `${mode}_${t}_array`)!;
        expect(arrayReading.quality, `${mode} ${t}[]`).toBe('good');
        expect(typeof arrayReading.value, `${mode} ${t}[] is JSON text`).toBe('string');
        expect(JSON.parse(arrayReading.value as string), `${mode} ${t}[]`).toEqual(array);
      }
    }
    expect(JSON.parse(host.last('rig', 'matrix')!.value as string)).toEqual([[1, 2, 3], [4, 5, 6]]);

    for (const p of ['missing_sub', 'missing_poll', 'secret', 'structure']) expect(host.last('rig', p), p).toMatchObject({ value: null, quality: 'bad' });
    const health = await plugin.healthCheck!();
    expect(health.status).toBe('degraded');
    const bad = (health.details as { rig: { bad: Record<string, string> } }).rig.bad;
    expect(bad).toMatchObject({ missing_sub: 'BadNodeIdUnknown', missing_poll: 'BadNodeIdUnknown' });
    expect(bad.secret).toMatch(/^Bad(UserAccessDenied|NotReadable)$/);
    expect(bad.structure).toContain('not one the pack reports');
    expect(Object.keys(bad).sort()).toEqual(['missing_poll', 'missing_sub', 'secret', 'structure']);
    expect(health.message).toContain('missing_sub BadNodeIdUnknown');

    // logged once each, though polled every 300 ms
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of ['missing_sub', 'missing_poll', 'secret', 'structure']) {
      expect(host.logs.filter((l) => l.message.includes(`point ${p} `)), p).toHaveLength(1);
    }
    expect(host.logs.find((l) => l.message.includes('point missing_poll '))!.message).toContain('BadNodeIdUnknown');
  });
});

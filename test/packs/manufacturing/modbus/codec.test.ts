import { describe, expect, it } from 'vitest';
import { decodeRegisters, encodeRegisters, registerCount, type Layout } from '../../../../packs/manufacturing/modbus/codec.js';
import type { DataType, Order } from '../../../../packs/manufacturing/modbus/config.js';
import { planReads } from '../../../../packs/manufacturing/modbus/planner.js';
import type { Point } from '../../../../packs/manufacturing/modbus/resolve.js';

const orders: Order[] = ['big', 'little'];
const samples: Array<[DataType, number | string]> = [
  ['int16', -12345], ['uint16', 54321], ['int32', -123456789], ['uint32', 4000000000],
  ['int64', -9007199254740991], ['uint64', 9007199254740991], ['float32', 1.5], ['float64', -2.718281828459045],
  ['string', 'Hi 42'],
];

describe('codec', () => {
  it('round-trips every type in every byte and word order', () => {
    for (const [type, value] of samples) {
      for (const byteOrder of orders) {
        for (const wordOrder of orders) {
          const layout: Layout = { type, byteOrder, wordOrder, length: type === 'string' ? 3 : undefined };
          const words = encodeRegisters(value, layout, 1, 0);
          expect(words.length).toBe(registerCount(layout));
          expect(decodeRegisters(words, 0, layout), `${type} ${byteOrder}/${wordOrder}`).toBe(value);
        }
      }
    }
  });

  it('lays words out as devices document them', () => {
    const f = (byteOrder: Order, wordOrder: Order) => encodeRegisters(0x11223344, { type: 'uint32', byteOrder, wordOrder }, 1, 0);
    expect(f('big', 'big')).toEqual([0x1122, 0x3344]);      // ABCD
    expect(f('big', 'little')).toEqual([0x3344, 0x1122]);   // CDAB
    expect(f('little', 'big')).toEqual([0x2211, 0x4433]);   // BADC
    expect(f('little', 'little')).toEqual([0x4433, 0x2211]); // DCBA
  });

  it('turns 64-bit integers beyond 2^53 into exact decimal text', () => {
    expect(decodeRegisters([0xffff, 0xffff, 0xffff, 0xffff], 0, { type: 'uint64', byteOrder: 'big', wordOrder: 'big' })).toBe('18446744073709551615');
  });
});

describe('planner', () => {
  const point = (name: string, address: number, count = 1, table: Point['table'] = 'holding'): Point => ({
    name, table, address, type: count === 2 ? 'uint32' : 'uint16', count, byteOrder: 'big', wordOrder: 'big',
    scale: 1, offset: 0, access: 'read', group: 'default', deadband: 0,
  });

  it('uses the fewest requests within the limit, never splitting a value', () => {
    const points = Array.from({ length: 100 }, (_, i) => point(`p${i}`, i * 2, 2)); // 200 registers of uint32
    const plan = planReads(points, { maxRegisters: 125, maxBits: 2000, maxGap: 0 });
    expect(plan.map((r) => [r.start, r.count])).toEqual([[0, 124], [124, 76]]);
  });

  it('bridges gaps up to max_gap only', () => {
    const points = [point('a', 0), point('b', 4), point('c', 10)];
    expect(planReads(points, { maxRegisters: 125, maxBits: 2000, maxGap: 3 }).map((r) => [r.start, r.count])).toEqual([[0, 5], [10, 1]]);
    expect(planReads(points, { maxRegisters: 125, maxBits: 2000, maxGap: 5 }).map((r) => [r.start, r.count])).toEqual([[0, 11]]);
  });

  it('reads overlapping points (bits of one register) once, and skips write-only points', () => {
    const bit = (name: string, b: number) => ({ ...point(name, 7), type: 'bit' as const, bit: b });
    const plan = planReads([bit('a', 0), bit('b', 1), point('w', 8), { ...point('x', 9), access: 'write' as const }], { maxRegisters: 125, maxBits: 2000, maxGap: 0 });
    expect(plan.map((r) => [r.start, r.count, r.points.map((p) => `${p.point.name}@${p.at}`).join(',')])).toEqual([[7, 2, 'a@0,b@0,w@1']]);
  });
});

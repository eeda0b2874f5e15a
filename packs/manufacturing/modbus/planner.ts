import type { Table } from './config.js';
import type { Point } from './resolve.js';

/**
 * Coalescing: the points of one poll group, sorted per table and address, merged into the fewest
 * read requests that each stay within the device's limit, bridging unused gaps of at most `maxGap`.
 * Greedy extension from the lowest address is optimal for this (interval covering with a length cap).
 */

export interface ReadRequest {
  table: Table;
  start: number;
  count: number;
  /** Each point with its position (in registers or bits) inside the response. */
  points: Array<{ point: Point; at: number }>;
}

export interface PlanLimits {
  maxRegisters: number;
  maxBits: number;
  maxGap: number;
  maxGapBits: number;
}

const TABLE_ORDER: Table[] = ['coil', 'discrete', 'input', 'holding'];

export function planReads(points: readonly Point[], limits: PlanLimits): ReadRequest[] {
  const requests: ReadRequest[] = [];
  for (const table of TABLE_ORDER) {
    const inTable = points.filter((p) => p.table === table && p.access !== 'write')
      .sort((a, b) => a.address - b.address || b.count - a.count);
    if (!inTable.length) continue;
    const bits = table === 'coil' || table === 'discrete';
    const max = bits ? limits.maxBits : limits.maxRegisters;
    // A gap is measured in the table's unit: registers, or bits for coils and discrete inputs.
    const maxGap = bits ? limits.maxGapBits : limits.maxGap;
    let current: ReadRequest | undefined;
    let end = 0; // one past the last address the current request must cover
    for (const point of inTable) {
      const pointEnd = point.address + point.count;
      if (current && point.address - end <= maxGap && Math.max(end, pointEnd) - current.start <= max) {
        end = Math.max(end, pointEnd);
        current.count = end - current.start;
      } else {
        current = { table, start: point.address, count: point.count, points: [] };
        end = pointEnd;
        requests.push(current);
      }
      current.points.push({ point, at: point.address - current.start });
    }
  }
  return requests;
}

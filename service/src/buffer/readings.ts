import type { Quality, Reading } from '../../../sdk/typescript/index.js';
import { nameProblem, tsProblem } from '../../../sdk/typescript/names.js';
import type { QueuedReading } from './writer.js';

const QUALITIES: ReadonlySet<string> = new Set<Quality>(['good', 'bad', 'stale', 'uncertain']);

/**
 * Checks and normalises what a plugin emitted. Any bad reading refuses the whole call, naming the
 * reading and the field, so a plugin bug is loud and nothing is half-stored.
 */
export function toQueued(plugin: string, readings: Reading[], now: number): QueuedReading[] {
  if (!Array.isArray(readings)) throw new TypeError(`plugin "${plugin}" emitted ${typeof readings}; emit takes an array of readings`);
  const rows: QueuedReading[] = new Array(readings.length);
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i];
    const where = `reading ${i} emitted by plugin "${plugin}"`;
    if (!r || typeof r !== 'object') throw new TypeError(`${where} is not an object`);
    const deviceProblem = nameProblem(r.device);
    if (deviceProblem) throw new TypeError(`${where}: device ${deviceProblem}`);
    const pointProblem = nameProblem(r.point);
    if (pointProblem) throw new TypeError(`${where}: point ${pointProblem}`);
    const v = r.value;
    let value: string;
    if (typeof v === 'number') value = Number.isFinite(v) ? String(v) : 'null';
    else if (typeof v === 'string' || typeof v === 'boolean' || v === null) value = JSON.stringify(v);
    else throw new TypeError(`${where} (${r.device}/${r.point}): value must be a number, string, boolean or null, not ${typeof v}`);
    const quality = r.quality ?? 'good';
    if (!QUALITIES.has(quality)) throw new TypeError(`${where} (${r.device}/${r.point}): quality "${quality}" is not one of good, bad, stale, uncertain`);
    const ts = r.ts ?? now;
    const timeProblem = tsProblem(ts);
    if (timeProblem) throw new TypeError(`${where} (${r.device}/${r.point}): ts ${timeProblem}`);
    rows[i] = { device: r.device, point: r.point, value, quality, ts: Math.trunc(ts) };
  }
  return rows;
}

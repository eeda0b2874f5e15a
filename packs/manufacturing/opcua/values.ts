import type { Quality, Reading } from '../../../sdk/typescript/index.js';

/**
 * OPC UA values as readings: one conversion per built-in type, keyed by the type's id in the
 * standard (Part 6, 5.1.2), so this module needs no node-opcua at import. Scalars become a JSON
 * number, string or boolean; arrays become the text of a JSON array of the same conversions
 * (a matrix nests by its dimensions). Nothing is rounded that the type can hold exactly:
 *
 * - Int64 / UInt64 are exact decimal strings, always (a JSON number loses digits above 2^53).
 * - Float is the shortest decimal that reads back to the same float32 (0.1, not 0.10000000149…).
 * - NaN and ±Infinity of Float and Double are the strings "NaN", "Infinity", "-Infinity".
 * - DateTime is ISO 8601 in UTC; ByteString is base64; NodeId, ExpandedNodeId and QualifiedName
 *   are their text form; LocalizedText is its text; StatusCode its name.
 */

type Element = number | string | boolean | null;

/** What node-opcua hands over in a DataValue's `value` (a Variant). */
export interface VariantLike {
  dataType: number;
  arrayType?: number;
  value: unknown;
  dimensions?: number[] | null;
}

export class UnsupportedType extends Error {}

const words64 = (raw: unknown): bigint => {
  if (typeof raw === 'bigint') return raw;
  if (typeof raw === 'number') return BigInt(raw);
  const [high, low] = raw as [number, number]; // node-opcua: [high, low] unsigned 32-bit words
  return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
};

const nonFinite = (x: number): Element => (Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity');

/** The shortest decimal that float32 rounds back to the same value. */
export function float32(x: number): Element {
  const f = Math.fround(x);
  if (!Number.isFinite(f)) return nonFinite(f);
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return Number(f.toPrecision(9));
}

const number = (raw: unknown): Element => Number(raw);
const text = (raw: unknown): Element => (raw === null || raw === undefined ? null : String(raw));
/** The standard text form omits namespace 0 (i=85, as in `node:`), node-opcua writes ns=0;i=85. */
const nodeIdText = (raw: unknown): Element => (raw === null || raw === undefined ? null : String(raw).replace(/^ns=0;/, ''));

/** Built-in types the pack reports, by id: name and the conversion of one element. */
export const BUILT_IN_TYPES: ReadonlyMap<number, { name: string; convert: (raw: unknown) => Element }> = new Map([
  [1, { name: 'Boolean', convert: (raw: unknown) => Boolean(raw) }],
  [2, { name: 'SByte', convert: number }],
  [3, { name: 'Byte', convert: number }],
  [4, { name: 'Int16', convert: number }],
  [5, { name: 'UInt16', convert: number }],
  [6, { name: 'Int32', convert: number }],
  [7, { name: 'UInt32', convert: number }],
  [8, { name: 'Int64', convert: (raw: unknown) => BigInt.asIntN(64, words64(raw)).toString() }],
  [9, { name: 'UInt64', convert: (raw: unknown) => BigInt.asUintN(64, words64(raw)).toString() }],
  [10, { name: 'Float', convert: (raw: unknown) => float32(Number(raw)) }],
  [11, { name: 'Double', convert: (raw: unknown) => (Number.isFinite(Number(raw)) ? Number(raw) : nonFinite(Number(raw))) }],
  [12, { name: 'String', convert: text }],
  [13, { name: 'DateTime', convert: (raw: unknown) => (raw instanceof Date && !Number.isNaN(raw.getTime()) ? raw.toISOString() : null) }],
  [14, { name: 'Guid', convert: text }],
  [15, { name: 'ByteString', convert: (raw: unknown) => (raw ? Buffer.from(raw as Uint8Array).toString('base64') : null) }],
  [16, { name: 'XmlElement', convert: text }],
  [17, { name: 'NodeId', convert: nodeIdText }],
  [18, { name: 'ExpandedNodeId', convert: nodeIdText }],
  [19, { name: 'StatusCode', convert: (raw: unknown) => (raw as { name?: string } | null)?.name ?? text(raw) }],
  [20, { name: 'QualifiedName', convert: text }],
  [21, { name: 'LocalizedText', convert: (raw: unknown) => (raw as { text?: string | null } | null)?.text ?? null }],
]);

const ARRAY = 1;
const MATRIX = 2;

/** A Variant as a reading's value; throws UnsupportedType for structures (ExtensionObject, …). */
export function readingValue(variant: VariantLike | null | undefined): Reading['value'] {
  if (!variant || variant.dataType === 0) return null; // Null
  const type = BUILT_IN_TYPES.get(variant.dataType);
  if (!type) throw new UnsupportedType(`data type ${variant.dataType} is not one the pack reports (structures are not supported)`);
  if (variant.arrayType !== ARRAY && variant.arrayType !== MATRIX) return type.convert(variant.value);
  const flat = Array.from(variant.value as ArrayLike<unknown>, type.convert);
  const dims = variant.arrayType === MATRIX ? variant.dimensions ?? [] : [];
  return JSON.stringify(dims.length > 1 ? nest(flat, dims) : flat);
}

function nest(flat: Element[], dims: number[]): unknown[] {
  if (dims.length === 1) return flat;
  const size = flat.length / dims[0];
  return Array.from({ length: dims[0] }, (_, i) => nest(flat.slice(i * size, (i + 1) * size), dims.slice(1)));
}

/** The quality of a status code by its severity bits: Good, Uncertain, Bad. */
export function qualityOf(status: { value: number }): Quality {
  const severity = status.value >>> 30;
  return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
}

import type { DataType, Order } from './config.js';

/**
 * Register words <-> values for every data type, byte order and word order. Works on one scratch
 * buffer so decoding 100,000 points a second allocates nothing per point.
 */

export interface Layout {
  type: DataType;
  /** Registers of a string. */
  length?: number;
  /** Bit of a register (type bit), 0 = least significant. */
  bit?: number;
  byteOrder: Order;
  wordOrder: Order;
}

export type Value = number | string | boolean;

const WIDTH: Record<DataType, number> = {
  bool: 1, bit: 1, int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, int64: 4, uint64: 4, float64: 4, string: 0,
};

/** How many registers (or bits, for coils and discrete inputs) a value occupies. */
export function registerCount(layout: Pick<Layout, 'type' | 'length'>): number {
  return layout.type === 'string' ? (layout.length ?? 1) : WIDTH[layout.type];
}

export function isInteger(type: DataType): boolean {
  return type.includes('int');
}

const scratch = new DataView(new ArrayBuffer(256));

/** Lays `count` registers out in the scratch buffer in big-endian value order. */
function gather(words: ArrayLike<number>, at: number, count: number, layout: Layout): void {
  for (let i = 0; i < count; i++) {
    // word order applies to numbers only: a string's registers are always in address order
    const word = words[at + (layout.wordOrder === 'little' && layout.type !== 'string' ? count - 1 - i : i)];
    scratch.setUint16(i * 2, word, layout.byteOrder === 'little');
  }
}

/** Decodes the raw value (before scale and offset) of a register-table point at words[at]. */
export function decodeRegisters(words: ArrayLike<number>, at: number, layout: Layout): Value {
  const type = layout.type;
  if (type === 'bit') return ((words[at] >> (layout.bit ?? 0)) & 1) === 1;
  if (type === 'bool') return words[at] !== 0;
  const count = registerCount(layout);
  gather(words, at, count, layout);
  switch (type) {
    case 'uint16': return scratch.getUint16(0);
    case 'int16': return scratch.getInt16(0);
    case 'uint32': return scratch.getUint32(0);
    case 'int32': return scratch.getInt32(0);
    case 'float32': return scratch.getFloat32(0);
    case 'float64': return scratch.getFloat64(0);
    case 'uint64': return bigToValue(scratch.getBigUint64(0));
    case 'int64': return bigToValue(scratch.getBigInt64(0));
    case 'string': {
      let text = '';
      for (let i = 0; i < count * 2; i++) {
        const c = scratch.getUint8(i);
        if (c === 0) break;
        text += String.fromCharCode(c);
      }
      return text.trimEnd();
    }
  }
  throw new Error(`unknown type ${String(type)}`);
}

/** 64-bit integers beyond 2^53 cannot be a JavaScript number without loss; they become decimal text. */
function bigToValue(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

export function applyScale(raw: Value, scale: number, offset: number): Value {
  if (typeof raw !== 'number' || (scale === 1 && offset === 0)) return raw;
  return raw * scale + offset;
}

const RANGE: Partial<Record<DataType, [number, number]>> = {
  int16: [-32768, 32767], uint16: [0, 65535], int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], uint64: [0, Number.MAX_SAFE_INTEGER],
  float32: [-3.4028234663852886e38, 3.4028234663852886e38],
};

/**
 * The registers to write for an engineering value (scale and offset undone). Throws an Error whose
 * message says why the value does not fit; the caller turns it into a 400.
 */
export function encodeRegisters(value: unknown, layout: Layout, scale: number, offset: number): number[] {
  const type = layout.type;
  if (type === 'string') {
    if (typeof value !== 'string') throw new Error(`expects text, got ${describe(value)}`);
    const count = registerCount(layout);
    if (value.length > count * 2) throw new Error(`text is ${value.length} characters; at most ${count * 2} fit in ${count} registers`);
    if (!/^[\x00-\x7f]*$/.test(value)) throw new Error('text must be ASCII');
    for (let i = 0; i < count * 2; i++) scratch.setUint8(i, i < value.length ? value.charCodeAt(i) : 0);
    return scatter(count, layout);
  }
  if (type === 'bool' || type === 'bit') {
    const b = toBoolean(value);
    return [b ? 1 : 0];
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`expects a number, got ${describe(value)}`);
  let raw = (value - offset) / scale;
  if (isInteger(type)) {
    const rounded = Math.round(raw);
    if (Math.abs(rounded - raw) > 1e-9 * Math.max(1, Math.abs(raw))) {
      throw new Error(`${value} is not a multiple of the point's scale ${scale}${offset ? ` (offset ${offset})` : ''}`);
    }
    raw = rounded;
  }
  const range = RANGE[type];
  if (range && (raw < range[0] || raw > range[1])) {
    throw new Error(`${value} is out of range for ${type}: the raw value ${raw} must be between ${range[0]} and ${range[1]}`);
  }
  switch (type) {
    case 'uint16': scratch.setUint16(0, raw); break;
    case 'int16': scratch.setInt16(0, raw); break;
    case 'uint32': scratch.setUint32(0, raw); break;
    case 'int32': scratch.setInt32(0, raw); break;
    case 'float32': scratch.setFloat32(0, raw); break;
    case 'float64': scratch.setFloat64(0, raw); break;
    case 'uint64': scratch.setBigUint64(0, BigInt(raw)); break;
    case 'int64': scratch.setBigInt64(0, BigInt(raw)); break;
  }
  return scatter(registerCount(layout), layout);
}

/** The inverse of gather: scratch buffer (big-endian value order) -> registers in address order. */
function scatter(count: number, layout: Layout): number[] {
  const words = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const word = scratch.getUint16(i * 2, layout.byteOrder === 'little');
    words[layout.wordOrder === 'little' && layout.type !== 'string' ? count - 1 - i : i] = word;
  }
  return words;
}

export function toBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  throw new Error(`expects true or false, got ${describe(value)}`);
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

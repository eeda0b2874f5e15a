import sparkplug from 'sparkplug-payload';
import type { UMetric, UPayload, TypeStr } from 'sparkplug-payload/lib/sparkplugbpayload.js';

export type { UMetric, UPayload, TypeStr };

const codec = sparkplug.get('spBv1.0')!;

export function encode(payload: UPayload): Buffer {
  return Buffer.from(codec.encodePayload(payload));
}

export function decode(bytes: Uint8Array): UPayload {
  return codec.decodePayload(bytes);
}

/**
 * The Sparkplug datatype of a reading's value. Every number is a Double: a point that reads 1 and
 * then 1.5 keeps one datatype for the life of its birth. Objects and arrays travel as JSON text.
 */
export function datatypeOf(value: unknown): TypeStr {
  if (typeof value === 'number') return 'Double';
  if (typeof value === 'boolean') return 'Boolean';
  return 'String';
}

/** A reading's value as the metric of `type` carries it (null stays null: is_null). */
export function metricValue(value: unknown, type: TypeStr): UMetric['value'] {
  if (value === null || value === undefined) return null;
  if (type === 'String') return typeof value === 'string' ? value : JSON.stringify(value);
  return value as number | boolean;
}

/** Whether a value fits a metric born with `type` (else the device is born again). */
export function fits(value: unknown, type: TypeStr): boolean {
  return value === null || value === undefined || type === 'String' || datatypeOf(value) === type;
}

/**
 * Reading quality as the `Quality` property (Int32, OPC DA codes, which Ignition and most Sparkplug
 * hosts read): good 192, uncertain 64, stale 68 (uncertain, last usable value), bad 0.
 */
export function qualityCode(quality: string): number {
  switch (quality) {
    case 'good': return 192;
    case 'uncertain': return 64;
    case 'stale': return 68;
    default: return 0;
  }
}

/** A number out of a decoded payload (protobufjs gives 64-bit integers as Long). */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'toNumber' in value) return (value as { toNumber(): number }).toNumber();
  return Number(value);
}

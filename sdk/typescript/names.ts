/**
 * The rules every reading's names and time follow, wherever it enters (an ingest plugin, a
 * connector's emit, the data API's URLs), so that what one accepts the others can store and find.
 * Each function answers undefined when the value is fine, else what is wrong in a sentence.
 */

/** Longest device or point name, in characters. */
export const MAX_NAME_LENGTH = 256;
/** Earliest `ts`: 1970-01-01T00:00:00Z, in milliseconds since the epoch. */
export const MIN_TS = 0;
/** Latest `ts`: 9999-12-31T23:59:59.999Z, in milliseconds since the epoch. */
export const MAX_TS = 253_402_300_799_999;

// C0 controls and DEL: they break logs, topics and C strings (NUL).
const CONTROL = /[\u0000-\u001f\u007f]/;
// A UTF-16 surrogate without its pair (JSON's "\ud800" escape) has no UTF-8 encoding.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A device or point name: 1 to 256 characters of valid UTF-8 without control characters.
 * U+FFFD (the replacement character) is refused too: it is what bytes that were not UTF-8 become
 * when decoded, and a name made of it would silently differ from the one the sender meant.
 * `__proto__`, `constructor` and the like are ordinary names.
 */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'must be a non-empty string';
  if (name.length > MAX_NAME_LENGTH) return `is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`;
  if (LONE_SURROGATE.test(name) || name.includes('\ufffd')) return 'is not valid UTF-8 (send names encoded as UTF-8)';
  if (CONTROL.test(name)) return 'contains a control character (such as a newline or NUL)';
  return undefined;
}

/** A reading's time: milliseconds since the epoch, from MIN_TS (1970) to MAX_TS (the year 9999). */
export function tsProblem(ts: unknown): string | undefined {
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return 'must be milliseconds since the epoch (a number)';
  if (ts < MIN_TS || ts > MAX_TS) return `${ts} is out of range; it must be milliseconds since the epoch from ${MIN_TS} (1970-01-01) to ${MAX_TS} (9999-12-31)`;
  return undefined;
}

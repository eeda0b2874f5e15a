/**
 * QuickFIX acceptance scripts (test/fixtures/fix/quickfix-fix44/definitions/*.def), as its
 * README describes them: `iCONNECT` / `eDISCONNECT`, `I<msg>` to send, `E<msg>` to expect, an
 * optional `N,` after the letter for a numbered connection; `<TIME>`, `<TIME±n>` become the UTC
 * time; a missing BodyLength (9) or CheckSum (10) is computed and inserted.
 */
import fs from 'node:fs';
import path from 'node:path';

export const SOH = '\x01';

export type Step =
  | { kind: 'connect'; conn: number; line: number }
  | { kind: 'disconnect'; conn: number; line: number }
  | { kind: 'expect-disconnect'; conn: number; line: number }
  | { kind: 'send'; conn: number; line: number; text: string }
  | { kind: 'expect'; conn: number; line: number; text: string };

export function parseScript(text: string): Step[] {
  const steps: Step[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) return;
    const m = /^([iIeE])(?:(\d+),)?(.*)$/s.exec(line);
    if (!m) throw new Error(`line ${index + 1}: not a step: ${line}`);
    const [, letter, number, rest] = m;
    const conn = number ? Number(number) : 1;
    const at = index + 1;
    if (letter === 'i' && rest === 'CONNECT') steps.push({ kind: 'connect', conn, line: at });
    else if (letter === 'i' && rest === 'DISCONNECT') steps.push({ kind: 'disconnect', conn, line: at });
    else if (letter === 'e' && rest === 'DISCONNECT') steps.push({ kind: 'expect-disconnect', conn, line: at });
    else if (letter === 'I') steps.push({ kind: 'send', conn, line: at, text: rest });
    else if (letter === 'E') steps.push({ kind: 'expect', conn, line: at, text: rest });
    else throw new Error(`line ${at}: unknown step ${line}`);
  });
  return steps;
}

function utc(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())}`;
}

/** `<TIME>`, `<TIME-n>`, `<TIME+n>` (seconds) as UTC timestamps. */
export function substituteTimes(text: string, now = Date.now()): string {
  return text.replace(/<TIME([+-]\d+)?>/g, (_, shift: string | undefined) => utc(new Date(now + Number(shift ?? 0) * 1000)));
}

function checksum(text: string): string {
  let sum = 0;
  for (const byte of Buffer.from(text, 'latin1')) sum += byte;
  return String(sum % 256).padStart(3, '0');
}

/** Inserts BodyLength after BeginString and appends CheckSum where the script left them out. */
export function complete(text: string): string {
  const fields = text.split(SOH).filter((f, i, all) => f !== '' || i < all.length - 1);
  const tags = fields.map((f) => f.slice(0, f.indexOf('=')));
  if (!tags.includes('9')) {
    const begin = tags.indexOf('8');
    const end = tags.includes('10') ? tags.indexOf('10') : fields.length;
    const body = fields.slice(begin + 1, end).map((f) => f + SOH).join('');
    fields.splice(begin + 1, 0, `9=${Buffer.byteLength(body, 'latin1')}`);
    tags.splice(begin + 1, 0, '9');
  }
  let message = fields.map((f) => f + SOH).join('');
  if (!tags.includes('10')) message += `10=${checksum(message)}${SOH}`;
  return message;
}

/** fields.fmt: per tag, the pattern a received value must match instead of the literal one. */
export function readFormats(file: string): Map<string, RegExp> {
  const formats = new Map<string, RegExp>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) formats.set(line.slice(0, at), new RegExp(`^(?:${line.slice(at + 1).trim()})`));
  }
  return formats;
}

/** Why `received` is not `expected` (same fields, in order, literal values but the formatted tags), or null. */
export function compare(expected: string, received: string, formats: Map<string, RegExp>): string | null {
  const split = (m: string) => m.split(SOH).filter((f) => f !== '').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] as const);
  const want = split(expected);
  const got = split(received);
  if (want.length !== got.length) return `expected ${want.length} fields, received ${got.length}`;
  for (let i = 0; i < want.length; i++) {
    const [tag, value] = want[i];
    const [gotTag, gotValue] = got[i];
    if (tag !== gotTag) return `field ${i + 1}: expected tag ${tag}, received ${gotTag}`;
    const format = formats.get(tag);
    if (format ? !format.test(gotValue) : value !== gotValue) return `tag ${tag}: expected ${format ? format.source : value}, received ${gotValue}`;
  }
  return null;
}

export function listScripts(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.def')).sort().map((n) => path.join(dir, n));
}

export const show = (message: string) => message.replaceAll(SOH, '|');

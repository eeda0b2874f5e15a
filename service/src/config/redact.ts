import type { ConfigPath } from '../../../sdk/typescript/yaml.js';

export const SECRET_KEY = /pass(word)?|token|secret|api[_-]?key|private[_-]?key|credential/i;
export const REDACTED = '[redacted]';

/**
 * A copy of the config safe to show or log: values under secret-looking keys, and every value that
 * came from `${VAR}`, are replaced. The original is not touched.
 */
export function redact(value: unknown, fromEnv: ConfigPath[] = [], path: ConfigPath = []): unknown {
  if (fromEnv.some((p) => p.length === path.length && p.every((s, i) => s === path[i]))) return REDACTED;
  if (Array.isArray(value)) return value.map((v, i) => redact(v, fromEnv, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) =>
      [k, SECRET_KEY.test(k) && v !== null && typeof v !== 'object' ? REDACTED : redact(v, fromEnv, [...path, k])]));
  }
  return value;
}

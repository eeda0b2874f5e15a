import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { REDACTED, SECRET_KEY } from '../config/redact.js';
import type { ConfigIssue } from '../config/source.js';

interface SecretValue { path: string; start: number; end: number; value: unknown }

/**
 * The file as the console's editor shows it: a value written in the file under a secret-looking key
 * (password, token, …) is shown as "[redacted]", as everywhere else the config is shown. A `${VAR}`
 * stays: it is a name, not the secret. Only the value's characters change; comments and layout stay.
 */
export function redactText(text: string): string {
  let out = text;
  for (const s of secretValues(text).sort((a, b) => b.start - a.start)) out = `${out.slice(0, s.start)}"${REDACTED}"${out.slice(s.end)}`;
  return out;
}

/**
 * The editor's text with each "[redacted]" put back to what the file has at that place. A
 * "[redacted]" where the file has no secret is a mistake at its line and column.
 */
export function restoreSecrets(edited: string, file: string, current: string): { text: string; issues: ConfigIssue[] } {
  const originals = new Map(secretValues(current).map((s) => [s.path, current.slice(s.start, s.end)]));
  const issues: ConfigIssue[] = [];
  let out = edited;
  for (const s of secretValues(edited).filter((v) => v.value === REDACTED).sort((a, b) => b.start - a.start)) {
    const original = originals.get(s.path);
    if (original === undefined) {
      const before = edited.slice(0, s.start).split('\n');
      issues.push({ file, line: before.length, column: before[before.length - 1].length + 1, message: `"${REDACTED}" stands for the value the file has here, and it has none: write the secret itself, or \${VAR} to take it from the environment` });
    } else out = `${out.slice(0, s.start)}${original}${out.slice(s.end)}`;
  }
  return { text: out, issues: issues.reverse() };
}

/** Scalars under secret keys that are written in the text (not `${VAR}`), with their place. */
function secretValues(text: string): SecretValue[] {
  let doc;
  try { doc = parseDocument(text); } catch { return []; }
  const found: SecretValue[] = [];
  const walk = (node: unknown, path: Array<string | number>) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        const value = pair.value as Node | null;
        if (SECRET_KEY.test(key) && isScalar(value) && value.range) {
          const [start, end] = value.range;
          if (!text.slice(start, end).includes('${')) found.push({ path: JSON.stringify([...path, key]), start, end, value: value.value });
        } else walk(value, [...path, key]);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
  };
  walk(doc.contents, []);
  return found;
}

import fs from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit, type Document, type Node, type YAMLError } from 'yaml';
import { fileProblem } from './file-problems.js';

/**
 * YAML files read the way `backworks check` reads backworks.yaml: every mistake located as
 * FILE:LINE:COLUMN, never thrown. A pack reads its own data files (a device profile, a mapping)
 * with it, so a technician sees the same kind of message as for the main config. Needs the
 * optional peer `yaml` (and `ajv` for `validateAgainst`, in ./validate).
 */

/** Largest file read by default: a hand-edited file is a few KB; anything near this is a mistake or an attack. */
export const MAX_YAML_BYTES = 1024 * 1024;
/** Aliases allowed when expanding anchors; a "billion laughs" file needs far more. */
export const MAX_ALIAS_COUNT = 100;

export type ConfigPath = ReadonlyArray<string | number>;

/** One mistake in a file, located the way editors and compilers print it. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}`;
}

/** How `YamlSource.read` names the file in its messages and how large it may be. */
export interface ReadOptions {
  /** What the file is, e.g. "configuration file" (default "YAML file"). */
  what?: string;
  /** Default MAX_YAML_BYTES. */
  maxBytes?: number;
  /** Added to "file not found", e.g. "create it or pass another with -c FILE". */
  missingHint?: string;
  /** Added when a folder is named instead of a file, e.g. "pass the file itself". */
  folderHint?: (file: string) => string;
}

/** A parsed YAML file that can point at any of its nodes by path. */
export class YamlSource {
  private constructor(readonly file: string, readonly doc: Document, private readonly lines: LineCounter) {}

  /** Reads and parses a YAML file; syntax errors come back as issues, never as exceptions. */
  static read(file: string, options: ReadOptions = {}): { source?: YamlSource; issues: ConfigIssue[] } {
    const { what = 'YAML file', maxBytes = MAX_YAML_BYTES } = options;
    const atStart = (message: string) => ({ issues: [{ file, line: 1, column: 1, message }] });
    let text: string;
    try {
      const stat = fs.statSync(file);
      if (stat.isDirectory()) return atStart(`${file} is a folder, not a ${what}${options.folderHint ? `; ${options.folderHint(file)}` : ''}`);
      if (stat.size > maxBytes) return atStart(`${what} is ${stat.size} bytes; the limit is ${maxBytes}`);
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      return atStart((err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `file not found${options.missingHint ? `; ${options.missingHint}` : ''}`
        : fileProblem(err, file, `the ${what}`));
    }
    return YamlSource.parse(file, text);
  }

  static parse(file: string, text: string): { source?: YamlSource; issues: ConfigIssue[] } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true, keepSourceTokens: false });
    const source = new YamlSource(file, doc, lines);
    const issues = syntaxIssues(doc, lines).map(({ offset, message }) => source.issueAt(offset, message));
    return { source: issues.length ? undefined : source, issues };
  }

  /** The plain JS value, refusing alias bombs. */
  toJS(): { value?: unknown; issue?: ConfigIssue } {
    try {
      return { value: this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
    } catch (err) {
      let offset = 0;
      visit(this.doc, { Alias: (_, node) => { offset = node.range?.[0] ?? 0; return visit.BREAK; } });
      return { issue: this.issueAt(offset, `refused: aliases expand too far (${(err as Error).message}); write the values out instead`) };
    }
  }

  /** The node at `path`, or the deepest existing ancestor. */
  node(path: ConfigPath): Node | undefined {
    let node: unknown = this.doc.contents;
    for (const segment of path) {
      const next = isMap(node) || isSeq(node) ? node.get(segment, true) : undefined;
      if (next === undefined) break;
      node = next;
    }
    return node as Node | undefined;
  }

  /** The key node of a map entry (for "unknown key" errors), falling back to the value. */
  keyNode(path: ConfigPath): Node | undefined {
    const parent = this.node(path.slice(0, -1));
    const last = path[path.length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === last);
      if (pair && isScalar(pair.key)) return pair.key;
    }
    return this.node(path);
  }

  issueAt(offset: number, message: string): ConfigIssue {
    const pos = this.lines.linePos(offset);
    return { file: this.file, line: pos.line, column: pos.col, message };
  }

  /** An issue located at the value (or, with `key`, at the key) of `path`. */
  issue(path: ConfigPath, message: string, at: 'value' | 'key' = 'value'): ConfigIssue {
    const node = at === 'key' ? this.keyNode(path) : this.node(path);
    return this.issueAt(node?.range?.[0] ?? 0, message);
  }
}

/**
 * The parser's errors, placed where the technician made the mistake: an unclosed quote where it
 * opens (the parser notices only at the end of the file), a duplicate key with its first place.
 * Errors the unclosed quote causes further on are dropped: they are the same mistake.
 */
function syntaxIssues(doc: Document, lines: LineCounter): Array<{ offset: number; message: string }> {
  const out: Array<{ offset: number; message: string }> = [];
  let swallowedFrom = Infinity;
  for (const e of doc.errors) {
    if (e.pos[0] >= swallowedFrom) continue;
    if (e.code === 'MISSING_CHAR' && /quote/.test(e.message)) {
      const open = unclosedQuote(doc, e);
      if (open) {
        swallowedFrom = open.range![0];
        const quote = open.type === Scalar.QUOTE_DOUBLE ? '"' : "'";
        out.push({ offset: open.range![0], message: `this ${quote} is never closed; end the value with ${quote} on the same line` });
        continue;
      }
    }
    if (e.code === 'DUPLICATE_KEY') {
      const first = firstOfDuplicate(doc, e.pos[0]);
      if (first) {
        const at = lines.linePos(first.offset);
        out.push({ offset: e.pos[0], message: `duplicate key "${first.key}": it is already written at line ${at.line}, column ${at.col}; keep one of the two (or rename this one)` });
        continue;
      }
    }
    if (e.code === 'MULTIPLE_DOCS') { out.push({ offset: e.pos[0], message: 'a second document starts here (---); backworks.yaml is one document: remove the --- line and keep every section in one map' }); continue; }
    if (e.code === 'TAB_AS_INDENT') { out.push({ offset: e.pos[0], message: 'Tabs are not allowed as indentation; indent with spaces' }); continue; }
    out.push({ offset: e.pos[0], message: firstLine(e.message) });
  }
  return out;
}

function unclosedQuote(doc: Document, e: YAMLError): Scalar | undefined {
  let found: Scalar | undefined;
  visit(doc, {
    Scalar: (_, node) => {
      const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
      if (quoted && node.range && node.range[1] >= e.pos[0] - 1 && (!found || node.range[0] > found.range![0])) found = node;
    },
  });
  return found;
}

/** The earlier key of the same map that the key at `offset` repeats. */
function firstOfDuplicate(doc: Document, offset: number): { key: string; offset: number } | undefined {
  let result: { key: string; offset: number } | undefined;
  visit(doc, {
    Map: (_, map) => {
      const keys = map.items.map((p) => p.key).filter(isScalar);
      const dup = keys.find((k) => k.range?.[0] === offset);
      if (!dup) return undefined;
      const first = keys.find((k) => k !== dup && k.value === dup.value);
      if (first) result = { key: String(dup.value), offset: first.range?.[0] ?? 0 };
      return visit.BREAK;
    },
  });
  return result;
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

import fs from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { BackworksError } from '../errors.js';

/** Largest backworks.yaml we read: a hand-edited file is a few KB; anything near this is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
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

/** A parsed YAML file that can point at any of its nodes by path. */
export class YamlSource {
  private constructor(readonly file: string, readonly doc: Document, private readonly lines: LineCounter) {}

  /** Reads and parses a YAML file; syntax errors come back as issues, never as exceptions. */
  static read(file: string): { source?: YamlSource; issues: ConfigIssue[] } {
    let text: string;
    try {
      const size = fs.statSync(file).size;
      if (size > MAX_CONFIG_BYTES) throw new BackworksError('BW_ERR_CONFIG_TOO_LARGE', size, MAX_CONFIG_BYTES);
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const message = (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `file not found; create it or pass another with -c FILE`
        : (err as Error).message;
      return { issues: [{ file, line: 1, column: 1, message }] };
    }
    return YamlSource.parse(file, text);
  }

  static parse(file: string, text: string): { source?: YamlSource; issues: ConfigIssue[] } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true, keepSourceTokens: false });
    const source = new YamlSource(file, doc, lines);
    const issues = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
      return { file, line: pos.line, column: pos.col, message: firstLine(e.message) };
    });
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

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

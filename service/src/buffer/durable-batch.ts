import type { Database, Statement } from 'better-sqlite3';
import type { InboundDocument } from '../../../sdk/typescript/index.js';

/** Checks a commit's documents, naming the first bad one, so nothing of a bad batch is stored. */
export function toDocuments(plugin: string, docs: unknown): InboundDocument[] {
  if (!Array.isArray(docs)) throw new TypeError(`plugin "${plugin}" committed documents that are not an array`);
  const out: InboundDocument[] = new Array(docs.length);
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i] as InboundDocument;
    if (!d || typeof d.type !== 'string' || d.type === '' || typeof d.body !== 'string') {
      throw new TypeError(`plugin "${plugin}" committed documents[${i}] without a string type and body`);
    }
    if (d.status !== undefined && (typeof d.status !== 'string' || d.status === '')) {
      throw new TypeError(`plugin "${plugin}" committed documents[${i}] with a status that is not a non-empty string`);
    }
    out[i] = { type: d.type, body: d.body, ...(d.meta ? { meta: d.meta } : {}), ...(d.status ? { status: d.status } : {}) };
  }
  return out;
}

export function toStates(plugin: string, pairs: unknown): Array<[string, string]> {
  if (!Array.isArray(pairs)) throw new TypeError(`plugin "${plugin}" committed state that is not an array of [key, value] pairs`);
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i] as unknown[];
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string') {
      throw new TypeError(`plugin "${plugin}" committed state[${i}] that is not a [key, value] pair of strings`);
    }
  }
  return pairs as Array<[string, string]>;
}

/**
 * The same checks for a batch handed over as JSON text (how a native plugin commits), made by
 * SQLite on the text: the documents never become JS objects.
 */
export class JsonBatchCheck {
  private readonly toJsonb: Statement;
  private readonly checkBatch: Statement;

  constructor(db: Database) {
    // The text is parsed once, into the JSONB the check and the inserts then read without parsing
    // (a blob argument is JSONB to SQLite's JSON functions).
    this.toJsonb = db.prepare('SELECT jsonb(?)').pluck();
    // The shape, the first bad document and state pair, and how much there is.
    this.checkBatch = db.prepare(`SELECT json_type(@j), json_type(@j, '$.documents'), json_type(@j, '$.state'),
        (SELECT min(key) FROM jsonb_each(@j, '$.documents') WHERE CASE WHEN type <> 'object' THEN 1
          WHEN json_type(value, '$.type') IS NOT 'text' OR value ->> '$.type' = '' OR json_type(value, '$.body') IS NOT 'text' THEN 1
          WHEN json_type(value, '$.status') IS NOT NULL AND (json_type(value, '$.status') IS NOT 'text' OR value ->> '$.status' = '') THEN 1 ELSE 0 END),
        (SELECT min(key) FROM jsonb_each(@j, '$.state') WHERE CASE WHEN type <> 'array' THEN 1
          WHEN json_array_length(value) <> 2 OR json_type(value, '$[0]') IS NOT 'text' OR json_type(value, '$[1]') IS NOT 'text' THEN 1 ELSE 0 END),
        coalesce(json_array_length(@j, '$.documents'), 0) + coalesce(json_array_length(@j, '$.state'), 0)`).raw();
  }

  /** The batch as JSONB and how many documents and state writes it holds, or the error that refuses it. */
  check(plugin: string, json: string): { jsonb: Buffer; count: number } | TypeError {
    if (typeof json !== 'string') return new TypeError(`plugin "${plugin}" committed a batch that is not JSON text`);
    let jsonb: Buffer;
    try {
      jsonb = this.toJsonb.get(json) as Buffer;
    } catch (err) {
      return new TypeError(`plugin "${plugin}" committed a batch that is not JSON: ${(err as Error).message}`);
    }
    const [top, documents, state, badDocument, badState, count] = this.checkBatch.get({ j: jsonb }) as
      [string, string | null, string | null, number | string | null, number | string | null, number];
    let why: string | null = null;
    if (top !== 'object') why = 'a batch that is not a JSON object';
    else if (documents !== null && documents !== 'array') why = 'documents that are not an array';
    else if (state !== null && state !== 'array') why = 'state that is not an array of [key, value] pairs';
    else if (badDocument !== null) why = `documents[${badDocument}] without a string type and body (or with a status that is not a non-empty string)`;
    else if (badState !== null) why = `state[${badState}] that is not a [key, value] pair of strings`;
    if (why) return new TypeError(`plugin "${plugin}" committed ${why}`);
    return { jsonb, count };
  }
}

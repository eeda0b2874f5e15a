// What the healthcare/hl7 suites share: the plugin's config, the buffer's documents, a raw MLLP
// client and test messages.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { repoRoot } from '../../helpers/service.js';

export const library = path.join(repoRoot, 'target/release/libhl7_plugin.so');
export const fixtures = path.join(repoRoot, 'test/fixtures/hl7');
export const peer = path.join(repoRoot, 'test/packs/healthcare/mllp_peer.py');
export const fixtureFiles = fs.readdirSync(fixtures).filter((f) => f.endsWith('.hl7')).sort();
export const VT = 0x0b, FS = 0x1c, CR = 0x0d;

/** `extra`: more of the plugin's config keys (indented 6); `top`: more top-level sections. */
export function writeConfig(dir: string, mllpPort: number, extra = '', top = ''): string {
  const file = path.join(dir, 'backworks.yaml');
  fs.writeFileSync(file, `
state_dir: ./state
${top}
plugins:
  hl7-fhir:
    type: external
    path: ${library}
    config:
      fhir_version: R4
      mllp: {listen: "127.0.0.1:${mllpPort}", max_message_size: 16KB, idle_timeout: 5s}
${extra}
endpoints:
  hl7-parse: {path: /hl7/parse, methods: [POST], plugin: hl7-fhir}
  hl7-fhir: {path: /hl7/fhir, methods: [POST], plugin: hl7-fhir}
  hl7-documents: {path: "/hl7/documents/:status", methods: [GET], plugin: hl7-fhir}
`);
  return file;
}

export function countDocuments(dir: string): number {
  const db = new Database(path.join(dir, 'state/buffer.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM documents WHERE type = 'hl7v2'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** A raw MLLP client: sends bytes, collects framed answers. */
export class RawClient {
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => { this.buffer = Buffer.concat([this.buffer, d]); this.waiters.splice(0).forEach((w) => w()); });
    socket.on('close', () => { this.closed = true; this.waiters.splice(0).forEach((w) => w()); });
    socket.on('error', () => undefined);
  }
  static async open(port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r, j) => { socket.once('connect', r); socket.once('error', j); });
    return new RawClient(socket);
  }
  send(bytes: Buffer | string): void { this.socket.write(bytes); }
  frame(message: string | Buffer): Buffer { return Buffer.concat([Buffer.from([VT]), Buffer.from(message), Buffer.from([FS, CR])]); }
  /** The next ACK, or null when the connection closed first. */
  async ack(timeoutMs = 10_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf(Buffer.from([FS, CR]));
      if (end >= 0) {
        const start = this.buffer.indexOf(VT);
        const text = this.buffer.subarray(start + 1, end).toString('utf8');
        this.buffer = this.buffer.subarray(end + 2);
        return text;
      }
      if (this.closed) return null;
      if (Date.now() > deadline) throw new Error('no ACK in time');
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 100); });
    }
  }
  /** Whether bytes arrived that no `ack()` has read yet. */
  get pending(): boolean { return this.buffer.length > 0; }
  close(): void { this.socket.destroy(); }
}

export const msa = (ack: string | null) => /(?:^|\r)MSA\|([^|\r]*)\|([^|\r]*)/.exec(ack ?? '')?.slice(1) ?? [];
export const message = (version: string, control: string, body = 'PID|1||555^^^H^MR||Doe^Jo\rPV1|1|I') =>
  `MSH|^~\\&|SRC|FAC|BW|GW|20240101120000||ADT^A01|${control}|P|${version}\r${body}\r`;


/** One message of a public corpus (test/fixtures/hl7/<source>/), as a sender's engine sends it. */
export interface CorpusMessage {
  file: string;
  index: number;
  text: string;
  /** The text in the file's own encoding: what goes on the wire. */
  bytes: Buffer;
}

/**
 * The messages of a corpus file: UTF-8 (else Latin-1, as the gateway reads it), without a byte
 * order mark, segments ended with CR (files use CRLF or LF), one message per MSH (batch files
 * without FHS/BHS hold several), trailing blank lines dropped.
 */
export function corpusMessages(file: string): CorpusMessage[] {
  const raw = fs.readFileSync(path.join(fixtures, file));
  const encoding: BufferEncoding = raw.toString('utf8').includes('\ufffd') ? 'latin1' : 'utf8';
  const text = raw.toString(encoding);
  const out: string[][] = [];
  for (const segment of text.replace(/^\ufeff/, '').replace(/\r\n/g, '\r').replace(/\n/g, '\r').split('\r')) {
    if (segment.trim().startsWith('MSH')) out.push([segment.trim()]);
    else if (out.length > 0 && segment.trim() !== '') out[out.length - 1]!.push(segment);
  }
  return out.map((segments, index) => {
    const message = segments.join('\r');
    return { file, index, text: message, bytes: Buffer.from(message, encoding) };
  });
}

/** The corpus files, source by source (folders of test/fixtures/hl7), sorted. */
export function corpusFiles(): string[] {
  return fs.readdirSync(fixtures, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
    .flatMap((source) => fs.readdirSync(path.join(fixtures, source)).filter((f) => f !== 'LICENSE' && f !== 'README.md').sort().map((f) => `${source}/${f}`));
}

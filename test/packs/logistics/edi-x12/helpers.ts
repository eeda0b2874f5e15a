import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { authFetch, repoRoot, startService, type RunningService } from '../../../helpers/service.js';
import { tempDir } from '../../../helpers/tmp.js';

export const library = path.join(repoRoot, 'packs/logistics/edi-x12/plugins/libedi_plugin.so');
export const fixtures = path.join(repoRoot, 'test/fixtures/edi');

export function fixture(name: string): string {
  return fs.readFileSync(path.join(fixtures, name), 'utf8');
}

export interface EdiGateway {
  service: RunningService;
  dir: string;
  inbound: string;
  outbound: string;
  post(endpoint: string, body: string): Promise<{ status: number; text: string }>;
  /** Documents the buffer committed for edi-x12, oldest first. */
  documents(): Array<{ id: number; type: string; body: string; meta: Record<string, unknown> }>;
}

/**
 * The real compiled gateway with the real libedi_plugin.so: the sample's two partners plus TARGET
 * (810, 856), our identifiers, a drop folder and an outbound folder in a fresh temporary folder.
 * Pass `dir` to restart on the same state, `partners` (YAML flow mappings) to replace the partners.
 */
export async function startEdi(options: { dir?: string; settle?: string; partners?: string[] } = {}): Promise<EdiGateway> {
  const dir = options.dir ?? tempDir('bw-edi-');
  const inbound = path.join(dir, 'inbound');
  const outbound = path.join(dir, 'outbound');
  const file = path.join(dir, 'backworks.yaml');
  fs.writeFileSync(file, [
    `state_dir: ${JSON.stringify(path.join(dir, 'state'))}`,
    'server: { body_limit: 64MB }',
    'plugins:',
    '  edi-x12:',
    '    type: external',
    `    path: ${JSON.stringify(library)}`,
    '    timeout: 20s',
    '    config:',
    '      trading_partners:',
    ...(options.partners ?? [
      '{ id: WALMART, formats: ["850", "855", "856"] }',
      '{ id: AMAZON, formats: ["850", "997"] }',
      '{ id: TARGET, formats: ["810", "856"], version: "005010" }',
    ]).map((p) => `        - ${p}`),
    '      interchange: { qualifier: ZZ, id: BACKWORKS }',
    '      versions: ["004010", "005010"]',
    `      inbound: { path: ${JSON.stringify(inbound)}, poll_interval: 100ms, settle: ${options.settle ?? '300ms'} }`,
    `      outbound: { path: ${JSON.stringify(outbound)} }`,
    'endpoints:',
    '  edi-inbound: { path: /edi/x12, methods: [POST], plugin: edi-x12 }',
    '  edi-parse: { path: /edi/x12/parse, methods: [POST], plugin: edi-x12 }',
    '  edi-validate: { path: /edi/x12/validate, methods: [POST], plugin: edi-x12 }',
    '  edi-outbound: { path: "/edi/x12/outbound/:set", methods: [POST], plugin: edi-x12 }',
    '',
  ].join('\n'));
  const service = await startService(file);
  const dbFile = path.join(dir, 'state', 'buffer.db');
  return {
    service,
    dir,
    inbound,
    outbound,
    async post(endpoint, body) {
      const res = await authFetch(`${service.url}${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/edi-x12' }, body });
      return { status: res.status, text: await res.text() };
    },
    documents() {
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      try {
        const rows = db.prepare("SELECT id, type, body, meta FROM documents WHERE plugin = 'edi-x12' ORDER BY id").all() as Array<{ id: number; type: string; body: string; meta: string }>;
        return rows.map((r) => ({ ...r, meta: JSON.parse(r.meta) as Record<string, unknown> }));
      } finally {
        db.close();
      }
    },
  };
}

/** Segments of an X12 text, each as its elements; separators read from its ISA. */
export function segmentsOf(x12: string): string[][] {
  if (!x12) return [];
  const element = x12[3];
  const terminator = x12[105];
  return x12.split(terminator).map((s) => s.replace(/^[\r\n]+/, '')).filter(Boolean).map((s) => s.split(element));
}

/**
 * Checks the envelope of an interchange we wrote (ISA of 106 characters, IEA01/GE01/SE01 counts,
 * ISA13=IEA02, GS06=GE02, ST02=SE02) and returns its segments with the date, time and control
 * numbers that vary from run to run replaced by zeros, one segment per line as the expected
 * files hold them.
 */
export function checkedAndNormalized(x12: string): string[] {
  if (!x12) return [];
  const segments = segmentsOf(x12);
  const element = x12[3];
  const problems: string[] = [];
  if (x12.indexOf(x12[105]) !== 105) problems.push('ISA is not 106 characters');
  const isa = segments[0];
  const iea = segments[segments.length - 1];
  if (isa[0] !== 'ISA' || iea[0] !== 'IEA') problems.push('not enclosed in ISA..IEA');
  if (isa[13] !== iea[2]) problems.push(`ISA13 ${isa[13]} != IEA02 ${iea[2]}`);
  if (Number(iea[1]) !== segments.filter((s) => s[0] === 'GS').length) problems.push('IEA01 count');
  let gs: string[] | undefined; let sets = 0; let st: string[] | undefined; let inSet = 0;
  for (const s of segments) {
    if (s[0] === 'GS') { gs = s; sets = 0; }
    if (s[0] === 'ST') { st = s; inSet = 0; sets++; }
    inSet++;
    if (s[0] === 'SE') {
      if (Number(s[1]) !== inSet) problems.push(`SE01 ${s[1]} != ${inSet}`);
      if (s[2] !== st?.[2]) problems.push('SE02 != ST02');
    }
    if (s[0] === 'GE') {
      if (s[2] !== gs?.[6]) problems.push(`GE02 ${s[2]} != GS06 ${gs?.[6]}`);
      if (Number(s[1]) !== sets) problems.push('GE01 count');
    }
  }
  if (problems.length) throw new Error(`bad envelope: ${problems.join('; ')}\n${x12}`);
  return segments.map((e) => {
    const s = [...e];
    if (s[0] === 'ISA') { s[9] = '000000'; s[10] = '0000'; s[13] = '000000000'; }
    if (s[0] === 'GS') { s[4] = '00000000'; s[5] = '0000'; s[6] = '0'; }
    if (s[0] === 'GE') s[2] = '0';
    if (s[0] === 'IEA') s[2] = '000000000';
    return s.join(element);
  });
}

export function expectedAck(name: string): string[] {
  const text = fs.readFileSync(path.join(fixtures, 'expected', name.replace(/\.x12$/, '.ack')), 'utf8');
  return text.split('\n').filter(Boolean);
}

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../helpers/wait.js';
import { fixtures, segmentsOf, startEdi, type EdiGateway } from './helpers.js';

/**
 * The public corpora in test/fixtures/edi/<corpus>/ (sample files published with open-source X12
 * parsers, with their licences), each file sent as published the two ways a partner sends it:
 * POST /edi/x12 and the drop folder. Its outcome (TA1, then per group the 997/999 with AK9 and
 * each set's AK5/IK5, stored or not) must be the one in corpus-expected.json, a table reviewed
 * by hand against each file; the pack README says why each rejected file really is invalid.
 */

const CORPORA = ['oopfactory-x12', 'x12-types', 'node-x12'];
const HANDLED = ['810', '850', '855', '856', '860', '865', '997', '999', '204', '210', '214', '990'];
const table = JSON.parse(fs.readFileSync(path.join(fixtures, 'corpus-expected.json'), 'utf8')) as Record<string, Outcome>;

interface Outcome {
  /** TA1 status and note code, when the answer holds a TA1. */
  ta1?: [string, string];
  /** Per group acknowledged: [997 or 999, AK9 status, AK5/IK5 status of each set]. */
  groups: Array<[string, string, string[]]>;
  /** Where the drop folder puts it: processed/ (everything accepted) or failed/. */
  folder?: 'processed' | 'failed';
}

const files = CORPORA.flatMap((corpus) => fs.readdirSync(path.join(fixtures, corpus))
  .filter((f) => !/^(LICENSE|README)/.test(f)).sort().map((f) => `${corpus}/${f}`));

/** ISA06, ISA08 and the sets of a file, read the way the plugin reads its separators. */
function envelope(text: string) {
  const start = text.replace(/^\uFEFF/, '').search(/ISA/);
  const body = text.replace(/^\uFEFF/, '').slice(start);
  const sep = body[3];
  const isa = body.split(sep);
  const sets = [...body.matchAll(new RegExp(`(?:^|[^A-Z0-9])ST\\${sep}(\\d{3})`, 'g'))].map((m) => m[1]);
  return { sender: isa[6].trim(), receiver: isa[8].trim(), sets };
}

/** Every sender of the corpus as a trading partner that addresses us as its files do (ISA08). */
function partners(): string[] {
  const byId = new Map<string, { receivers: Set<string>; sets: Set<string> }>();
  for (const f of files) {
    const e = envelope(fs.readFileSync(path.join(fixtures, f), 'utf8'));
    const p = byId.get(e.sender) ?? { receivers: new Set<string>(), sets: new Set<string>() };
    p.receivers.add(e.receiver);
    e.sets.filter((s) => HANDLED.includes(s)).forEach((s) => p.sets.add(s));
    byId.set(e.sender, p);
  }
  return [...byId].map(([id, p]) => JSON.stringify({ id, our_ids: [...p.receivers], formats: [...p.sets].sort() }));
}

/** How many interchanges a file holds: ISA segments at the start of the text or of a line. */
function interchanges(text: string): number {
  return text.replace(/^\uFEFF/, '').split(/(?:^|\n)\s*(?=ISA)/).filter((part) => part.startsWith('ISA')).length;
}

/** What an acknowledgment says, in the shape of the table. */
function outcome(ack: string): Outcome {
  const segments = segmentsOf(ack);
  const result: Outcome = { groups: [] };
  const ta1 = segments.find((s) => s[0] === 'TA1');
  if (ta1) result.ta1 = [ta1[4], ta1[5]];
  let group: [string, string, string[]] | undefined;
  for (const s of segments) {
    if (s[0] === 'ST') { group = [s[1], '', []]; result.groups.push(group); }
    if ((s[0] === 'AK5' || s[0] === 'IK5') && group) group[2].push(s.slice(1).join(' '));
    if (s[0] === 'AK9' && group) group[1] = s[1];
  }
  return result;
}

let edi: EdiGateway;
beforeAll(async () => { edi = await startEdi({ partners: partners(), settle: '200ms' }); }, 60_000);
afterAll(async () => { await edi?.service.stop(); });

describe('logistics/edi-x12 public corpora', () => {
  it('has an expected outcome for every file and no outcome without a file', () => {
    expect(Object.keys(table).sort()).toEqual([...files].sort());
    expect(files.length).toBeGreaterThanOrEqual(25);
  });

  it.each(files)('%s over HTTP', async (name) => {
    const input = fs.readFileSync(path.join(fixtures, name), 'utf8');
    const before = edi.documents().length;
    const { status, text } = await edi.post('/edi/x12', input);
    expect(status).toBe(200);
    const { folder, ...answer } = table[name];
    expect(folder).toMatch(/^(processed|failed)$/);
    expect(outcome(text)).toEqual(answer);
    // One document per interchange (a file may carry several), together the exact input.
    const stored = edi.documents().slice(before);
    expect(stored).toHaveLength(interchanges(input));
    expect(stored.map((d) => d.body).join('')).toBe(input);
    expect(stored.map((d) => d.meta.acknowledgment).join('')).toBe(text);
  });

  it.each(files)('%s through the drop folder', async (name) => {
    const input = fs.readFileSync(path.join(fixtures, name), 'utf8');
    const file = name.replace('/', '--');
    fs.writeFileSync(path.join(edi.inbound, `.${file}.tmp`), input);
    fs.renameSync(path.join(edi.inbound, `.${file}.tmp`), path.join(edi.inbound, file));
    const { folder: where, ...answer } = table[name];
    const folder = path.join(edi.inbound, where!);
    await waitFor(`${where}/${file}`, () => fs.existsSync(path.join(folder, file)));
    expect(fs.readFileSync(path.join(folder, file), 'utf8')).toBe(input);
    // No acknowledgment is due for a group of acknowledgments without ISA14 = 1: no NAME.ack.
    const ack = path.join(folder, `${file}.ack`);
    expect(outcome(fs.existsSync(ack) ? fs.readFileSync(ack, 'utf8') : '')).toEqual(answer);
    const stored = edi.documents().filter((d) => d.meta.source === `drop:${file}`);
    expect(stored).toHaveLength(interchanges(input));
    expect(stored.map((d) => d.body).join('')).toBe(input);
  });
});

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkedAndNormalized, expectedAck, fixture, fixtures, segmentsOf, startEdi, type EdiGateway } from './helpers.js';

/**
 * Every fixture in test/fixtures/edi POSTed to /edi/x12 of the real gateway running the real
 * libedi_plugin.so: the acknowledgment must equal test/fixtures/edi/expected/NAME.ack exactly
 * (dates, times and our own control numbers zeroed after their envelope was checked), and the
 * interchange must be in the buffer before the answer came back.
 */

let edi: EdiGateway;
beforeAll(async () => { edi = await startEdi(); });
afterAll(async () => { await edi?.service.stop(); });

const names = fs.readdirSync(fixtures).filter((f) => f.endsWith('.x12')).sort();

describe('logistics/edi-x12 acknowledgments', () => {
  it('covers 850, 855, 856 and 810 in both versions and every envelope fault', () => {
    for (const set of ['850', '855', '856', '810']) for (const v of ['4010', '5010']) expect(names).toContain(`${set}-${v}.x12`);
    for (const fault of ['multi-group-4010', 'multi-group-5010', 'wrong-se-count-4010', 'wrong-ge-count-5010', 'wrong-iea-count-4010',
      'wrong-se-control-5010', 'wrong-ge-control-4010', 'wrong-iea-control-5010', 'unknown-partner-4010', 'disallowed-set-5010']) {
      expect(names).toContain(`${fault}.x12`);
    }
  });

  it.each(names)('%s is answered with exactly its expected acknowledgment and stored first', async (name) => {
    const before = edi.documents().length;
    const input = fixture(name);
    const { status, text } = await edi.post('/edi/x12', input);
    expect(status).toBe(200);
    expect(checkedAndNormalized(text)).toEqual(expectedAck(name));
    const stored = edi.documents();
    expect(stored).toHaveLength(before + 1);
    const doc = stored[stored.length - 1];
    expect(doc.type).toBe('edi-x12');
    expect(doc.body).toBe(input);
    expect(doc.meta.acknowledgment).toBe(text);
    expect(doc.meta.source).toBe('http');
  });

  it('uses a fresh interchange and group control number for every acknowledgment', async () => {
    const a = segmentsOf((await edi.post('/edi/x12', fixture('850-4010.x12'))).text);
    const b = segmentsOf((await edi.post('/edi/x12', fixture('multi-group-4010.x12'))).text);
    expect(Number(b[0][13])).toBeGreaterThan(Number(a[0][13]));
    const groupsA = a.filter((s) => s[0] === 'GS').map((s) => Number(s[6]));
    const groupsB = b.filter((s) => s[0] === 'GS').map((s) => Number(s[6]));
    expect(groupsB).toHaveLength(2);
    expect(groupsB[0]).toBeGreaterThan(Math.max(...groupsA));
    expect(groupsB[1]).toBeGreaterThan(groupsB[0]);
  });

  it('records per group and per set how each was acknowledged', async () => {
    await edi.post('/edi/x12', fixture('wrong-se-count-4010.x12'));
    const meta = edi.documents().at(-1)!.meta as { partner: string; groups: Array<{ status: string; transactions: Array<{ accepted: boolean; codes: string[] }> }> };
    expect(meta.partner).toBe('WALMART');
    expect(meta.groups[0].status).toBe('P');
    expect(meta.groups[0].transactions.map((t) => [t.accepted, t.codes])).toEqual([[false, ['4']], [true, []]]);
  });

  it('refuses what is not an interchange with 400 and where, and stores nothing', async () => {
    const before = edi.documents().length;
    const { status, text } = await edi.post('/edi/x12', 'GS*PO*WALMART*BACKWORKS~');
    expect(status).toBe(400);
    expect(text).toContain('no ISA segment at byte 0');
    const cut = await edi.post('/edi/x12', fixture('850-4010.x12').slice(0, 60));
    expect(cut.status).toBe(400);
    expect(cut.text).toContain('element separators');
    expect(edi.documents()).toHaveLength(before);
  });
});

describe('logistics/edi-x12 /edi/x12/parse', () => {
  it('answers an 850 as JSON with named segments and loops, and stores nothing', async () => {
    const before = edi.documents().length;
    const { status, text } = await edi.post('/edi/x12/parse', fixture('850-5010.x12'));
    expect(status).toBe(200);
    const parsed = JSON.parse(text);
    expect(edi.documents()).toHaveLength(before);
    expect(parsed.interchange).toMatchObject({ sender: { qualifier: 'ZZ', id: 'WALMART' }, version: '00501', control_number: '000000201', separators: { element: '*', repetition: '^', component: '>', segment: '~' } });
    const [group] = parsed.groups;
    expect(group).toMatchObject({ functional_id: 'PO', control_number: '201', version: '005010', status: 'A' });
    const po = group.transactions[0];
    expect(po).toMatchObject({ set: '850', control_number: '0001', status: 'accepted', errors: [] });
    expect(po.data.BEG).toEqual({ purpose_code: '00', type_code: 'SA', po_number: '4500012345', date: '20240301' });
    expect(po.data.N1_loop[0].N1).toEqual({ entity_code: 'ST', name: 'WALMART DC 6094', id_qualifier: 'UL', id_code: '0078742000176' });
    expect(po.data.PO1_loop).toHaveLength(2);
    expect(po.data.PO1_loop[1].PO1).toMatchObject({ line_number: '2', quantity: '48', unit: 'CA', unit_price: '18.50', id_1: '012345678912' });
    expect(po.data.PO1_loop[1].PID_loop[0].PID.description).toBe('WIDGET RED CASE');
    expect(po.data.CTT_loop[0].CTT).toEqual({ line_count: '2' });
  });

  it('nests the 856 HL levels by parent: shipment > order > packs > items', async () => {
    const parsed = JSON.parse((await edi.post('/edi/x12/parse', fixture('856-4010.x12'))).text);
    const hl = parsed.groups[0].transactions[0].data.HL_loop;
    expect(hl).toHaveLength(1);
    const shipment = hl[0];
    expect(shipment.HL).toEqual({ id: '1', level_code: 'S', child_code: '1' });
    expect(shipment.REF[0]).toEqual({ qualifier: 'BM', value: 'BOL445566' });
    const order = shipment.children[0];
    expect(order.PRF.po_number).toBe('4500012345');
    expect(order.children.map((p: { MAN: Array<{ number: string }> }) => p.MAN[0].number)).toEqual(['00000123450000000018', '00000123450000000025']);
    expect(order.children[1].children[0].SN1).toEqual({ quantity: '40', unit: 'CA' });
  });

  it('names every error with its segment, position, loop and element', async () => {
    const parsed = JSON.parse((await edi.post('/edi/x12/parse', fixture('segment-errors-5010.x12'))).text);
    const set = parsed.groups[0].transactions[0];
    expect(set.status).toBe('rejected');
    expect(set.errors).toEqual([
      { segment: 'BEG', position: 2, code: '8', elements: [{ position: 5, reference: '373', code: '8', value: '20240231' }] },
      { segment: 'ZZZ', position: 11, code: '1', elements: [], expected: set.errors[1].expected },
      { segment: 'PO1', position: 19, loop: 'PO1', code: '8', elements: [{ position: 2, reference: '330', code: '6', value: '4X8' }] },
    ]);
    // What could have come instead, for people reading the verdict: the 850 header segments that
    // may follow the DTM at position 10 (this is not sent in the 999).
    expect(set.errors[1].expected.slice(0, 3)).toEqual(['DTM', 'LIN', 'SI']);
  });

  it('/edi/x12/validate answers the same verdict without the transaction data', async () => {
    const parsed = JSON.parse((await edi.post('/edi/x12/parse', fixture('wrong-se-count-4010.x12'))).text);
    const validated = JSON.parse((await edi.post('/edi/x12/validate', fixture('wrong-se-count-4010.x12'))).text);
    for (const t of parsed.groups[0].transactions) delete t.data;
    expect(validated).toEqual(parsed);
    expect(validated.groups[0]).toMatchObject({ status: 'P', received: 2, accepted: 1 });
    expect(validated.groups[0].transactions.map((t: { codes: string[] }) => t.codes)).toEqual([['4'], []]);
  });

  it('reports the envelope problem in words for a rejected interchange', async () => {
    const parsed = JSON.parse((await edi.post('/edi/x12/parse', fixture('wrong-iea-control-5010.x12'))).text);
    expect(parsed.status).toBe('rejected');
    expect(parsed.ta1_note).toBe('001');
    expect(parsed.problems).toContain('IEA02 "000000530" does not match ISA13 "000000503"');
  });
});

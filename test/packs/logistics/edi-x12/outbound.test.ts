import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkedAndNormalized, fixture, segmentsOf, startEdi, type EdiGateway } from './helpers.js';

/**
 * Outbound 855, 856 and 810 from JSON through POST /edi/x12/outbound/:set of the real gateway:
 * the JSON the parse endpoint gives back becomes the same transaction set again, in a full
 * envelope whose control numbers are never reused, also after the gateway restarted.
 */

const running: EdiGateway[] = [];
afterEach(async () => { while (running.length) await running.pop()!.service.stop(); });

async function start(dir?: string): Promise<EdiGateway> {
  const edi = await startEdi({ dir });
  running.push(edi);
  return edi;
}

/** The body (ST..SE) of the first transaction set of an interchange, segment by segment. */
function setBody(x12: string): string[] {
  const segments = segmentsOf(x12).map((s) => s.join('*'));
  return segments.slice(segments.findIndex((s) => s.startsWith('ST*')), segments.findIndex((s) => s.startsWith('SE*')) + 1);
}

async function parsedData(edi: EdiGateway, name: string): Promise<unknown> {
  const parsed = JSON.parse((await edi.post('/edi/x12/parse', fixture(name))).text);
  return parsed.groups[0].transactions[0].data;
}

describe('logistics/edi-x12 outbound', () => {
  it.each([['855', '855-4010.x12', 'WALMART'], ['856', '856-5010.x12', 'WALMART'], ['810', '810-5010.x12', 'TARGET']])(
    '%s: parse JSON in, the same transaction set out, stored and written to the outbound folder',
    async (set, name, partner) => {
      const edi = await start();
      const data = await parsedData(edi, name);
      const before = edi.documents().length;
      const { status, text } = await edi.post(`/edi/x12/outbound/${set}`, JSON.stringify({ partner, transaction: data }));
      expect(status, text).toBe(200);
      const lines = checkedAndNormalized(text);
      expect(setBody(text)).toEqual(setBody(fixture(name)));
      const version = partner === 'TARGET' ? '00501' : '00401';
      expect(lines[0]).toBe(`ISA*00*          *00*          *ZZ*BACKWORKS      *ZZ*${partner.padEnd(15)}*000000*0000*${version === '00501' ? '^' : 'U'}*${version}*000000000*0*P*>`);
      expect(lines[1]).toBe(`GS*${{ 855: 'PR', 856: 'SH', 810: 'IN' }[set]}*BACKWORKS*${partner}*00000000*0000*0*X*${partner === 'TARGET' ? '005010' : '004010'}`);
      const stored = edi.documents().slice(before);
      expect(stored.map((d) => d.type)).toEqual(['edi-x12-outbound']);
      expect(stored[0].body).toBe(text);
      const isa13 = segmentsOf(text)[0][13];
      expect(fs.readFileSync(path.join(edi.outbound, `${set}-${partner}-${isa13}.x12`), 'utf8')).toBe(text);
    },
  );

  it('numbers the 856 HL levels from the JSON nesting (HL01, HL02 parent, HL04 children)', async () => {
    const edi = await start();
    const transaction = {
      BSN: { purpose_code: '00', shipment_id: 'SH-1', date: '20240312', time: '1415' },
      HL_loop: [{
        HL: { level_code: 'S' }, TD1: [{ packaging_code: 'CTN25', lading_quantity: 2 }],
        children: [{ HL: { level_code: 'O' }, PRF: { po_number: '4500012345' }, children: [
          { HL: { level_code: 'I' }, LIN: { id_qualifier_1: 'UP', id_1: '012345678905' }, SN1: { quantity: 10, unit: 'EA' } },
          { HL: { level_code: 'I' }, LIN: { id_qualifier_1: 'UP', id_1: '012345678912' }, SN1: { quantity: 5, unit: 'EA' } },
        ] }],
      }],
      CTT: { line_count: 4 },
    };
    const { status, text } = await edi.post('/edi/x12/outbound/856', JSON.stringify({ partner: 'WALMART', transaction }));
    expect(status, text).toBe(200);
    expect(setBody(text)).toEqual([
      'ST*856*0001', 'BSN*00*SH-1*20240312*1415', 'HL*1**S*1', 'TD1*CTN25*2', 'HL*2*1*O*1', 'PRF*4500012345',
      'HL*3*2*I*0', 'LIN**UP*012345678905', 'SN1**10*EA', 'HL*4*2*I*0', 'LIN**UP*012345678912', 'SN1**5*EA', 'CTT*4', 'SE*14*0001',
    ]);
  });

  it('puts several transactions in one group with ST02 0001, 0002 and GE01 2', async () => {
    const edi = await start();
    const data = await parsedData(edi, '855-5010.x12');
    const { text } = await edi.post('/edi/x12/outbound/855', JSON.stringify({ partner: 'WALMART', transactions: [data, data] }));
    const segments = segmentsOf(text);
    expect(segments.filter((s) => s[0] === 'ST').map((s) => s[2])).toEqual(['0001', '0002']);
    expect(segments.find((s) => s[0] === 'GE')![1]).toBe('2');
    checkedAndNormalized(text);
  });

  it('refuses with 400 naming what is wrong, and burns no control number', async () => {
    const edi = await start();
    const ok = JSON.stringify({ partner: 'WALMART', transaction: { BAK: { purpose_code: '00', acknowledgment_type: 'AC', po_number: '1', po_date: '20240301' } } });
    const first = segmentsOf((await edi.post('/edi/x12/outbound/855', ok)).text)[0][13];
    const refusals: Array<[string, string, string]> = [
      ['810', JSON.stringify({ partner: 'WALMART', transaction: {} }), 'partner "WALMART" does not exchange 810 (its formats: 850, 855, 856)'],
      ['855', JSON.stringify({ partner: 'KMART', transaction: {} }), 'partner "KMART" is not a configured trading partner'],
      ['855', JSON.stringify({ partner: 'WALMART', transaction: { BAK: { purpose_code: '00', colour: 'red' } } }), 'transaction.BAK.colour: unknown element of BAK'],
      ['855', JSON.stringify({ partner: 'WALMART', transaction: { BAK: { purpose_code: '00', acknowledgment_type: 'AC', po_number: '1', po_date: '20240231' } } }), 'BAK (segment 2 of the set): element 04 po_date: invalid date (CCYYMMDD)'],
      ['855', JSON.stringify({ partner: 'WALMART', transaction: { REF: [{ qualifier: 'VN', value: 'x' }] } }), 'BAK (segment 2 of the set): mandatory segment missing'],
      ['855', JSON.stringify({ partner: 'WALMART', transaction: { BAK: { purpose_code: '00', acknowledgment_type: 'AC', po_number: '1*2', po_date: '20240301' } } }), 'transaction.BAK.po_number: "1*2" contains a separator character'],
      ['855', JSON.stringify({ partner: 'WALMART', transaction: { PO2_loop: [] } }), 'transaction.PO2_loop: not part of this set'],
      ['855', 'not json', 'the body is not JSON'],
    ];
    for (const [set, body, message] of refusals) {
      const { status, text } = await edi.post(`/edi/x12/outbound/${set}`, body);
      expect(status, body).toBe(400);
      expect((JSON.parse(text) as { error: string }).error).toContain(message);
    }
    const missing = await edi.post('/edi/x12/outbound/850', ok);
    expect(missing.status).toBe(404);
    const next = segmentsOf((await edi.post('/edi/x12/outbound/855', ok)).text)[0][13];
    expect(Number(next)).toBe(Number(first) + 1);
  });

  it('never reuses a control number after a restart (they live in plugin state)', async () => {
    let edi = await start();
    const body = JSON.stringify({ partner: 'WALMART', transaction: { BAK: { purpose_code: '00', acknowledgment_type: 'AC', po_number: '1', po_date: '20240301' } } });
    const seen = new Set<string>();
    let last = 0;
    for (let i = 0; i < 3; i++) {
      const s = segmentsOf((await edi.post('/edi/x12/outbound/855', body)).text);
      seen.add(`ISA ${s[0][13]}`); seen.add(`GS ${s[1][6]}`);
      last = Number(s[0][13]);
    }
    const ack = segmentsOf((await edi.post('/edi/x12', fixture('850-4010.x12'))).text);
    expect(Number(ack[0][13])).toBe(last + 1);
    seen.add(`ISA ${ack[0][13]}`); seen.add(`GS ${ack[2][6]}`);
    const dir = edi.dir;
    await edi.service.stop();
    running.pop();
    edi = await start(dir);
    for (let i = 0; i < 3; i++) {
      const s = segmentsOf((await edi.post('/edi/x12/outbound/855', body)).text);
      expect(seen.has(`ISA ${s[0][13]}`)).toBe(false);
      expect(seen.has(`GS ${s[1][6]}`)).toBe(false);
      expect(Number(s[0][13])).toBeGreaterThan(last);
      seen.add(`ISA ${s[0][13]}`); seen.add(`GS ${s[1][6]}`);
    }
  });
});

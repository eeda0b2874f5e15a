import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../helpers/wait.js';
import { checkedAndNormalized, expectedAck, fixture, startEdi, type EdiGateway } from './helpers.js';

/**
 * The drop folder of the real plugin in the real gateway: files renamed into place or written
 * slowly, good and bad interchanges, garbage. Each ends in processed/ or failed/ with its
 * acknowledgment (or error) beside it, and only after the buffer committed it.
 */

let edi: EdiGateway;
beforeAll(async () => { edi = await startEdi({ settle: '400ms' }); });
afterAll(async () => { await edi?.service.stop(); });

const exists = (file: string) => fs.existsSync(file) && file;

describe('logistics/edi-x12 drop folder', () => {
  it('moves an accepted interchange to processed/ with its acknowledgment beside it, after storing it', async () => {
    const text = fixture('856-5010.x12');
    fs.writeFileSync(path.join(edi.inbound, '.asn-0001.tmp'), text);
    fs.renameSync(path.join(edi.inbound, '.asn-0001.tmp'), path.join(edi.inbound, 'asn-0001.x12'));
    const moved = await waitFor('processed/asn-0001.x12', () => exists(path.join(edi.inbound, 'processed', 'asn-0001.x12')));
    expect(fs.readFileSync(moved, 'utf8')).toBe(text);
    expect(fs.existsSync(path.join(edi.inbound, 'asn-0001.x12'))).toBe(false);
    const ack = fs.readFileSync(path.join(edi.inbound, 'processed', 'asn-0001.x12.ack'), 'utf8');
    expect(checkedAndNormalized(ack)).toEqual(expectedAck('856-5010.x12'));
    const doc = edi.documents().find((d) => d.meta.source === 'drop:asn-0001.x12');
    expect(doc?.body).toBe(text);
    expect(doc?.meta.acknowledgment).toBe(ack);
  });

  it('moves a rejected one to failed/ with its acknowledgment, and garbage with the reason', async () => {
    fs.writeFileSync(path.join(edi.inbound, 'po-bad-partner.x12'), fixture('unknown-partner-4010.x12'));
    fs.writeFileSync(path.join(edi.inbound, 'notes.txt'), 'this is not EDI');
    const ack = await waitFor('failed/po-bad-partner.x12.ack', () => exists(path.join(edi.inbound, 'failed', 'po-bad-partner.x12.ack')));
    expect(checkedAndNormalized(fs.readFileSync(ack, 'utf8'))).toEqual(expectedAck('unknown-partner-4010.x12'));
    await waitFor('failed/po-bad-partner.x12', () => exists(path.join(edi.inbound, 'failed', 'po-bad-partner.x12')));
    const error = await waitFor('failed/notes.txt.error.txt', () => exists(path.join(edi.inbound, 'failed', 'notes.txt.error.txt')));
    expect(fs.readFileSync(error, 'utf8')).toContain('not an X12 interchange: no ISA segment at byte 0');
    await waitFor('failed/notes.txt', () => exists(path.join(edi.inbound, 'failed', 'notes.txt')));
    expect(edi.documents().some((d) => d.meta.source === 'drop:notes.txt')).toBe(false);
  });

  it('never takes a file that is still being written, however slowly', async () => {
    const text = fixture('multi-group-4010.x12');
    const file = path.join(edi.inbound, 'slow-writer.x12');
    const fd = fs.openSync(file, 'w');
    // 40 pieces, one every 150 ms (6 s in all): far longer than `settle` (400 ms) in total, but
    // never still for as long; taken early, the interchange would be cut short and rejected.
    const pieces = 40;
    const size = Math.ceil(text.length / pieces);
    for (let i = 0; i < pieces; i++) {
      fs.writeSync(fd, text.slice(i * size, (i + 1) * size));
      await new Promise((r) => setTimeout(r, 150));
      expect(fs.existsSync(path.join(edi.inbound, 'processed', 'slow-writer.x12'))).toBe(false);
      expect(fs.existsSync(path.join(edi.inbound, 'failed', 'slow-writer.x12'))).toBe(false);
    }
    fs.closeSync(fd);
    const moved = await waitFor('processed/slow-writer.x12', () => exists(path.join(edi.inbound, 'processed', 'slow-writer.x12')));
    expect(fs.readFileSync(moved, 'utf8')).toBe(text);
    const stored = edi.documents().filter((d) => d.meta.source === 'drop:slow-writer.x12');
    expect(stored).toHaveLength(1);
    expect(stored[0].body).toBe(text);
  });

  it('keeps both when a file of the same name arrives again', async () => {
    for (const round of [1, 2]) {
      fs.writeFileSync(path.join(edi.inbound, 'po.x12'), fixture('850-4010.x12'));
      await waitFor(`round ${round}`, () => !fs.existsSync(path.join(edi.inbound, 'po.x12')));
    }
    await waitFor('processed/po.x12.1', () => exists(path.join(edi.inbound, 'processed', 'po.x12.1.ack')));
    expect(fs.readFileSync(path.join(edi.inbound, 'processed', 'po.x12'), 'utf8')).toBe(fixture('850-4010.x12'));
    expect(fs.readFileSync(path.join(edi.inbound, 'processed', 'po.x12.1'), 'utf8')).toBe(fixture('850-4010.x12'));
  });
});

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFetch, startService, type RunningService } from '../../helpers/service.js';
import { freePort } from '../../helpers/net.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { countDocuments, CR, FS, fixtureFiles, fixtures, library, message, msa, peer, RawClient, VT, writeConfig } from './hl7-helpers.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const FhirValidator = require('@asymmetrik/fhir-json-schema-validator') as new () => { validate(r: unknown): unknown[] };
const validator = new FhirValidator();

async function post(url: string, body: string): Promise<{ status: number; json: any }> {
  const res = await authFetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  const text = await res.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, json };
}

describe('healthcare/hl7 in the running service', () => {
  let dir: string;
  let mllpPort: number;
  let service: RunningService;

  beforeAll(async () => {
    expect(fs.existsSync(library), `${library} missing: run npm run build`).toBe(true);
    dir = tempDir('bw-hl7-');
    mllpPort = await freePort();
    service = await startService(writeConfig(dir, mllpPort));
  });
  afterAll(async () => { await service?.stop(); });

  it('acknowledges every fixture to python-hl7 (ADT and ORU, 2.3 to 2.8) only once stored', async () => {
    const { stdout } = await run('/usr/bin/python3', [peer, '127.0.0.1', String(mllpPort), ...fixtureFiles.map((f) => path.join(fixtures, f))]);
    const acks = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string | null>);
    expect(acks).toHaveLength(fixtureFiles.length);
    for (const ack of acks) {
      const text = fs.readFileSync(ack.file!, 'utf8');
      const msh = text.split('\r')[0]!.split('|');
      // Enhanced mode (MSH-15 valued) gets a commit ACK, original mode an application ACK.
      expect(ack.msa1, ack.file!).toBe(msh[14] ? 'CA' : 'AA');
      expect(ack.msa2).toBe(msh[9]);
      expect([ack.msh3, ack.msh4, ack.msh5, ack.msh6]).toEqual([msh[4], msh[5], msh[2], msh[3]]);
      expect(ack.msh12).toBe(msh[11]);
      expect(ack.err).toBeNull();
    }
    expect(countDocuments(dir)).toBe(fixtureFiles.length);
  });

  it("works with python-hl7's mllp_send command too", async () => {
    const file = path.join(fixtures, 'adt-a08-v2.4.hl7');
    const { stdout } = await run('/usr/bin/mllp_send', ['-p', String(mllpPort), '--loose', '-f', file, '127.0.0.1']);
    expect(stdout).toContain('MSA|AA|CG-88231');
  });

  it('answers a resend with the same MSH-10 again without storing it twice', async () => {
    const before = countDocuments(dir);
    const client = await RawClient.open(mllpPort);
    const text = message('2.5', 'RESEND-1');
    client.send(client.frame(text));
    expect(msa(await client.ack())).toEqual(['AA', 'RESEND-1']);
    client.send(client.frame(text));
    expect(msa(await client.ack())).toEqual(['AA', 'RESEND-1']);
    client.close();
    expect(countDocuments(dir)).toBe(before + 1);
  });

  it('answers AE for a malformed message and AR for a version that is not v2, storing neither', async () => {
    const before = countDocuments(dir);
    const client = await RawClient.open(mllpPort);
    const cases: Array<[string, string, string, RegExp]> = [
      [message('2.5', 'E1').replace('ADT^A01', ''), 'E1', 'AE', /ERR\|\|MSH\^1\^9\|101\^Required field missing/],
      [message('2.3', 'E2').replace('|P|2.3', '|P|'), 'E2', 'AE', /ERR\|\|MSH\^1\^12\|101\^Required field missing/],
      [message('3.0', 'R1'), 'R1', 'AR', /ERR\|\|MSH\^1\^12\|203\^Unsupported version id/],
      [message('2.5', 'R2').replace('|P|2.5', '|X|2.5'), 'R2', 'AR', /202\^Unsupported processing id/],
      ['MSH|^~\\&|SRC|FAC|BW|GW|20240101||ADT^A01|E4|P|2.5\rpid|broken\r', 'E4', 'AE', /ERR/],
    ];
    for (const [text, control, code, err] of cases) {
      client.send(client.frame(text));
      const ack = await client.ack();
      expect(msa(ack), text).toEqual([code, control]);
      expect(ack).toMatch(err);
    }
    client.close();
    expect(countDocuments(dir)).toBe(before);
  });

  it('keeps every other well-formed message, mapped or not, and says which in /hl7/documents, health and metrics', async () => {
    const client = await RawClient.open(mllpPort);
    const kept: Array<[string, string]> = [
      [message('2.5', 'NM-1').replace('ADT^A01', 'ZZZ^Z01'), 'no FHIR mapping for ZZZ^Z01'],
      [message('2.2', 'NM-2').replace('ADT^A01', 'QRY^Q01'), 'no FHIR mapping for QRY^Q01'],
      [message('2.5', 'NM-3', 'PID|1||\rPV1|1|I'), 'PID-3 (patient identifier list) is empty'],
      [message('2.5', 'NM-4', 'PID|1||9^^^H^MR\rOBR|1|||X^Y^LN\rOBX|1|NM|X^Y^LN||abc').replace('ADT^A01', 'ORU^R01'), 'OBX-5 "abc" is not a number'],
    ];
    for (const [text] of kept) {
      client.send(client.frame(text));
      expect(msa(await client.ack())[0], text).toBe('AA');
    }
    client.close();
    const listed = await authFetch(`${service.url}/hl7/documents/not_mapped`);
    expect(listed.status).toBe(200);
    const { documents } = await listed.json() as { documents: Array<{ status: string; body: string; meta: { control_id: string; reason: string } }> };
    for (const [text, reason] of kept) {
      const control = text.split('\r')[0]!.split('|')[9];
      const doc = documents.find((d) => d.meta.control_id === control);
      expect(doc, control).toBeDefined();
      expect(doc!.status).toBe('not_mapped');
      expect(doc!.meta.reason).toContain(reason);
      expect(doc!.body).toBe(text);
    }
    // Health is polled by the gateway: wait for the next check to show the counts.
    await waitFor('not_mapped in the plugin health', async () => /"not_mapped":[1-9]/.test(JSON.stringify(await (await authFetch(`${service.url}/api/plugins/hl7-fhir`)).json())));
    const metrics = await (await authFetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/backworks_buffer_documents\{plugin="hl7-fhir",type="hl7v2",status="not_mapped"\} [1-9]/);
    expect((await authFetch(`${service.url}/hl7/documents/bogus`)).status).toBe(400);
    const parsed = await post(`${service.url}/hl7/parse`, kept[0]![0]);
    expect(parsed.json).toMatchObject({ accepted: true, mapped: false, not_mapped: 'no FHIR mapping for ZZZ^Z01', message_type: 'ZZZ^Z01' });
    expect((await post(`${service.url}/hl7/parse`, message('2.5', 'MAP-1'))).json).toMatchObject({ accepted: true, mapped: true });
    expect((await post(`${service.url}/hl7/fhir`, kept[0]![0])).json.error).toContain('no FHIR mapping for ZZZ^Z01');
  });

  it('a control id reused for other content is a conflict: kept, answered AE 205, and its own resend is not stored again', async () => {
    const before = countDocuments(dir);
    const client = await RawClient.open(mllpPort);
    const first = message('2.5', 'SAME-1');
    const other = message('2.5', 'SAME-1', 'PID|1||777^^^H^MR||Roe^Ann\rPV1|1|O');
    client.send(client.frame(first));
    expect(msa(await client.ack())).toEqual(['AA', 'SAME-1']);
    for (let i = 0; i < 2; i++) {
      client.send(client.frame(other));
      const ack = await client.ack();
      expect(msa(ack)).toEqual(['AE', 'SAME-1']);
      expect(ack).toMatch(/ERR\|\|MSH\^1\^10\|205\^Duplicate key identifier\^HL70357\|E\|\|\|\|conflict: control id SAME-1 from SRC FAC was already received with other content/);
    }
    expect(service.logs.some((l) => /conflict from .*control id SAME-1 .*kept with status conflict/.test(String(l.msg)))).toBe(true);
    client.send(client.frame(first.replace(/\r/g, '\r\n'))); // the same message saved on another OS: a resend
    expect(msa(await client.ack())).toEqual(['AA', 'SAME-1']);
    client.close();
    expect(countDocuments(dir)).toBe(before + 2);
    const { documents } = await (await authFetch(`${service.url}/hl7/documents/conflict`)).json() as { documents: Array<{ meta: { control_id: string } }> };
    expect(documents.filter((d) => d.meta.control_id === 'SAME-1')).toHaveLength(1);
  });

  it('enhanced mode: commit and application acknowledgments as MSH-15/16 ask', async () => {
    const client = await RawClient.open(mllpPort);
    const enhanced = (control: string, accept: string, app: string, type = 'ADT^A01') =>
      message('2.5', control).replace('ADT^A01', type).replace('|P|2.5', `|P|2.5|||${accept}|${app}`);
    client.send(client.frame(enhanced('EN-1', 'AL', 'AL')));
    expect(msa(await client.ack())).toEqual(['CA', 'EN-1']);
    expect(msa(await client.ack())).toEqual(['AA', 'EN-1']);
    client.send(client.frame(enhanced('EN-2', 'NE', 'AL', 'SIU^S12')));
    expect(msa(await client.ack())).toEqual(['AA', 'EN-2']);
    client.send(client.frame(enhanced('EN-3', 'ER', 'NE')));
    client.send(client.frame(enhanced('EN-4', 'AL', 'NE')));
    expect(msa(await client.ack())).toEqual(['CA', 'EN-4']); // nothing for EN-3: stored, no error
    client.close();
  });

  it('survives malformed frames: junk, cut frames, oversized messages, then still acknowledges', async () => {
    const pid = (await (await authFetch(`${service.url}/api/plugins/hl7-fhir`)).json() as { restarts?: number }).restarts;
    const client = await RawClient.open(mllpPort);
    client.send('junk before any frame\r\n');
    client.send(Buffer.from([VT, ...Buffer.from('MSH|^~\\&|cut'), VT])); // new start inside a frame
    client.send(Buffer.from([FS, 0x41])); // end block without CR
    client.send(client.frame('not hl7 at all'));
    expect(msa(await client.ack())[0]).toBe('AE');
    client.send(client.frame(message('2.5', 'BIG-1', `PID|1||1^^^H^MR||${'x'.repeat(40_000)}\rPV1|1|I`)));
    const big = await client.ack();
    expect(msa(big)).toEqual(['AR', 'BIG-1']);
    expect(big).toContain('exceeds mllp.max_message_size');
    client.send(Buffer.from([VT, 0xff, 0xfe, 0x00, 0x80, FS, CR]));
    expect(msa(await client.ack())[0]).toBe('AE');
    client.send(client.frame(message('2.6', 'AFTER-JUNK')));
    expect(msa(await client.ack())).toEqual(['AA', 'AFTER-JUNK']);
    client.close();
    const after = await (await authFetch(`${service.url}/api/plugins/hl7-fhir`)).json() as { restarts?: number };
    expect(after.restarts).toBe(pid);
  });

  it('serves many concurrent connections', async () => {
    const clients = await Promise.all(Array.from({ length: 40 }, () => RawClient.open(mllpPort)));
    const acks = await Promise.all(clients.map(async (c, i) => {
      c.send(c.frame(message('2.5.1', `CONC-${i}`)));
      const a = msa(await c.ack());
      c.close();
      return a;
    }));
    expect(acks.map((a) => a.join(' ')).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `AA CONC-${i}`).sort());
  });

  it('POST /hl7/parse and /hl7/fhir: every fixture gives JSON and a Bundle that validates against the FHIR R4 schema', async () => {
    for (const file of fixtureFiles) {
      const text = fs.readFileSync(path.join(fixtures, file), 'utf8');
      const parsed = await post(`${service.url}/hl7/parse`, text);
      expect(parsed.status, file).toBe(200);
      expect(parsed.json.accepted).toBe(true);
      expect(parsed.json.segments[0].id).toBe('MSH');
      const bundle = await post(`${service.url}/hl7/fhir`, text);
      expect(bundle.status, file).toBe(200);
      expect(bundle.json).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
      expect(validator.validate(bundle.json), file).toEqual([]);
      const types = (bundle.json.entry as Array<{ resource: { resourceType: string } }>).map((e) => e.resource.resourceType);
      if (file.startsWith('adt')) expect(types).toEqual(['Patient', 'Encounter']);
      else expect(types).toEqual(expect.arrayContaining(['Patient', 'DiagnosticReport', 'Observation']));
    }
    const bad = await post(`${service.url}/hl7/fhir`, 'MSH|^~\\&|A|B|C|D|1||ORU^R01|1|P|2.5\rPID|1||1\rOBR|1|||X^Y^LN\rOBX|1|NM|A^B^LN||high');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/OBX-5 "high" is not a number \(NM\) at OBX-5 \(segment OBX #1\)/);
  });

  it('maps the fields as the v2-to-FHIR guide says (escapes, names, units, references)', async () => {
    const text = fs.readFileSync(path.join(fixtures, 'oru-r01-v2.5.1.hl7'), 'utf8');
    const bundle = (await post(`${service.url}/hl7/fhir`, text)).json;
    const byType = (t: string) => bundle.entry.filter((e: any) => e.resource.resourceType === t);
    const patient = byType('Patient')[0];
    expect(patient.request).toEqual({ method: 'PUT', url: 'Patient?identifier=urn:oid:2.16.840.1.113883.3.72.5.20|4455667'.replace('urn:oid:2.16.840.1.113883.3.72.5.20', 'urn:hl7v2:assigning-authority:STMARYS') });
    expect(patient.resource.name[0]).toMatchObject({ family: "O'Brien", given: ['Patrick', 'Sean'], suffix: ['Jr'] });
    const [lipids, troponin] = byType('DiagnosticReport');
    expect(lipids.resource.result).toHaveLength(3);
    expect(troponin.resource.subject.reference).toBe(patient.fullUrl);
    const observations = byType('Observation');
    expect(observations[0].resource.valueQuantity).toEqual({ value: 212, unit: 'milligram per deciliter', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
    expect(observations[3].resource.valueQuantity).toMatchObject({ value: 0.45, comparator: '>' });
    expect(observations[4].resource.valueString).toBe('Critical value called to Dr Kildare| read back confirmed');
  });
});

describe('healthcare/hl7 accept: and reject: lists', () => {
  let dir: string;
  let mllpPort: number;
  let service: RunningService;
  beforeAll(async () => {
    dir = tempDir('bw-hl7-policy-');
    mllpPort = await freePort();
    service = await startService(writeConfig(dir, mllpPort, '      accept: [ADT, ORU^R01]\n      reject: [ADT^A45]'));
  });
  afterAll(async () => { await service?.stop(); });

  it('answers AR naming the list; a refusal under NE/NE is kept with status refused and its reason', async () => {
    const client = await RawClient.open(mllpPort);
    const typed = (control: string, type: string, acks = '') => message('2.5', control).replace('ADT^A01', type).replace('|P|2.5', `|P|2.5${acks}`);
    client.send(client.frame(typed('P-1', 'ADT^A02')));
    expect(msa(await client.ack())).toEqual(['AA', 'P-1']);
    client.send(client.frame(typed('P-2', 'ADT^A45')));
    const refused = await client.ack();
    expect(msa(refused)).toEqual(['AR', 'P-2']);
    expect(refused).toMatch(/201\^Unsupported event code\^HL70357\|E\|\|\|\|message type ADT\\S\\A45 is refused by this gateway \(reject: ADT\\S\\A45\)/);
    client.send(client.frame(typed('P-3', 'SIU^S12')));
    const notAccepted = await client.ack();
    expect(msa(notAccepted)).toEqual(['AR', 'P-3']);
    expect(notAccepted).toMatch(/200\^Unsupported message type.*is not accepted by this gateway \(accept: ADT, ORU\\S\\R01\)/);
    client.send(client.frame(typed('P-4', 'ORU^R03', '|||NE|AL')));
    expect(msa(await client.ack())).toEqual(['AR', 'P-4']); // the application ACK it asked for
    client.send(client.frame(typed('P-5', 'SIU^S12', '|||NE|NE')));
    client.send(client.frame(typed('P-6', 'ADT^A02', '|||AL|NE')));
    expect(msa(await client.ack())).toEqual(['CA', 'P-6']); // P-5 asked for nothing and got nothing
    client.close();
    expect(countDocuments(dir)).toBe(3);
    const { documents } = await (await authFetch(`${service.url}/hl7/documents/refused`)).json() as { documents: Array<{ meta: { control_id: string; reason: string } }> };
    expect(documents.map((d) => [d.meta.control_id, d.meta.reason])).toEqual([['P-5', 'message type SIU^S12 is not accepted by this gateway (accept: ADT, ORU^R01)']]);
    const plugin = await waitFor('the refusals in the plugin health', async () => {
      const text = JSON.stringify(await (await authFetch(`${service.url}/api/plugins/hl7-fhir`)).json());
      return text.includes('"refused_kept":1') && text;
    });
    expect(plugin).toContain('"rejected":3');
    // The refusal no one was told of is in the log, with its reason.
    expect(service.logs.some((l) => /refused SRC\|FAC\|P-5 .*under NE\/NE.*kept as document \d+ with status refused: message type SIU\^S12 is not accepted/.test(String(l.msg)))).toBe(true);
  });
});

describe('healthcare/hl7 faults and uplink', () => {
  it('SIGKILL between commit and ACK: the resend after restart is acknowledged and stored exactly once, other content under its id is a conflict', async () => {
    const dir = tempDir('bw-hl7-kill-');
    const mllpPort = await freePort();
    // ack_delay holds the ACK back after the commit, so the kill lands in that window for sure.
    const config = writeConfig(dir, mllpPort, '      ack_delay: 5s');
    let service = await startService(config);
    const text = message('2.5.1', 'KILL-ME-1');
    const client = await RawClient.open(mllpPort);
    client.send(client.frame(text));
    const deadline = Date.now() + 10_000;
    while (countDocuments(dir) === 0) {
      if (Date.now() > deadline) throw new Error('the message was never committed');
      await new Promise((r) => setTimeout(r, 20));
    }
    await service.stop('SIGKILL');
    expect(await client.ack()).toBeNull(); // the sender got no ACK: it will resend
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('      ack_delay: 5s', ''));
    service = await startService(config);
    try {
      let again: RawClient | undefined;
      for (let i = 0; i < 50 && !again; i++) {
        again = await RawClient.open(mllpPort).catch(async () => { await new Promise((r) => setTimeout(r, 100)); return undefined; });
      }
      again!.send(again!.frame(text));
      expect(msa(await again!.ack())).toEqual(['AA', 'KILL-ME-1']);
      // The restarted gateway also knows the content: other content under that id is a conflict.
      again!.send(again!.frame(message('2.5.1', 'KILL-ME-1', 'PID|1||999^^^H^MR||Other^Al\rPV1|1|I')));
      expect(msa(await again!.ack())).toEqual(['AE', 'KILL-ME-1']);
      again!.close();
      expect(countDocuments(dir)).toBe(2);
    } finally {
      await service.stop();
    }
  });

  it('posts Bundles to base_url in order, retries "not now" answers until delivered and dead-letters a refused one after max_attempts (shown in /api and /health)', async () => {
    const received: any[] = [];
    let failuresFor = 'UP-2';
    let maintenance = 5; // UP-3 first meets a server in maintenance: more 503s than max_attempts
    const fhir = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        const bundle = JSON.parse(body);
        if (bundle.identifier.value.endsWith(failuresFor)) { res.writeHead(422); res.end('invalid resource'); return; }
        if (bundle.identifier.value.endsWith('UP-3') && maintenance-- > 0) { res.writeHead(503); res.end('maintenance'); return; }
        received.push(bundle);
        res.writeHead(200, { 'content-type': 'application/fhir+json' });
        res.end(JSON.stringify({ resourceType: 'Bundle', type: 'transaction-response' }));
      });
    });
    await new Promise<void>((r) => fhir.listen(0, '127.0.0.1', r));
    const fhirPort = (fhir.address() as net.AddressInfo).port;
    const dir = tempDir('bw-hl7-up-');
    const mllpPort = await freePort();
    const service = await startService(writeConfig(dir, mllpPort,
      `      base_url: "http://127.0.0.1:${fhirPort}/fhir"\n      uplink: {max_attempts: 3, backoff: 20ms, max_backoff: 100ms, poll: 50ms}`));
    try {
      const client = await RawClient.open(mllpPort);
      for (const id of ['UP-1', 'UP-2', 'UP-3', 'UP-4']) {
        client.send(client.frame(message('2.5', id)));
        expect(msa(await client.ack())[0]).toBe('AA');
      }
      client.close();
      const deadline = Date.now() + 15_000;
      let plugin: any;
      for (;;) {
        plugin = await (await authFetch(`${service.url}/api/plugins/hl7-fhir`)).json();
        if (received.length === 3 && JSON.stringify(plugin).includes('"dead_letter":1')) break;
        if (Date.now() > deadline) throw new Error(`uplink did not settle: ${received.length} ${JSON.stringify(plugin).slice(0, 800)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(received.map((b) => b.identifier.value)).toEqual(['SRC|FAC|UP-1', 'SRC|FAC|UP-3', 'SRC|FAC|UP-4']);
      expect(maintenance).toBe(-1); // all five 503s were answered, then the sixth attempt got through
      for (const b of received) expect(validator.validate(b)).toEqual([]);
      const health = await (await authFetch(`${service.url}/health`)).json();
      expect(JSON.stringify(health)).toMatch(/dead-lettered by the FHIR uplink/);
      const db = new Database(path.join(dir, 'state/buffer.db'), { readonly: true });
      const statuses = db.prepare("SELECT json_extract(meta, '$.control_id') AS id, status FROM documents ORDER BY id").all();
      db.close();
      expect(statuses).toEqual([
        { id: 'UP-1', status: 'fhir_sent' }, { id: 'UP-2', status: 'fhir_dead_letter' },
        { id: 'UP-3', status: 'fhir_sent' }, { id: 'UP-4', status: 'fhir_sent' },
      ]);
      failuresFor = 'none';
    } finally {
      await service.stop();
      fhir.close();
    }
  });
});

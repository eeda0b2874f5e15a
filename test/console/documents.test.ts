import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStore } from '../../service/src/auth/credentials.js';
import { loadConfig } from '../../service/src/config/load.js';
import { Gateway } from '../../service/src/gateway.js';
import { writeTemp } from '../helpers/tmp.js';

/**
 * GET /api/documents and /api/documents/:id, over documents committed as a pack commits them
 * (the buffer's HostServices), with the statuses the packs set: newest first, by status and
 * plugin, searched by id or by what their meta holds; the body only for a technician.
 */

let gateway: Gateway;
let viewer: string;
let technician: string;
const ids: number[] = [];

beforeAll(async () => {
  const file = writeTemp('backworks.yaml', 'state_dir: ./state\nplugins:\n  ingest: { type: builtin, pack: general/http-ingest }\n');
  gateway = await Gateway.start(await loadConfig(file), { log: pino({ level: 'silent' }), port: 0, host: '127.0.0.1' });
  const store = new CredentialStore(gateway.stateDir);
  viewer = store.createToken({ role: 'viewer', name: 'v' }).token;
  technician = store.createToken({ role: 'technician', name: 't' }).token;
  ids.push(...await gateway.buffer.commit('hl7', { documents: [
    { type: 'hl7v2', body: 'MSH|^~\\&|LAB|A|||20240101||ORU^R01|MSG00001|P|2.5\r', meta: { control_id: 'MSG00001' } },
    { type: 'hl7v2', body: 'MSH|^~\\&|LAB|A|||20240101||ADT^A99|MSG00002|P|2.5\r', meta: { control_id: 'MSG00002', reason: 'no mapping for ADT^A99' }, status: 'not_mapped' },
  ] }));
  ids.push(...await gateway.buffer.commit('edi', { documents: [{ type: 'x12', body: 'ISA*00*~', meta: { control_number: '000000905' } }] }));
}, 30_000);

afterAll(async () => { await gateway?.stop(); });

const get = (path: string, token = viewer) => fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

describe('GET /api/documents', () => {
  it('lists every plugin\'s documents newest first, without bodies, filtered by status, plugin and search', async () => {
    const all = (await (await get('/api/documents')).json()) as { documents: Array<Record<string, unknown>> };
    expect(all.documents.map((d) => d.id)).toEqual([...ids].reverse());
    expect(all.documents.every((d) => !('body' in d))).toBe(true);
    expect(all.documents[1]).toMatchObject({ plugin: 'hl7', type: 'hl7v2', status: 'not_mapped', meta: { reason: 'no mapping for ADT^A99' } });

    const byStatus = (await (await get('/api/documents?status=not_mapped')).json()) as { documents: Array<{ id: number }> };
    expect(byStatus.documents.map((d) => d.id)).toEqual([ids[1]]);
    const byPlugin = (await (await get('/api/documents?plugin=edi')).json()) as { documents: Array<{ id: number }> };
    expect(byPlugin.documents.map((d) => d.id)).toEqual([ids[2]]);
    const byControl = (await (await get('/api/documents?q=MSG00001')).json()) as { documents: Array<{ id: number }> };
    expect(byControl.documents.map((d) => d.id)).toEqual([ids[0]]);
    const byId = (await (await get(`/api/documents?q=${ids[2]}`)).json()) as { documents: Array<{ id: number }> };
    expect(byId.documents.map((d) => d.id)).toContain(ids[2]);
    // % and _ are searched as themselves, not as patterns.
    expect(((await (await get('/api/documents?q=%25')).json()) as { documents: unknown[] }).documents).toEqual([]);
    const page = (await (await get(`/api/documents?before=${ids[2]}&limit=1`)).json()) as { documents: Array<{ id: number }> };
    expect(page.documents.map((d) => d.id)).toEqual([ids[1]]);
    expect((await get('/api/documents?limit=0')).status).toBe(400);
  });

  it('answers one document with its body to a technician, not to a viewer', async () => {
    expect((await get(`/api/documents/${ids[0]}`)).status).toBe(403);
    const res = await get(`/api/documents/${ids[0]}`, technician);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: ids[0], plugin: 'hl7', body: expect.stringContaining('ORU^R01') });
    expect((await get('/api/documents/999999', technician)).status).toBe(404);
  });
});

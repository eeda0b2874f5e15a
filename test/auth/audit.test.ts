import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { AuditLog } from '../../service/src/buffer/audit.js';
import { DataBuffer } from '../../service/src/buffer/buffer.js';
import { startService, type RunningService } from '../helpers/service.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';
import { backworks } from './cli.js';
import http from 'node:http';
import path from 'node:path';

const json = { 'content-type': 'application/json' };

describe('the audit table', () => {
  let service: RunningService;
  let file: string;
  beforeAll(async () => {
    file = writeTemp('backworks.yaml', `
plugins:
  ingest: { type: builtin, pack: general/http-ingest }
endpoints:
  readings: { path: /readings, methods: [GET, POST], plugin: ingest }
  public: { path: /public, methods: [GET, POST], plugin: ingest, auth: none }
`);
    service = await startService(file);
  }, 30_000);
  afterAll(async () => { await service?.stop(); });

  it('holds exactly the state-changing requests, the logins and the refusals that were made', async () => {
    const token = async (role: string) => (await backworks(['token', 'create', '--role', role, '--name', `${role}-audit`, '-c', file])).stdout.trim();
    const viewer = await token('viewer');
    const technician = await token('technician');
    await backworks(['user', 'add', 'ops', '--role', 'admin', '-c', file], 'ops passphrase 1234\n');
    const as = (t: string, init: RequestInit = {}) => ({ ...init, headers: { ...init.headers as Record<string, string>, authorization: `Bearer ${t}` } });
    const at = (route: string, init?: RequestInit) => fetch(`${service.url}${route}`, init);

    expect((await at('/api/plugins')).status).toBe(401);
    expect((await at('/api/plugins', as(viewer))).status).toBe(200); // a read: not audited
    expect((await at('/api/reload', as(viewer, { method: 'POST' }))).status).toBe(403);
    expect((await at('/api/reload', as(technician, { method: 'POST' }))).status).toBe(200);
    expect((await at('/api/auth/login', { method: 'POST', headers: json, body: '{"user": "nobody", "password": "not the password"}' })).status).toBe(401);
    expect((await at('/api/auth/login', { method: 'POST', headers: json, body: '{"user": "ops", "password": "ops passphrase 1234"}' })).status).toBe(200);
    expect((await at('/public', { method: 'POST', headers: json, body: '{"device":"d","point":"p","value":1}' })).status).toBe(200); // accepted data: in the buffer, not the audit
    expect((await at('/readings', { method: 'POST', headers: json, body: '{"device":"d","point":"p","value":2}' })).status).toBe(401);
    expect((await at('/api/devices/d/points/p?secret=no', as(technician, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'x' }))).status).toBe(415);
    const local = await new Promise<number>((resolve, reject) => {
      http.request({ socketPath: path.join(service.stateDir, 'run/backworks.sock'), path: '/api/reload', method: 'POST' }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject).end();
    });
    expect(local).toBe(200);

    const res = await at('/api/audit', { headers: { authorization: `Bearer ${service.token}` } });
    const { rows } = (await res.json()) as { rows: Array<Record<string, unknown>> };
    const source = '127.0.0.1';
    expect(rows.map(({ id: _id, ts: _ts, ...row }) => row)).toEqual([
      { who: null, role: null, via: null, source, method: 'GET', route: '/api/plugins', status: 401, outcome: 'denied' },
      { who: 'viewer-audit', role: 'viewer', via: 'bearer', source, method: 'POST', route: '/api/reload', status: 403, outcome: 'denied' },
      { who: 'technician-audit', role: 'technician', via: 'bearer', source, method: 'POST', route: '/api/reload', status: 200, outcome: 'ok' },
      { who: 'nobody', role: null, via: null, source, method: 'POST', route: '/api/auth/login', status: 401, outcome: 'denied' },
      { who: 'ops', role: 'admin', via: 'session', source, method: 'POST', route: '/api/auth/login', status: 200, outcome: 'ok' },
      { who: null, role: null, via: null, source, method: 'POST', route: '/readings', status: 401, outcome: 'denied' },
      { who: 'technician-audit', role: 'technician', via: 'bearer', source, method: 'PUT', route: '/api/devices/d/points/p', status: 415, outcome: 'failed' },
      { who: 'local', role: 'admin', via: 'socket', source: null, method: 'POST', route: '/api/reload', status: 200, outcome: 'ok' },
    ]);
    for (const row of rows) expect(Math.abs(Number(row.ts) - Date.now())).toBeLessThan(60_000);
    expect((await at('/api/audit', as(technician))).status).toBe(403);
  });
});

describe('audit retention', () => {
  it('drops audit rows older than storage.max_age with the readings', () => {
    const buffer = new DataBuffer({ file: path.join(tempDir(), 'buffer.db'), maxBytes: 1024 ** 3, maxAgeMs: 60_000, durability: 'normal' });
    const row = { who: 'x', role: 'admin', via: 'bearer', source: '127.0.0.1', method: 'POST', route: '/api/reload', status: 200, outcome: 'ok' as const };
    buffer.audit.record({ ...row, ts: Date.now() - 120_000 });
    buffer.audit.record({ ...row, ts: Date.now() });
    buffer.maintain();
    expect(buffer.audit.rows().map((r) => r.id)).toEqual([2]);
    buffer.close();
  });
});

describe('an audit row the disk refuses', () => {
  it('is counted, not thrown: the request it records already happened', () => {
    const file = path.join(tempDir(), 'buffer.db');
    new DataBuffer({ file, maxBytes: 1024 ** 3, maxAgeMs: 60_000, durability: 'normal' }).close();
    const db = new Database(file);
    const audit = new AuditLog(db);
    const row = { ts: Date.now(), who: 'x', role: 'admin', via: 'bearer', source: '127.0.0.1', method: 'POST', route: '/api/reload', status: 200, outcome: 'ok' as const };
    expect(audit.record(row)).toBe(true);
    db.pragma('query_only = ON'); // SQLite refuses every write from here, as on a read-only disk
    expect(audit.record(row)).toBe(false);
    expect(audit.record(row)).toBe(false);
    expect(audit.unwritten).toBe(2);
    db.pragma('query_only = OFF');
    expect(audit.rows().length).toBe(1);
    db.close();
  });
});

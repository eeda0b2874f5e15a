/**
 * Request and answer bodies as bytes (ABI 1.2, process_endpoint_data_v2): NUL bytes, 0xFF and
 * bytes that are not UTF-8 reach C, Rust and TypeScript plugins intact, in the service and in a
 * plugin host, and come back intact with the status and content type the plugin chose. A plugin
 * built for ABI 1.1 (contract-v1-c) keeps working on the 1.2 host.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackworksPlugin, PluginRequest } from '../../sdk/typescript/index.js';
import { EndpointRoutes } from '../../service/src/http/endpoints.js';
import { createServer } from '../../service/src/http/server.js';
import { BuiltinDriver } from '../../service/src/plugins/builtin.js';
import type { PluginConfig } from '../../service/src/config/schema.js';
import type { PluginManager } from '../../service/src/plugins/manager.js';
import { openNativePlugin } from '../../service/src/plugins/native/index.js';
import { createManager } from '../helpers/gateway.js';
import { tempDir } from '../helpers/tmp.js';
import { quietLog } from '../trust/helpers.js';
import { libs } from './native/helpers.js';

/** NUL, 0xFF, a lone continuation byte and an overlong sequence: none of it is UTF-8 text. */
const AWKWARD = Buffer.from([0x61, 0x62, 0x00, 0x63, 0x64, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0xc0, 0xaf, 0x00]);
const restart = { backoffMs: 100, maxBackoffMs: 1000, maxCrashes: 3, windowMs: 10_000 };

const seen: Buffer[] = [];
const tsEcho: BackworksPlugin = {
  name: 'echo-ts', version: '0.0.1', initialize: () => {},
  processEndpointData: (_endpoint: string, _method: string, data: Buffer, request: PluginRequest) => {
    seen.push(Buffer.from(data));
    expect(Buffer.isBuffer(request.body)).toBe(true);
    return { status: 201, contentType: 'application/octet-stream', body: data };
  },
};

const NATIVE = [['c', libs.contractC], ['rust', libs.contractRust], ['v1', libs.contractV1C]] as const;

describe('bodies as bytes, through every driver', () => {
  let app: FastifyInstance;
  let manager: PluginManager;

  beforeAll(async () => {
    const created = createManager();
    manager = created.manager;
    await manager.attach('ts', new BuiltinDriver(tsEcho), { type: 'builtin', pack: 'test/echo' } as PluginConfig);
    const names = ['ts'];
    for (const [lang, path] of NATIVE) {
      for (const isolation of ['none', 'process'] as const) {
        const name = `${lang}-${isolation}`;
        const driver = await openNativePlugin(name, { path, isolation, timeoutMs: 5000, limits: {}, restart }, { log: quietLog, stateDir: tempDir() });
        await manager.attach(name, driver, { type: 'external', path, isolation } as PluginConfig);
        names.push(name);
      }
    }
    app = createServer({ log: pino({ level: 'silent' }), bodyLimit: 1024 * 1024 });
    const routes = new EndpointRoutes(app, { manager, metrics: created.metrics });
    routes.replace(Object.fromEntries(names.map((n) => [n, { path: `/${n}/*`, methods: ['POST'], plugin: n }])));
    await app.ready();
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await manager?.stop();
  });

  const post = (url: string, body: Buffer) => app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/octet-stream' } });

  for (const driver of ['ts', 'c-none', 'c-process', 'rust-none', 'rust-process']) {
    it(`${driver}: NUL, 0xFF and invalid UTF-8 arrive and come back intact, with the plugin's status and content type`, async () => {
      // Small, empty, and larger than the plugin host's 64 KB read buffer.
      for (const body of [AWKWARD, Buffer.alloc(0), Buffer.concat([AWKWARD, randomBytes(200_000), AWKWARD])]) {
        seen.length = 0;
        const res = await post(`/${driver}/echo`, body);
        expect(res.statusCode).toBe(201);
        expect(res.headers['content-type']).toBe('application/octet-stream');
        expect(res.rawPayload.equals(body)).toBe(true);
        if (driver === 'ts') expect(seen[0]!.equals(body)).toBe(true);
      }
    });
  }

  it('a 1.2 plugin\'s error answers still follow the contract', async () => {
    for (const driver of ['c-none', 'c-process']) {
      const res = await post(`/${driver}/status/503`, AWKWARD);
      expect({ driver, status: res.statusCode, body: res.json() }).toEqual({ driver, status: 503, body: { error: 'contract-c answers 503', status: 503 } });
      const failed = await post(`/${driver}/fail`, AWKWARD);
      expect({ driver, status: failed.statusCode, code: (failed.json() as { code: string }).code }).toEqual({ driver, status: 500, code: 'BW_ERR_PLUGIN_FAILED' });
    }
  });

  for (const isolation of ['none', 'process'] as const) {
    it(`a plugin built for ABI 1.1 keeps working (isolation: ${isolation}): text bodies, statuses, and the 1.0 C string`, async () => {
      const hello = await post(`/v1-${isolation}/echo`, Buffer.from('héllo'));
      expect({ status: hello.statusCode, type: hello.headers['content-type'], body: hello.body }).toEqual({ status: 200, type: 'text/plain; charset=utf-8', body: 'héllo' });
      const refused = await post(`/v1-${isolation}/status/503`, Buffer.from('x'));
      expect(refused.statusCode).toBe(503);
      // The 1.0 call's data is a C string: it ends at the first NUL, as the header says.
      expect((await post(`/v1-${isolation}/echo`, Buffer.from('ab\0cd'))).body).toBe('ab');
    });
  }
});

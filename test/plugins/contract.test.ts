/**
 * The error contract of sdk/c/backworks_plugin.h (STATUS CODES), through every driver: a TypeScript
 * plugin, a native plugin in the service (isolation: none) and one in its own plugin host, with
 * real compiled C and Rust plugins (test/fixtures/plugins/contract-c, contract-rust). A status the
 * plugin chooses reaches the client as it is and is not a breaker failure; 500 and BW_ERR are.
 */
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginError, type BackworksPlugin } from '../../sdk/typescript/index.js';
import type { PluginConfig } from '../../service/src/config/schema.js';
import { EndpointRoutes } from '../../service/src/http/endpoints.js';
import { createServer } from '../../service/src/http/server.js';
import { BuiltinDriver } from '../../service/src/plugins/builtin.js';
import type { PluginManager } from '../../service/src/plugins/manager.js';
import { openNativePlugin } from '../../service/src/plugins/native/index.js';
import { createManager } from '../helpers/gateway.js';
import { tempDir } from '../helpers/tmp.js';
import { quietLog } from '../trust/helpers.js';
import { libs } from './native/helpers.js';

/** The TypeScript twin of contract-c, with the SDK's error kinds. */
const tsContract: BackworksPlugin = {
  name: 'contract-ts', version: '0.0.1', initialize: () => {},
  processEndpointData: (endpoint) => {
    const status = /\/status\/(\d+)/.exec(endpoint)?.[1];
    if (status) throw new PluginError(`contract-ts answers ${status}`, Number(status));
    if (endpoint.includes('/kind/unavailable')) throw PluginError.unavailable('contract-ts answers unavailable');
    if (endpoint.includes('/kind/timeout')) throw PluginError.timeout('contract-ts answers timeout');
    if (endpoint.includes('/fail')) throw new Error('contract-ts failed');
    return '{"ok":true}';
  },
};

const THRESHOLD = 3;
const ANSWERS = [400, 401, 404, 409, 422, 429, 501, 502, 503, 504, 599];
const restart = { backoffMs: 100, maxBackoffMs: 1000, maxCrashes: 3, windowMs: 10_000 };

async function attachAll(manager: PluginManager): Promise<void> {
  const entry = (extra: Partial<PluginConfig>): PluginConfig => ({ type: 'external', failure_threshold: THRESHOLD, recovery_timeout: '1h', ...extra } as PluginConfig);
  await manager.attach('ts', new BuiltinDriver(tsContract), entry({ type: 'builtin', pack: 'test/contract' } as Partial<PluginConfig>));
  for (const [name, path] of [['c', libs.contractC], ['rust', libs.contractRust]] as const) {
    for (const isolation of ['none', 'process'] as const) {
      const driver = await openNativePlugin(`${name}-${isolation}`, { path, isolation, timeoutMs: 5000, limits: {}, restart }, { log: quietLog, stateDir: tempDir() });
      await manager.attach(`${name}-${isolation}`, driver, entry({ path, isolation }));
    }
  }
}

const DRIVERS = ['ts', 'c-none', 'c-process'] as const;

describe('the error contract, through every driver', () => {
  let app: FastifyInstance;
  let manager: PluginManager;

  beforeAll(async () => {
    const created = createManager();
    manager = created.manager;
    const { metrics } = created;
    await attachAll(manager);
    app = createServer({ log: pino({ level: 'silent' }), bodyLimit: 1024 });
    const routes = new EndpointRoutes(app, { manager, metrics });
    const names = [...DRIVERS, 'rust-none', 'rust-process'];
    routes.replace(Object.fromEntries(names.map((n) => [n, { path: `/${n}/*`, plugin: n }])));
    await app.ready();
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await manager?.stop();
  });

  const call = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() as { error?: string; status?: number; code?: string; ok?: boolean } };
  };

  for (const driver of DRIVERS) {
    it(`${driver}: every status from 400 to 599 but 500 is the plugin's answer, passed through and not a breaker failure`, async () => {
      const plugin = driver.split('-')[0];
      for (let round = 0; round < 2; round++) {
        for (const status of ANSWERS) {
          const { status: got, body } = await call(`/${driver}/status/${status}`);
          expect({ status, got, body }).toEqual({ status, got: status, body: { error: `contract-${plugin} answers ${status}`, status } });
        }
      }
      const managed = manager.get(driver)!;
      expect(managed.breaker.state).toBe('closed');
      expect(managed.breaker.consecutiveFailures).toBe(0);
      expect((await call(`/${driver}/ok`)).body).toEqual({ ok: true });
    });
  }

  it('the TypeScript SDK\'s error kinds answer 503 and 504 without a breaker failure', async () => {
    expect(await call('/ts/kind/unavailable')).toEqual({ status: 503, body: { error: 'contract-ts answers unavailable', status: 503 } });
    expect(await call('/ts/kind/timeout')).toEqual({ status: 504, body: { error: 'contract-ts answers timeout', status: 504 } });
    expect(manager.get('ts')!.breaker.consecutiveFailures).toBe(0);
  });

  for (const driver of DRIVERS) {
    it(`${driver}: 500 and BW_ERR are failures: 500 BW_ERR_PLUGIN_FAILED, and the breaker opens after failure_threshold`, async () => {
      const plugin = driver.split('-')[0];
      const failures = driver === 'ts' ? ['/fail', '/status/500', '/fail'] : ['/fail', '/status/500', '/minus/7'];
      for (const path of failures) {
        const { status, body } = await call(`/${driver}${path}`);
        expect(status).toBe(500);
        expect(body.code).toBe('BW_ERR_PLUGIN_FAILED');
        expect(body.error).toMatch(new RegExp(`^plugin "${driver}" failed in process_endpoint_data: contract-${plugin} (failed|answers 500|returns -7)$`));
      }
      expect(manager.get(driver)!.breaker.state).toBe('open');
      const refused = await call(`/${driver}/ok`);
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('BW_ERR_PLUGIN_UNAVAILABLE');
    });
  }

  for (const isolation of ['none', 'process'] as const) {
    it(`the Rust SDK's error kinds map as the header says (isolation: ${isolation})`, async () => {
      const expected: Record<string, number> = {
        'bad-request': 400, 'not-found': 404, unsupported: 501, unavailable: 503, timeout: 504, 'status-409': 409, 'status-502': 502,
      };
      for (const [kind, status] of Object.entries(expected)) {
        const answer = await call(`/rust-${isolation}/kind/${kind}`);
        expect({ kind, status: answer.status }).toEqual({ kind, status });
        expect(answer.body.error).toContain(`contract-rust answers /rust-${isolation}/kind/${kind}`);
      }
      expect(manager.get(`rust-${isolation}`)!.breaker.consecutiveFailures).toBe(0);
      for (const kind of ['internal', 'panic']) {
        const answer = await call(`/rust-${isolation}/kind/${kind}`);
        expect({ kind, status: answer.status, code: answer.body.code }).toEqual({ kind, status: 500, code: 'BW_ERR_PLUGIN_FAILED' });
      }
      expect(manager.get(`rust-${isolation}`)!.breaker.consecutiveFailures).toBe(2);
    });
  }
});

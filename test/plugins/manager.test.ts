import { describe, expect, it } from 'vitest';
import { PluginError, type BackworksPlugin, type PluginRequest, type PluginResponse } from '../../sdk/typescript/index.js';
import { BuiltinDriver } from '../../service/src/plugins/builtin.js';
import type { PluginConfig } from '../../service/src/config/schema.js';
import { createManager } from '../helpers/gateway.js';

const entry = (extra: Partial<PluginConfig> = {}): PluginConfig => ({ type: 'builtin', pack: 'test/x', ...extra });

function request(): PluginRequest {
  return { endpoint: 'e', method: 'GET', path: '/e', params: {}, query: {}, headers: {}, body: '' };
}

/** A plugin whose behaviour each test sets: the real contract, attached through the real manager. */
function plugin(name: string, behaviour: Partial<BackworksPlugin>): BackworksPlugin {
  return { name, version: '1.0.0', initialize: () => {}, ...behaviour };
}

describe('plugin manager', () => {
  it('runs before_request hooks in declared order and after_response in reverse', async () => {
    const { manager } = createManager();
    const order: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      await manager.attach(name, new BuiltinDriver(plugin(name, {
        beforeRequest: (req: PluginRequest) => { order.push(`before:${name}`); req.headers[`x-${name}`] = '1'; },
        afterResponse: (_req: PluginRequest, res: PluginResponse) => { order.push(`after:${name}`); res.body += name; },
      })), entry());
    }
    const req = request();
    const res: PluginResponse = { status: 200, headers: {}, body: '' };
    await manager.beforeRequest(req);
    await manager.afterResponse(req, res);
    expect(order).toEqual(['before:a', 'before:b', 'before:c', 'after:c', 'after:b', 'after:a']);
    expect(req.headers).toMatchObject({ 'x-a': '1', 'x-b': '1', 'x-c': '1' });
    expect(res.body).toBe('cba');
  });

  it('rejects the request when a critical hook fails and only logs a non-critical one', async () => {
    const { manager } = createManager();
    const seen: string[] = [];
    await manager.attach('optional', new BuiltinDriver(plugin('optional', { beforeRequest: () => { throw new Error('flaky'); } })), entry());
    await manager.attach('auth', new BuiltinDriver(plugin('auth', {
      beforeRequest: (req) => { seen.push('auth'); if (!req.headers.authorization) throw new PluginError('missing token', 401); },
    })), entry({ critical: true }));
    await manager.attach('audit', new BuiltinDriver(plugin('audit', { beforeRequest: () => { throw new Error('disk gone'); } })), entry({ critical: true }));

    const anonymous = request();
    await expect(manager.beforeRequest(anonymous)).rejects.toMatchObject({ statusCode: 401, message: 'missing token' });
    const signed = { ...request(), headers: { authorization: 'Bearer t' } };
    await expect(manager.beforeRequest(signed)).rejects.toMatchObject({
      status: 502, code: 'BW_ERR_PLUGIN_HOOK_REJECTED', message: 'critical plugin "audit" rejected the request in before_request: plugin "audit" failed in before_request: disk gone',
    });
    expect(seen).toEqual(['auth', 'auth']);
  });

  it('enforces the call deadline and counts the miss as a failure', async () => {
    const { manager, metrics } = createManager();
    await manager.attach('slow', new BuiltinDriver(plugin('slow', {
      processEndpointData: () => new Promise((resolve) => setTimeout(() => resolve('late'), 500)),
    })), entry({ timeout: '50ms' }));
    const started = Date.now();
    await expect(manager.call('slow', request())).rejects.toMatchObject({ status: 504, code: 'BW_ERR_PLUGIN_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(400);
    expect(manager.get('slow')!.breaker.consecutiveFailures).toBe(1);
    expect(await metrics.registry.getSingleMetricAsString('backworks_plugin_errors_total')).toContain('plugin="slow",call="process_endpoint_data",kind="timeout"} 1');
  });

  it('trips the breaker after failure_threshold failures, fails fast while open, and closes after a good probe', async () => {
    const { manager } = createManager();
    let broken = true;
    let calls = 0;
    await manager.attach('flaky', new BuiltinDriver(plugin('flaky', {
      processEndpointData: () => { calls++; if (broken) throw new Error('device gone'); return '{"ok":true}'; },
    })), entry({ failure_threshold: 3, recovery_timeout: '200ms' }));

    for (let i = 0; i < 3; i++) await expect(manager.call('flaky', request())).rejects.toMatchObject({ status: 500 });
    expect(manager.get('flaky')!.breaker.state).toBe('open');
    await expect(manager.call('flaky', request())).rejects.toMatchObject({ status: 503, code: 'BW_ERR_PLUGIN_UNAVAILABLE' });
    expect(calls).toBe(3); // the open breaker did not call the plugin
    expect(manager.statuses()[0]).toMatchObject({ status: 'unhealthy', breaker: 'open' });

    await new Promise((r) => setTimeout(r, 250));
    await expect(manager.call('flaky', request())).rejects.toMatchObject({ status: 500 }); // failed probe
    expect(manager.get('flaky')!.breaker.state).toBe('open');

    broken = false;
    await new Promise((r) => setTimeout(r, 250));
    await expect(manager.call('flaky', request())).resolves.toBe('{"ok":true}');
    expect(manager.get('flaky')!.breaker.state).toBe('closed');
    expect(calls).toBe(5);
  });

  it('asks plugins in declared order and takes the first answer that is not None', async () => {
    const { manager } = createManager();
    const asked: string[] = [];
    await manager.attach('first', new BuiltinDriver(plugin('first', { processEndpointData: () => { asked.push('first'); return null; } })), entry());
    await manager.attach('second', new BuiltinDriver(plugin('second', { processEndpointData: () => { asked.push('second'); return 'two'; } })), entry());
    await manager.attach('third', new BuiltinDriver(plugin('third', { processEndpointData: () => { asked.push('third'); return 'three'; } })), entry());
    expect(await manager.chain(request())).toBe('two');
    expect(asked).toEqual(['first', 'second']);
  });

  it('keeps the gateway up when a plugin fails to initialize, and reports it', async () => {
    const { manager } = createManager();
    await manager.attach('broken', new BuiltinDriver(plugin('broken', { initialize: () => { throw new Error('no such port /dev/ttyUSB9'); } })), entry({ critical: true }));
    await manager.attach('fine', new BuiltinDriver(plugin('fine', { processEndpointData: () => 'ok' })), entry());
    expect(await manager.call('fine', request())).toBe('ok');
    await expect(manager.call('broken', request())).rejects.toMatchObject({ status: 503 });
    expect(manager.statuses().find((s) => s.name === 'broken')).toMatchObject({ status: 'unhealthy', state: 'failed', critical: true });
  });

  it('routes a write to the plugin that emitted the device', async () => {
    const { manager } = createManager();
    const writes: unknown[] = [];
    await manager.attach('plc', new BuiltinDriver(plugin('plc', {
      initialize: (_c, host) => { void host.emit([{ device: 'press-1', point: 'setpoint', value: 1 }]); },
      write: (device, point, value) => { writes.push([device, point, value]); },
    })), entry());
    await manager.write('press-1', 'setpoint', 42);
    expect(writes).toEqual([['press-1', 'setpoint', 42]]);
    await expect(manager.write('press-9', 'setpoint', 1)).rejects.toMatchObject({ status: 404, code: 'BW_ERR_PLUGIN_NOT_WRITABLE' });
  });

  it('runs health checks in the background, not only on demand', async () => {
    const { manager } = createManager(30);
    let checks = 0;
    await manager.attach('p', new BuiltinDriver(plugin('p', { healthCheck: () => { checks++; return { status: 'degraded', message: 'slow link' }; } })), entry());
    await manager.start({});
    await new Promise((r) => setTimeout(r, 120));
    await manager.stop();
    expect(checks).toBeGreaterThanOrEqual(3);
    expect(manager.statuses()[0]).toMatchObject({ status: 'unhealthy', state: 'stopped' });
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { authFetch, startService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await authFetch(url);
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

describe('the buffer in the running service', () => {
  it('reaches max_bytes: drops the oldest, counts the drops in /health and /metrics, keeps serving the data API', async () => {
    const dir = tempDir('bw-limit-');
    const config = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(config, `
state_dir: ./state
storage: {max_bytes: 256KB, flush_interval: 20ms}
plugins:
  sim:
    type: builtin
    pack: manufacturing/simulator
    config:
      devices:
        - name: press
          points:
            - {name: count, signal: counter, interval: 1ms}
            - {name: temp, signal: sine, interval: 1ms}
endpoints:
  press-count:
    path: /press/count
    data: {device: press, point: count}
  machine:
    path: /machines/:id
    data: {device: ":id"}
  history:
    path: /machines/:id/:point/history
    data: {device: ":id", point: ":point", history: true}
`);
    const service = await startService(config);
    try {
      const health = await waitFor('drops in /health', async () => {
        const h = await get(`${service.url}/health`);
        return h.body.buffer?.dropped?.total > 0 ? h : undefined;
      }, { timeoutMs: 60_000, intervalMs: 100 });
      expect(health.body.buffer).toMatchObject({ disk: 'ok', max_bytes: 262144 });
      expect(health.body.buffer.dropped.readings.max_bytes).toBe(health.body.buffer.dropped.total);
      expect(health.body.buffer.bytes).toBeLessThanOrEqual(262144);

      const metrics = (await get(`${service.url}/metrics`)).body as string;
      const dropped = Number(/backworks_buffer_dropped_total\{kind="readings",reason="max_bytes"\} (\d+)/.exec(metrics)?.[1]);
      expect(dropped).toBeGreaterThanOrEqual(health.body.buffer.dropped.total);

      // The oldest went: the first reading still held is well past the first one ever taken.
      const history = await get(`${service.url}/api/devices/press/history?point=count&from=0&limit=1`);
      expect(history.status).toBe(200);
      expect(history.body.readings[0].seq).toBeGreaterThan(1);

      const devices = await get(`${service.url}/api/devices`);
      expect(devices.body.devices).toEqual([{ device: 'press', points: 2, last_ts: expect.any(Number) }]);
      const press = await get(`${service.url}/api/devices/press`);
      expect(Object.keys(press.body.points)).toEqual(['count', 'temp']);
      expect(press.body.points.count).toMatchObject({ quality: 'good', value: expect.any(Number), seq: expect.any(Number) });

      const viaEndpoint = await get(`${service.url}/press/count`);
      expect(viaEndpoint.body).toMatchObject({ device: 'press', point: 'count', quality: 'good' });
      expect((await get(`${service.url}/machines/press`)).body.points.temp.quality).toBe('good');
      const recent = await get(`${service.url}/machines/press/temp/history?limit=5`);
      expect(recent.body.readings).toHaveLength(5);

      // Bad input: a clear error naming what was wrong.
      expect(await get(`${service.url}/api/devices/ghost`)).toMatchObject({ status: 404, body: { error: 'no readings from device "ghost"' } });
      expect(await get(`${service.url}/api/devices/press/history`)).toMatchObject({ status: 400 });
      const badLimit = await get(`${service.url}/api/devices/press/history?point=count&limit=0`);
      expect(badLimit).toMatchObject({ status: 400 });
      expect(badLimit.body.error).toContain('"limit" must be a whole number from 1 to 10000');
      expect((await get(`${service.url}/api/devices/press/history?point=count&from=yesterday`)).body.error).toContain('"from" must be milliseconds since the epoch or an ISO 8601 date');
      expect((await get(`${service.url}/machines/press/nope`)).status).toBe(404);
    } finally {
      await service.stop();
    }
  }, 90_000);
});

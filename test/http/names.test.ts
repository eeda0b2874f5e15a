import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFetch, startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Device and point names are user data: names that are JavaScript object keys work like any
 * other, names that are not UTF-8 are refused with 400, and `ts` is range-checked, through the
 * real service (http-ingest in, the data API and `data:` endpoints out).
 */
const KEY_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

let service: RunningService;

async function post(body: string | Buffer): Promise<{ status: number; body: any }> {
  const res = await authFetch(`${service.url}/readings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: await res.json() };
}

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await authFetch(`${service.url}${url}`);
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  const dir = tempDir('bw-names-');
  const config = path.join(dir, 'backworks.yaml');
  fs.writeFileSync(config, `
state_dir: ./state
storage: {flush_interval: 10ms}
plugins:
  ingest: {type: builtin, pack: general/http-ingest}
endpoints:
  readings: {path: /readings, methods: [POST], plugin: ingest}
  machine: {path: "/machines/:id", data: {device: ":id"}}
  point: {path: "/machines/:id/:point", data: {device: ":id", point: ":point"}}
`);
  service = await startService(config);
});

afterAll(async () => { await service?.stop(); });

describe('names that are JavaScript object keys', () => {
  it('are stored and answered like any other name', async () => {
    // Recent times: storage.max_age (30d) drops older readings from the history.
    const t0 = Date.now() - 60_000;
    const readings = KEY_NAMES.flatMap((device, d) => KEY_NAMES.map((point, p) => ({ device, point, value: d * 10 + p, ts: t0 + p })));
    expect(await post(JSON.stringify(readings))).toEqual({ status: 200, body: { accepted: 16 } });

    const devices = await get('/api/devices');
    expect(devices.body.devices).toEqual([...KEY_NAMES].sort().map((device) => ({ device, points: 4, last_ts: t0 + 3 })));
    for (const [d, device] of KEY_NAMES.entries()) {
      const latest = await get(`/api/devices/${device}`);
      expect(latest.status).toBe(200);
      // JSON.parse keeps "__proto__" as an own key, so the answer is compared key by key.
      expect(Object.keys(latest.body.points)).toEqual([...KEY_NAMES].sort());
      for (const [p, point] of KEY_NAMES.entries()) {
        expect(latest.body.points[point]).toMatchObject({ value: d * 10 + p, quality: 'good', ts: t0 + p });
        expect((await get(`/machines/${device}/${point}`)).body).toMatchObject({ device, point, value: d * 10 + p });
        const history = await get(`/api/devices/${device}/history?point=${point}&from=0`);
        expect(history.body.readings.map((r: { value: number }) => r.value)).toEqual([d * 10 + p]);
      }
    }
  });

  it('a point a device does not have is 404, even when it is an object key', async () => {
    expect(await post(JSON.stringify({ device: 'press', point: 'speed', value: 1 }))).toMatchObject({ status: 200 });
    for (const point of ['toString', 'constructor', '__proto__', 'valueOf']) {
      expect(await get(`/machines/press/${point}`)).toMatchObject({ status: 404, body: { error: `device "press" has no point "${point}"` } });
    }
    expect((await get('/api/devices/valueOf')).status).toBe(404);
  });
});

describe('names must be UTF-8', () => {
  it('a name in Latin-1 bytes is refused with 400 naming the field, and nothing of the request is stored', async () => {
    const latin1 = Buffer.concat([Buffer.from('[{"device":"line1","point":"t","value":1},{"device":"caf'), Buffer.from([0xe9]), Buffer.from('","point":"t","value":1}]')]);
    const refused = await post(latin1);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toContain('reading [1] has a "device" that is not valid UTF-8');
    expect((await get('/api/devices/line1')).status).toBe(404);
  });

  it('a lone UTF-16 surrogate (JSON "\\ud800") is refused; the same name in UTF-8 is kept as sent', async () => {
    const refused = await post('{"device":"m1","point":"\\ud800","value":1}');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toContain('the reading has a "point" that is not valid UTF-8');
    expect(await post(JSON.stringify({ device: 'café', point: 'température', value: 2 }))).toMatchObject({ status: 200 });
    expect((await get(`/api/devices/${encodeURIComponent('café')}`)).body.points['température']).toMatchObject({ value: 2 });
  });

  it('the data API refuses a name that is not UTF-8, or has a control character, with 400 instead of looking up another', async () => {
    // %E9 alone is not UTF-8: the router refuses the URL before any lookup.
    expect(await get('/api/devices/caf%E9')).toEqual({ status: 400, body: {
      status: 400, code: 'BW_ERR_HTTP_BAD_REQUEST', error: 'the path /api/devices/caf%E9 is not valid UTF-8 once its %-escapes are decoded; encode names as UTF-8 (é is %C3%A9)',
    } });
    expect(await get('/machines/press/sp%00eed')).toMatchObject({ status: 400, body: { error: 'point name "sp\\u0000eed" contains a control character (such as a newline or NUL)' } });
    expect(await get('/api/devices/%EF%BF%BD')).toMatchObject({ status: 400, body: { error: 'device name "\ufffd" is not valid UTF-8 (send names encoded as UTF-8)' } });
  });
});

describe('ts is range-checked', () => {
  it.each([['1e300', 1e300], ['-5', -5], ['2.6e14 (after 9999)', 2.6e14]])('ts %s is refused with 400 naming "ts"', async (_, ts) => {
    const refused = await post(JSON.stringify({ device: 'clock', point: 'p', value: 1, ts }));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe(`the reading has a "ts" that ${ts} is out of range; it must be milliseconds since the epoch from 0 (1970-01-01) to 253402300799999 (9999-12-31)`);
    expect((await get('/api/devices/clock')).status).toBe(404);
  });

  it('the ends of the range are accepted', async () => {
    expect(await post(JSON.stringify([{ device: 'edge', point: 'first', value: 1, ts: 0 }, { device: 'edge', point: 'last', value: 1, ts: 253402300799999 }]))).toMatchObject({ status: 200 });
    expect((await get('/api/devices/edge')).body.points).toMatchObject({ first: { ts: 0 }, last: { ts: 253402300799999 } });
  });
});

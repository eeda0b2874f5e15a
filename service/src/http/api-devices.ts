import type { FastifyInstance } from 'fastify';
import type { PluginRequest } from '../../../sdk/typescript/index.js';
import type { DataBuffer } from '../buffer/buffer.js';
import type { DataEndpoint } from '../config/sections/data-endpoint.js';
import { BackworksError } from '../errors.js';
import { nameProblem } from '../../../sdk/typescript/names.js';

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10_000;

/**
 * The data API, answered from the buffer:
 *   GET /api/devices                           every device: points and newest ts
 *   GET /api/devices/:device                   newest value, quality, ts and seq of each point
 *   GET /api/devices/:device/history?point=&from=&to=&limit=
 * Register with `app.register(apiDevices, { buffer })`.
 */
export async function apiDevices(app: FastifyInstance, options: { buffer: DataBuffer }): Promise<void> {
  const { buffer } = options;

  app.get('/api/devices', async () => ({ devices: buffer.devices() }));

  app.get<{ Params: { device: string } }>('/api/devices/:device', async (request) => latestOf(buffer, request.params.device));

  app.get<{ Params: { device: string }; Querystring: Record<string, string | string[]> }>('/api/devices/:device/history', async (request) => {
    const point = single(request.query, 'point');
    if (!point) throw new BackworksError('BW_ERR_DATA_BAD_QUERY', 'query parameter "point" is required, e.g. ?point=temperature');
    return historyOf(buffer, request.params.device, point, request.query);
  });
}

/**
 * The handler of an endpoint declared with `data:` in backworks.yaml. It answers the same JSON as
 * the data API: a device's points, one point's newest value, or one point's history.
 */
export function dataEndpointHandler(buffer: DataBuffer, spec: DataEndpoint, endpoint: string): (request: PluginRequest) => string {
  if (spec.history && !spec.point) throw new Error(`endpoint "${endpoint}": data.history needs data.point`);
  return (request) => {
    const device = resolve(spec.device, request, endpoint);
    if (!spec.point) return JSON.stringify(latestOf(buffer, device));
    const point = resolve(spec.point, request, endpoint);
    if (spec.history) return JSON.stringify(historyOf(buffer, device, point, request.query));
    checkName('point', point);
    const latest = latestOf(buffer, device).points[point];
    if (!latest) throw new BackworksError('BW_ERR_DATA_UNKNOWN_POINT', device, point);
    return JSON.stringify({ device, point, ...latest });
  };
}

function latestOf(buffer: DataBuffer, device: string) {
  checkName('device', device);
  const points = buffer.device(device);
  if (!points) throw new BackworksError('BW_ERR_DATA_UNKNOWN_DEVICE', device);
  return { device, points };
}

function historyOf(buffer: DataBuffer, device: string, point: string, query: Record<string, string | string[]>) {
  checkName('device', device);
  checkName('point', point);
  const from = time(query, 'from');
  const to = time(query, 'to');
  if (from !== undefined && to !== undefined && from > to) throw new BackworksError('BW_ERR_DATA_BAD_QUERY', `"from" (${new Date(from).toISOString()}) is after "to" (${new Date(to).toISOString()})`);
  const limitText = single(query, 'limit');
  const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new BackworksError('BW_ERR_DATA_BAD_QUERY', `query parameter "limit" must be a whole number from 1 to ${MAX_LIMIT}, got "${limitText}"`);
  }
  if (!buffer.device(device)) throw new BackworksError('BW_ERR_DATA_UNKNOWN_DEVICE', device);
  return { device, point, readings: buffer.history({ device, point, from, to, limit }) };
}

/** A name asked for follows the rules names are stored by (sdk/typescript/names.ts): else 400, naming the field. */
function checkName(field: 'device' | 'point', name: string): void {
  const problem = nameProblem(name);
  if (problem) throw new BackworksError('BW_ERR_DATA_BAD_QUERY', `${field} name ${JSON.stringify(name)} ${problem}`);
}

function resolve(name: string, request: PluginRequest, endpoint: string): string {
  if (!name.startsWith(':')) return name;
  const value = request.params[name.slice(1)];
  if (!value) throw new BackworksError('BW_ERR_DATA_BAD_QUERY', `endpoint "${endpoint}" takes ${name} from its path, but the path has no such parameter`);
  return value;
}

function single(query: Record<string, string | string[]>, key: string): string | undefined {
  const v = query[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** Milliseconds since the epoch, or an ISO 8601 date. */
function time(query: Record<string, string | string[]>, key: string): number | undefined {
  const text = single(query, key);
  if (text === undefined || text === '') return undefined;
  const ms = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new BackworksError('BW_ERR_DATA_BAD_QUERY', `query parameter "${key}" must be milliseconds since the epoch or an ISO 8601 date, got "${text}"`);
  return ms;
}

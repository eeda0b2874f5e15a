import { Type, type Static } from '@sinclair/typebox';
import { PluginError, type BackworksPlugin, type HostContext, type PluginHealth, type PluginRequest, type Reading } from '../../../sdk/typescript/index.js';
import { nameProblem, tsProblem } from '../../../sdk/typescript/names.js';

export const HttpIngestConfigSchema = Type.Object({
  max_batch: Type.Optional(Type.Integer({ minimum: 1, default: 1000, description: 'most readings accepted in one request' })),
}, { additionalProperties: false });

type HttpIngestConfig = Static<typeof HttpIngestConfigSchema>;

const QUALITIES = new Set(['good', 'bad', 'stale', 'uncertain']);
// Refuses bytes that are not UTF-8 instead of replacing them (a name would silently change).
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Devices that push instead of being polled: POST a reading or an array of readings as JSON; the
 * answer comes only after they are committed to the buffer. GET answers what it has accepted.
 */
class HttpIngest implements BackworksPlugin {
  readonly name = 'http-ingest';
  readonly version = '0.1.0';
  readonly description = 'Accepts readings pushed over HTTP as JSON; answers after they are committed';
  readonly configSchema = HttpIngestConfigSchema;
  private host!: HostContext;
  private maxBatch = 1000;
  private accepted = 0;
  private rejected = 0;
  private lastAt: number | null = null;

  initialize(config: unknown, host: HostContext): void {
    this.host = host;
    this.maxBatch = (config as HttpIngestConfig).max_batch ?? 1000;
  }

  async processEndpointData(_endpoint: string, method: string, data: string | Uint8Array, request?: PluginRequest): Promise<string> {
    if (method === 'GET') {
      return JSON.stringify({ accepted: this.accepted, rejected: this.rejected, last_at: this.lastAt });
    }
    // Only application/json: a web page can send text/plain or a form to any address without a
    // CORS preflight, so accepting those would let any page opened on the plant network post readings.
    const type = String(request?.headers?.['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      this.rejected++;
      throw new PluginError(`Content-Type must be application/json, got "${type}"; send -H 'content-type: application/json'`, 415);
    }
    const readings = this.parse(data);
    // Stored exactly when this resolves: a 503 (full disk) means nothing of the request is stored.
    await this.host.emitAcknowledged(readings);
    this.accepted += readings.length;
    this.lastAt = Date.now();
    return JSON.stringify({ accepted: readings.length });
  }

  healthCheck(): PluginHealth {
    return { status: 'healthy', details: { accepted: this.accepted, rejected: this.rejected } };
  }

  private parse(data: string | Uint8Array): Reading[] {
    // Bytes that are not UTF-8 refuse the request; decoded with U+FFFD in their place first, so
    // that a name holding them is named in the answer (the name rules refuse U+FFFD).
    let text: string;
    let utf8 = true;
    if (typeof data === 'string') text = data;
    else {
      try { text = UTF8.decode(data); } catch { utf8 = false; text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'); }
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      this.rejected++;
      const what = utf8 ? `not JSON: ${(err as Error).message}` : 'not valid UTF-8';
      throw new PluginError(`body is ${what}; send {"device": "...", "point": "...", "value": 1} as UTF-8`, 400);
    }
    const readings = this.check(body);
    if (!utf8) {
      this.rejected++;
      throw new PluginError('body is not valid UTF-8; send {"device": "...", "point": "...", "value": 1} as UTF-8', 400);
    }
    return readings;
  }

  private check(body: unknown): Reading[] {
    const items = Array.isArray(body) ? body : [body];
    if (items.length > this.maxBatch) {
      this.rejected++;
      throw new PluginError(`${items.length} readings in one request; the limit is ${this.maxBatch}`, 413);
    }
    return items.map((item, i) => {
      const r = item as Partial<Reading>;
      const where = Array.isArray(body) ? `reading [${i}]` : 'the reading';
      const problem =
        typeof r !== 'object' || r === null ? 'is not an object'
        : typeof r.device !== 'string' || !r.device ? 'needs "device" (a string)'
        : nameProblem(r.device) ? `has a "device" that ${nameProblem(r.device)}`
        : typeof r.point !== 'string' || !r.point ? 'needs "point" (a string)'
        : nameProblem(r.point) ? `has a "point" that ${nameProblem(r.point)}`
        : !['number', 'string', 'boolean'].includes(typeof r.value) && r.value !== null ? 'needs "value" (number, string, boolean or null)'
        : r.quality !== undefined && !QUALITIES.has(r.quality) ? `has quality "${String(r.quality)}"; use good, bad, stale or uncertain`
        : r.ts !== undefined && tsProblem(r.ts) ? `has a "ts" that ${tsProblem(r.ts)}`
        : undefined;
      if (problem) {
        this.rejected++;
        throw new PluginError(`${where} ${problem}`, 400);
      }
      return { device: r.device!, point: r.point!, value: r.value!, quality: r.quality ?? 'good', ts: r.ts ?? Date.now() };
    });
  }
}

export default function create(): BackworksPlugin {
  return new HttpIngest();
}

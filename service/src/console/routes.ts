import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BackworksError } from '../errors.js';
import type { DataBuffer } from '../buffer/buffer.js';
import type { BackworksConfig } from '../config/schema.js';
import { describeLibrary } from './plugin-library.js';
import type { ReloadResult } from '../gateway.js';
import type { Logger } from '../log.js';
import { packageRoot } from '../paths.js';
import { sessionCookieOf, type Sessions } from '../auth/sessions.js';
import { ConfigFile } from './config-file.js';
import { LEVEL_ORDER, type LogRing } from './log-ring.js';
import { LiveStream } from './live-stream.js';
import type { OverviewSource } from './overview.js';
import { loadStaticFiles } from './static-files.js';

export const STATIC_DIR = path.join(packageRoot, 'service/src/console/static');

export interface ConsoleDeps extends OverviewSource {
  logRing?: LogRing;
  log: Logger;
  sessions: Sessions;
  configFile(): string;
  /** The running config: a plugin's entry, its folder, plugin_trust. */
  config(): { config: BackworksConfig; dir: string };
  documents: Pick<DataBuffer, 'listDocuments' | 'document'>;
  reload(): Promise<ReloadResult>;
}

/**
 * The technician's console: its page (/console/, open: it holds no data, only the login form and
 * the code) and the API it reads besides the one scripts already had — a live stream, the log
 * lines, and checking and applying the config file. Roles: service/src/auth/route-roles.ts.
 */
export async function consoleRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  let files: ReturnType<typeof loadStaticFiles>;
  try {
    files = loadStaticFiles(STATIC_DIR);
  } catch (err) {
    // A package without the page still runs the gateway; the API stays.
    deps.log.error({ dir: STATIC_DIR, err: (err as Error).message }, 'the console\'s files cannot be read: /console/ answers 404');
    files = new Map();
  }
  const live = new LiveStream(deps);
  app.addHook('preClose', (done) => { live.close(); done(); });

  const serveFile = (name: string, request: FastifyRequest, reply: FastifyReply) => {
    const file = files.get(name);
    if (!file) { reply.callNotFound(); return reply; }
    void reply.header('content-type', file.type).header('etag', file.etag).header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer')
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').header('vary', 'accept-encoding').send(file.gzip);
    return reply.send(file.body);
  };
  app.get('/console/', async (request, reply) => serveFile('index.html', request, reply));
  app.get<{ Params: { file: string } }>('/console/:file', async (request, reply) => serveFile(request.params.file, request, reply));

  // No HEAD twin: a stream has no end to answer a HEAD with.
  app.route({ method: 'GET', url: '/api/events', exposeHeadRoute: false, handler: (request, reply) => {
    const cookie = sessionCookieOf(request.headers.cookie);
    // A browser's stream ends with its session (logout, expiry); a token's when it disconnects.
    const stillValid = request.principal?.via === 'session' && cookie ? () => deps.sessions.find(cookie) !== undefined : () => true;
    live.add(request, reply, stillValid);
  } });

  app.get<{ Querystring: Record<string, string> }>('/api/logs', async (request) => {
    const { after, limit, plugin, level } = request.query;
    const n = limit === undefined ? 200 : Number(limit);
    const from = after === undefined ? 0 : Number(after);
    if (!Number.isInteger(n) || n < 1 || n > 1000 || !Number.isInteger(from) || from < 0) {
      throw new BackworksError('BW_ERR_HTTP_BAD_REQUEST', 'query parameters: "limit" 1 to 1000, "after" a line id (0 or more)');
    }
    if (level !== undefined && !LEVEL_ORDER.includes(level)) throw new BackworksError('BW_ERR_HTTP_BAD_REQUEST', `query parameter "level" must be one of ${LEVEL_ORDER.join(', ')}`);
    return { lines: deps.logRing?.query({ after: from, limit: n, plugin: plugin || undefined, level }) ?? [] };
  });

  app.get<{ Params: { name: string } }>('/api/plugins/:name/library', async (request) => {
    const { config, dir } = deps.config();
    const entry = config.plugins && Object.hasOwn(config.plugins, request.params.name) ? config.plugins[request.params.name] : undefined;
    if (!entry) throw new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', request.params.name, 'not configured');
    return describeLibrary(request.params.name, entry, dir, config.plugin_trust);
  });

  app.get<{ Querystring: Record<string, string> }>('/api/documents', async (request) => {
    const { plugin, status, q, before, limit } = request.query;
    const n = limit === undefined ? 100 : Number(limit);
    const until = before === undefined ? undefined : Number(before);
    if (!Number.isInteger(n) || n < 1 || n > 1000 || (until !== undefined && (!Number.isInteger(until) || until < 1))) {
      throw new BackworksError('BW_ERR_HTTP_BAD_REQUEST', 'query parameters: "limit" 1 to 1000, "before" a document id (1 or more)');
    }
    return { documents: deps.documents.listDocuments({ plugin: plugin || undefined, status: status || undefined, q: q || undefined, before: until, limit: n }) };
  });

  app.get<{ Params: { id: string } }>('/api/documents/:id', async (request, reply) => {
    const id = Number(request.params.id);
    const document = Number.isInteger(id) && id > 0 ? deps.documents.document(id) : undefined;
    if (!document) return reply.code(404).send({ error: `no document ${request.params.id} in the buffer (it may have been dropped by storage.max_age or max_bytes)`, status: 404, code: 'BW_ERR_HTTP_NOT_FOUND' });
    return document;
  });

  app.get('/api/config/file', async () => {
    const config = new ConfigFile(deps.configFile());
    return { file: config.file, text: config.readRedacted() };
  });

  app.post('/api/config/check', async (request) => new ConfigFile(deps.configFile()).check(yamlOf(request.body)));

  app.put('/api/config/file', async (request, reply) => {
    const config = new ConfigFile(deps.configFile());
    const { check, restore } = await config.write(yamlOf(request.body));
    if (!check.valid) return reply.code(422).send({ applied: false, check });
    const reload = await deps.reload();
    // The file on disk stays what runs: a refused reload puts the previous text back.
    if (!reload.ok) restore!();
    return reply.code(reload.ok ? 200 : 422).send({ applied: reload.ok, check, reload });
  });
}

function yamlOf(body: unknown): string {
  let text: unknown;
  try { text = (JSON.parse(String(body ?? '')) as { yaml?: unknown }).yaml; } catch { /* answered below */ }
  if (typeof text !== 'string') throw new BackworksError('BW_ERR_HTTP_BAD_REQUEST', 'body must be JSON like {"yaml": "plugins: …"}');
  return text;
}

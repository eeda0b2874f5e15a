import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { answeredStatus } from '../../../sdk/typescript/index.js';
import { BackworksError, ERRORS, type ErrorSpec } from '../errors.js';
import type { Logger } from '../log.js';

export interface ServerOptions {
  log: Logger;
  bodyLimit: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  https?: { cert: Buffer; key: Buffer };
}

/**
 * The fastify instance with what every route shares: bodies kept as raw bytes (plugins parse what
 * they expect: JSON, HL7, X12), and every error answered as JSON `{error, status, code}`.
 */
export function createServer({ log, bodyLimit, https }: ServerOptions): FastifyInstance {
  // fastify gets no logger: with one it adds a child logger and a 'finish' listener to every
  // request (about 1 µs) for lines we do not want. The few lines the HTTP layer has are ours.
  const httpLog = log.child({ component: 'http' });
  const options: FastifyServerOptions = {
    bodyLimit, return503OnClosing: true,
    // A path whose %-escapes are not UTF-8 (a device name sent in Latin-1): answered as every error is.
    frameworkErrors: (err, request, reply) => {
      const badUrl = err.code === 'FST_ERR_BAD_URL';
      const status = badUrl ? 400 : (err.statusCode ?? 500);
      const error = badUrl ? `the path ${request.url.split('?')[0]} is not valid UTF-8 once its %-escapes are decoded; encode names as UTF-8 (é is %C3%A9)` : err.message;
      void (reply as FastifyReply).code(status).send({ error, status, code: badUrl ? 'BW_ERR_HTTP_BAD_REQUEST' : err.code });
    },
  };
  // One type for both: the routes never look at the transport.
  const app = (https ? Fastify({ ...options, https } as FastifyServerOptions) : Fastify(options)) as unknown as FastifyInstance;

  app.removeAllContentTypeParsers();
  // Bytes, not text: a binary body, a NUL or a byte that is not UTF-8 reaches the plugin as sent.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: FastifyError | BackworksError, request, reply) => {
    const status = err instanceof BackworksError ? err.status : (err.statusCode ?? 500);
    const code = err instanceof BackworksError ? err.code
      : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'BW_ERR_HTTP_BODY_TOO_LARGE' : err.code;
    const retryAfterS = err instanceof BackworksError ? (ERRORS[err.code] as ErrorSpec).retryAfterS : undefined;
    // A plugin still starting is no failure of this request: the client is told when to come back.
    // A plugin's own answer and a buffer refusing on a full disk are not failures of this request's
    // handling either: the buffer logs its state once per change, not once per refused request.
    if (retryAfterS !== undefined) void reply.header('retry-after', String(retryAfterS));
    else if (status >= 500 && answeredStatus(err) === undefined && code !== 'BW_ERR_BUFFER_REFUSED') httpLog.error({ err: err.message, code, url: request.url }, 'request failed');
    void reply.code(status).send({ error: err.message, status, ...(code ? { code } : {}) });
  });

  app.setNotFoundHandler((request, reply) => {
    // A browser opening the gateway's address finds the console (unless an endpoint takes /).
    if (request.method === 'GET' && request.url.split('?')[0] === '/') { void reply.redirect('/console/', 302); return; }
    void reply.code(404).send({ error: `no endpoint ${request.method} ${request.url.split('?')[0]}`, status: 404, code: 'BW_ERR_HTTP_NOT_FOUND' });
  });
  return app;
}

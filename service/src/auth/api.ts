import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../buffer/audit.js';
import { BackworksError } from '../errors.js';
import type { Logger } from '../log.js';
import { CredentialsError, type CredentialStore } from './credentials.js';
import type { LoginLimiter } from './login-limiter.js';
import { sessionCookieOf, Sessions } from './sessions.js';

export interface AuthApiDeps {
  credentials: CredentialStore;
  sessions: Sessions;
  limiter: LoginLimiter;
  audit: AuditLog;
  log: Logger;
}

/**
 * The control plane's own routes: login and logout (browser sessions), the one-time setup, users,
 * tokens and the audit trail. Their roles are in route-roles.ts; bodies are JSON (the guard checks
 * the Content-Type before they are read).
 */
export async function authApi(app: FastifyInstance, deps: AuthApiDeps): Promise<void> {
  const { credentials, sessions, limiter, log } = deps;

  app.post('/api/auth/login', async (request, reply) => {
    const { user, password } = jsonBody<{ user?: unknown; password?: unknown }>(request, '{"user": "NAME", "password": "…"}');
    if (typeof user !== 'string' || typeof password !== 'string') throw new BackworksError('BW_ERR_HTTP_BAD_REQUEST', 'body must be JSON like {"user": "NAME", "password": "…"}');
    request.auditUser = user;
    const source = request.ip;
    const wait = limiter.retryAfter(source, user);
    if (wait > 0) {
      log.warn({ user, source, retry_after_s: wait }, 'login refused: too many failed attempts');
      void reply.header('retry-after', String(wait));
      throw new BackworksError('BW_ERR_AUTH_RATE_LIMITED', wait);
    }
    const found = await credentials.checkPassword(user, password);
    if (!found) {
      limiter.failed(source, user);
      log.warn({ user, source }, 'login failed');
      throw new BackworksError('BW_ERR_AUTH_LOGIN_FAILED');
    }
    limiter.succeeded(user);
    const session = sessions.start(found.name, found.role);
    request.principal = { name: found.name, role: found.role, via: 'session' };
    log.info({ user, role: found.role, source }, 'login');
    void reply.header('set-cookie', Sessions.cookieHeader(session.cookie, Sessions.maxAgeS));
    return { user: found.name, role: found.role, csrf_token: session.csrf, expires: new Date(session.expires).toISOString() };
  });

  app.post('/api/auth/logout', async (request, reply) => {
    const cookie = sessionCookieOf(request.headers.cookie);
    if (cookie) sessions.end(cookie);
    void reply.header('set-cookie', Sessions.cookieHeader('', 0));
    return { logged_out: true };
  });

  app.get('/api/auth/session', async (request) => {
    const p = request.principal!;
    return { user: p.name, role: p.role, via: p.via, ...(p.csrf ? { csrf_token: p.csrf } : {}) };
  });

  app.post('/api/auth/setup', async (request) => {
    const { setup_token: token, user, password } = jsonBody<{ setup_token?: unknown; user?: unknown; password?: unknown }>(request, '{"setup_token": "…", "user": "NAME", "password": "…"}');
    if (typeof token !== 'string' || typeof user !== 'string' || typeof password !== 'string') {
      throw new BackworksError('BW_ERR_HTTP_BAD_REQUEST', 'body must be JSON like {"setup_token": "…", "user": "NAME", "password": "…"}');
    }
    request.auditUser = user;
    const source = request.ip;
    const wait = limiter.retryAfter(source, 'setup');
    if (wait > 0) throw new BackworksError('BW_ERR_AUTH_RATE_LIMITED', wait);
    const done = await credentialCall(() => credentials.completeSetup(token, user, password));
    if (!done) {
      limiter.failed(source, 'setup');
      log.warn({ source }, 'setup refused: wrong or used setup token');
      throw new BackworksError('BW_ERR_AUTH_SETUP', 'the setup token is wrong or was already used (an admin exists: log in, or use backworks user on the box)');
    }
    log.info({ user, source }, 'setup done: first admin created, setup token discarded');
    return { user, role: 'admin' };
  });

  app.get('/api/users', async () => ({ users: credentials.users() }));

  app.post('/api/users', async (request, reply) => {
    const { name, role, password } = jsonBody<{ name?: string; role?: string; password?: string }>(request, '{"name": "NAME", "role": "viewer", "password": "…"}');
    const user = await credentialCall(() => credentials.addUser(String(name ?? ''), String(role ?? ''), String(password ?? '')));
    log.info({ user: user.name, role: user.role, by: request.principal?.name }, 'user added');
    return reply.code(201).send(user);
  });

  app.put<{ Params: { name: string } }>('/api/users/:name/password', async (request) => {
    const { password } = jsonBody<{ password?: string }>(request, '{"password": "…"}');
    await credentialCall(() => credentials.setPassword(request.params.name, String(password ?? '')));
    sessions.endAllOf(request.params.name);
    log.info({ user: request.params.name, by: request.principal?.name }, 'password changed');
    return { user: request.params.name, changed: true };
  });

  app.delete<{ Params: { name: string } }>('/api/users/:name', async (request) => {
    await credentialCall(() => credentials.removeUser(request.params.name));
    sessions.endAllOf(request.params.name);
    log.info({ user: request.params.name, by: request.principal?.name }, 'user removed');
    return { user: request.params.name, removed: true };
  });

  app.get('/api/tokens', async () => ({ tokens: credentials.tokens() }));

  app.post('/api/tokens', async (request, reply) => {
    const { role, name, expires } = jsonBody<{ role?: string; name?: string; expires?: string }>(request, '{"role": "viewer", "name": "ci", "expires": "30d"}');
    const created = await credentialCall(() => credentials.createToken({ role: String(role ?? ''), name, expires }));
    log.info({ token: created.id, name: created.name, role: created.role, by: request.principal?.name }, 'token created');
    return reply.code(201).send(created);
  });

  app.delete<{ Params: { id: string } }>('/api/tokens/:id', async (request) => {
    const revoked = await credentialCall(() => credentials.revokeToken(request.params.id));
    log.info({ token: revoked.id, name: revoked.name, by: request.principal?.name }, 'token revoked');
    return { ...revoked, revoked: true };
  });

  app.get<{ Querystring: { after?: string; limit?: string } }>('/api/audit', async (request) => {
    const after = Number(request.query.after ?? 0);
    const limit = Number(request.query.limit ?? 1000);
    if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new BackworksError('BW_ERR_HTTP_BAD_REQUEST', 'query parameters: "after" a row id (0 or more), "limit" 1 to 10000');
    }
    return { rows: deps.audit.rows(after, limit) };
  });
}

function jsonBody<T>(request: FastifyRequest, example: string): T {
  try {
    const value = JSON.parse(String(request.body ?? '')) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as T;
  } catch { /* answered below */ }
  throw new BackworksError('BW_ERR_HTTP_BAD_REQUEST', `body must be JSON like ${example}`);
}

/** A usage mistake in a credentials call becomes 400/404/409 with its message. */
async function credentialCall<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof CredentialsError) throw Object.assign(new BackworksError('BW_ERR_AUTH_CREDENTIALS', err.message), { status: err.status });
    throw err;
  }
}


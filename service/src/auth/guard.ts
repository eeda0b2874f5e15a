import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { BackworksError } from '../errors.js';
import type { CredentialStore } from './credentials.js';
import type { EndpointRoles } from './endpoint-roles.js';
import { isReservedPath, isSafeMethod, ROUTE_ROLES, type RouteRule } from './route-roles.js';
import { satisfies, type Principal, type Role } from './roles.js';
import { sameSecret } from './secrets.js';
import { sessionCookieOf, type Sessions } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the request, once the guard identified them (null: no credential). */
    principal: Principal | null;
  }
}

export interface GuardDeps {
  credentials: CredentialStore;
  sessions: Sessions;
  endpoints: EndpointRoles;
  /** Sockets accepted on the local Unix socket: their requests are admin's (see local-socket.ts). */
  localSockets: WeakSet<Socket>;
  /** `server.metrics.auth: loopback`: /metrics from 127.0.0.1 or ::1 needs no token. */
  metricsOpenToLoopback: boolean;
}

const LOCAL: Principal = { name: 'local', role: 'admin', via: 'socket' };

/**
 * The one place requests are let in: an onRequest hook, so nothing (not even the body) is read for
 * a request that will be refused. Each request is matched to its rule (the reserved routes' table,
 * or the configured endpoint's auth/role), its credential identified (local socket, bearer token,
 * or session cookie with a CSRF token for anything that changes state), then its role checked.
 * Requests to no route need a viewer too, so that an anonymous caller cannot map the API.
 * Returns the routes registered, as they are registered (for the test that walks them all).
 */
export function installGuard(app: FastifyInstance, deps: GuardDeps): Array<{ method: string; url: string }> {
  app.decorateRequest('principal', null);
  const routes: Array<{ method: string; url: string }> = [];

  // Every reserved route must have its rule: a route without one is a bug found at start.
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
    if (!isReservedPath(route.url)) return;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD' && ROUTE_ROLES[`GET ${route.url}`]) continue;
      if (!ROUTE_ROLES[`${method} ${route.url}`]) throw new Error(`route ${method} ${route.url} has no role in service/src/auth/route-roles.ts`);
    }
  });

  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const method = request.method;
    const url = request.routeOptions.url;
    const reserved = url !== undefined && isReservedPath(url);
    const rule: RouteRule | undefined = reserved ? ROUTE_ROLES[`${method === 'HEAD' ? 'GET' : method} ${url}`] : undefined;
    let needed: Role | 'open';
    if (rule) needed = rule.role;
    else {
      const endpoint = reserved ? undefined : deps.endpoints.find(method, pathOf(request.url));
      // GET / without an endpoint of its own is the way to the console (a redirect, see server.ts).
      needed = !endpoint ? (method === 'GET' && pathOf(request.url) === '/' ? 'open' : 'viewer') : endpoint.open ? 'open' : endpoint.role;
    }
    if (needed === 'viewer' && url === '/metrics' && deps.metricsOpenToLoopback && isLoopback(request.socket.remoteAddress)) needed = 'open';

    let principal: Principal | undefined;
    try {
      principal = identify(request, deps);
    } catch (err) {
      // A wrong credential is refused even on an open route: a caller must know theirs is bad.
      if (needed !== 'open') { done(err as Error); return; }
    }
    request.principal = principal ?? null;
    if (needed !== 'open') {
      if (!principal) { done(new BackworksError('BW_ERR_AUTH_REQUIRED', method, pathOf(request.url))); return; }
      if (principal.via === 'session' && !isSafeMethod(method)) {
        const header = request.headers['x-csrf-token'];
        if (typeof header !== 'string' || !sameSecret(header, principal.csrf!)) { done(new BackworksError('BW_ERR_AUTH_CSRF', method)); return; }
      }
      if (!satisfies(principal.role, needed)) {
        done(new BackworksError('BW_ERR_AUTH_FORBIDDEN', method, pathOf(request.url), needed, principal.via === 'session' ? 'user' : 'token', principal.name, principal.role));
        return;
      }
    }
    if (rule?.body === 'json' && !isJson(request.headers['content-type'])) {
      done(new BackworksError('BW_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', method, url!, 'application/json', request.headers['content-type'] ?? ''));
      return;
    }
    done();
  });
  return routes;
}

/** The request's credential: local socket, then bearer token, then session cookie. Throws on a bad one. */
function identify(request: FastifyRequest, deps: GuardDeps): Principal | undefined {
  if (deps.localSockets.has(request.raw.socket)) return LOCAL;
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    if (!authorization.startsWith('Bearer ')) throw new BackworksError('BW_ERR_AUTH_INVALID', 'Authorization header (only "Bearer TOKEN" is accepted)');
    const principal = deps.credentials.authenticateToken(authorization.slice(7).trim());
    if (!principal) throw new BackworksError('BW_ERR_AUTH_INVALID', 'token');
    return principal;
  }
  const cookie = sessionCookieOf(request.headers.cookie);
  if (cookie !== undefined) {
    const principal = deps.sessions.find(cookie);
    if (!principal) throw new BackworksError('BW_ERR_AUTH_INVALID', 'session (log in again)');
    return principal;
  }
  return undefined;
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

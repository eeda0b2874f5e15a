import type { Role } from './roles.js';

/**
 * What a route of the gateway's own API needs: a role, or `open` (anyone; /health answers only its
 * state then, and login and setup check their own secrets). `body: 'json'` routes refuse any other
 * Content-Type with 415, so that a web page cannot send them a form or text/plain without a CORS
 * preflight.
 */
export interface RouteRule {
  role: Role | 'open';
  body?: 'json';
  /** Written to the audit table even though the method is safe (none yet), or, for open routes, always. */
  audit?: boolean;
}

/**
 * THE table: every reserved route (/health, /metrics, /api/…) by "METHOD pattern", as fastify
 * registers it. A reserved route missing here cannot be registered (the guard throws at start),
 * and test/auth/route-roles.test.ts walks every registered route against it.
 */
export const ROUTE_ROLES: Readonly<Record<string, RouteRule>> = {
  'GET /health': { role: 'open' },
  'GET /metrics': { role: 'viewer' },
  'GET /api/config': { role: 'viewer' },
  'GET /api/plugins': { role: 'viewer' },
  'GET /api/plugins/:name': { role: 'viewer' },
  'POST /api/plugins/:name/restart': { role: 'technician' },
  'POST /api/reload': { role: 'technician' },
  'GET /api/devices': { role: 'viewer' },
  'GET /api/devices/:device': { role: 'viewer' },
  'GET /api/devices/:device/history': { role: 'viewer' },
  'PUT /api/devices/:device/points/:point': { role: 'technician', body: 'json' },
  'POST /api/auth/login': { role: 'open', body: 'json', audit: true },
  'POST /api/auth/setup': { role: 'open', body: 'json', audit: true },
  'POST /api/auth/logout': { role: 'viewer' },
  'GET /api/auth/session': { role: 'viewer' },
  'GET /api/users': { role: 'admin' },
  'POST /api/users': { role: 'admin', body: 'json' },
  'PUT /api/users/:name/password': { role: 'admin', body: 'json' },
  'DELETE /api/users/:name': { role: 'admin' },
  'GET /api/tokens': { role: 'admin' },
  'POST /api/tokens': { role: 'admin', body: 'json' },
  'DELETE /api/tokens/:id': { role: 'admin' },
  'GET /api/audit': { role: 'admin' },
  // The console (service/src/console): its page is open (the login form and the code, no data).
  'GET /console/': { role: 'open' },
  'GET /console/:file': { role: 'open' },
  'GET /api/events': { role: 'viewer' },
  'GET /api/logs': { role: 'viewer' },
  'GET /api/plugins/:name/library': { role: 'viewer' },
  'GET /api/documents': { role: 'viewer' },
  // A body may carry patient or order data: a technician's, as the config file is.
  'GET /api/documents/:id': { role: 'technician' },
  'GET /api/config/file': { role: 'technician' },
  'POST /api/config/check': { role: 'technician', body: 'json' },
  'PUT /api/config/file': { role: 'technician', body: 'json' },
};

/** Paths that belong to the gateway itself (configured endpoints may not use them). */
export function isReservedPath(url: string): boolean {
  return url === '/health' || url === '/metrics' || url === '/api' || url.startsWith('/api/') || url === '/console' || url.startsWith('/console/');
}

/** Methods that change nothing: not audited, no CSRF token needed. */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

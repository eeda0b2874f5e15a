import type { FastifyInstance } from 'fastify';
import type { AuditEntry, AuditLog } from '../buffer/audit.js';
import type { Logger } from '../log.js';
import { isReservedPath, isSafeMethod, ROUTE_ROLES } from './route-roles.js';

/**
 * Writes an audit row once the answer is sent, for every state-changing request to the gateway's
 * own API, every login and setup attempt, and every request to a configured endpoint that was
 * refused for its credential. Accepted data-plane requests (an ERP posting readings, an HL7 feed)
 * are not rows here: what they bring is recorded in the buffer itself, at rates an audit trail is
 * not made for. The route is the path without its query string; no header, body or token is kept.
 */
export function installAudit(app: FastifyInstance, audit: AuditLog, log: Logger): void {
  app.decorateRequest('auditUser', null);
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const url = request.routeOptions.url;
    const reserved = url !== undefined && isReservedPath(url);
    const rule = reserved ? ROUTE_ROLES[`${request.method} ${url}`] : undefined;
    const refused = status === 401 || status === 403 || status === 415;
    if (!(rule?.audit || (reserved && !isSafeMethod(request.method)) || refused)) { done(); return; }
    const p = request.principal;
    const entry: AuditEntry = {
      ts: Date.now(),
      who: p?.name ?? request.auditUser ?? null,
      role: p?.role ?? null,
      via: p?.via ?? null,
      source: p?.via === 'socket' ? null : request.ip ?? null,
      method: request.method,
      route: pathOf(request.url),
      status,
      outcome: status < 400 ? 'ok' : status === 429 ? 'rate_limited' : status === 401 || status === 403 ? 'denied' : 'failed',
    };
    if (!audit.record(entry)) log.error({ audit: entry }, 'audit row not written: the disk refused it; the entry is in this line');
    done();
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The user name a login or setup attempt named (no principal exists when it fails). */
    auditUser: string | null;
  }
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

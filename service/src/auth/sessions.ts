import { hashSecret, newSecret } from './secrets.js';
import type { Principal, Role } from './roles.js';

export const SESSION_COOKIE = 'bw_session';
/** A session ends after this long without a request, and at the latest after MAX_AGE. */
const IDLE_MS = 60 * 60 * 1000;
const MAX_AGE_MS = 12 * 60 * 60 * 1000;

interface Session { user: string; role: Role; csrf: string; started: number; seen: number }

/**
 * Browser sessions, in memory only (a restart logs everyone out, which is what a restarted
 * security boundary should do). Kept by the hash of the cookie, so a heap dump shows no live cookie.
 */
export class Sessions {
  private readonly byHash = new Map<string, Session>();

  start(user: string, role: Role, now = Date.now()): { cookie: string; csrf: string; expires: number } {
    this.sweep(now);
    const cookie = newSecret('bws_');
    const csrf = newSecret('bws_');
    this.byHash.set(hashSecret(cookie), { user, role, csrf, started: now, seen: now });
    return { cookie, csrf, expires: now + MAX_AGE_MS };
  }

  /** The principal of a live session; touching it keeps it alive. */
  find(cookie: string, now = Date.now()): Principal | undefined {
    const key = hashSecret(cookie);
    const session = this.byHash.get(key);
    if (!session) return undefined;
    if (now - session.seen > IDLE_MS || now - session.started > MAX_AGE_MS) {
      this.byHash.delete(key);
      return undefined;
    }
    session.seen = now;
    return { name: session.user, role: session.role, via: 'session', csrf: session.csrf };
  }

  end(cookie: string): void {
    this.byHash.delete(hashSecret(cookie));
  }

  /** A removed user or changed password ends that user's sessions. */
  endAllOf(user: string): void {
    for (const [key, s] of this.byHash) if (s.user === user) this.byHash.delete(key);
  }

  private sweep(now: number): void {
    for (const [key, s] of this.byHash) if (now - s.seen > IDLE_MS || now - s.started > MAX_AGE_MS) this.byHash.delete(key);
  }

  /** The Set-Cookie value: HttpOnly (no script reads it), Secure, SameSite=Strict (never sent cross-site). */
  static cookieHeader(value: string, maxAgeS: number): string {
    return `${SESSION_COOKIE}=${value}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=${maxAgeS}`;
  }

  static maxAgeS = MAX_AGE_MS / 1000;
}

/** The session cookie's value in a Cookie header, if any. */
export function sessionCookieOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

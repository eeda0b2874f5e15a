import crypto from 'node:crypto';

/** 256 random bits with a prefix that says what they are (so a leaked token is recognised by scanners). */
export function newSecret(prefix: 'bw_' | 'bws_' | 'bwsetup_'): string {
  return prefix + crypto.randomBytes(32).toString('base64url');
}

/**
 * Tokens are 256 random bits, so a fast hash is enough to keep them from being usable if the file
 * leaks (no dictionary to try); it also keeps the check on every request below a microsecond.
 */
export function hashSecret(secret: string): string {
  return oneShot ? oneShot('sha256', secret) : crypto.createHash('sha256').update(secret).digest('hex');
}

/** crypto.hash (Node >= 20.12): a third of createHash's cost, which matters on every request. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

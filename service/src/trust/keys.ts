import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BackworksError } from '../errors.js';

/**
 * Ed25519 keys, from Node's crypto. A public key is written as one short line,
 * "ed25519:<32 bytes in base64>", so that it fits in backworks.yaml (`plugin_trust.keys`); a
 * private key is a PKCS#8 PEM file readable by its owner only.
 */
export const PUBLIC_KEY_PREFIX = 'ed25519:';

export interface TrustedKey {
  /** The key as written in config. */
  text: string;
  /** First 16 hex digits of the sha256 of the raw key: short, stable, printed in errors. */
  id: string;
  key: crypto.KeyObject;
}

export function keyId(raw: Buffer): string {
  return crypto.createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** The raw 32 bytes of an Ed25519 public key. */
function rawPublicKey(key: crypto.KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');
}

export function publicKeyText(key: crypto.KeyObject): string {
  return `${PUBLIC_KEY_PREFIX}${rawPublicKey(key).toString('base64')}`;
}

/** Parses "ed25519:BASE64"; `where` names the key's origin in the error (config, file). */
export function parsePublicKey(text: string, where = 'plugin_trust.keys'): TrustedKey {
  const trimmed = text.trim();
  const raw = trimmed.startsWith(PUBLIC_KEY_PREFIX) ? Buffer.from(trimmed.slice(PUBLIC_KEY_PREFIX.length), 'base64') : Buffer.alloc(0);
  if (raw.length !== 32) {
    throw new BackworksError('BW_ERR_TRUST_KEY', where, `"${trimmed.slice(0, 60)}" is not an Ed25519 public key (expected ${PUBLIC_KEY_PREFIX} and 32 bytes in base64)`);
  }
  const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return { text: trimmed, id: keyId(raw), key };
}

export function parsePublicKeys(texts: readonly string[] = []): TrustedKey[] {
  return texts.map((t, i) => parsePublicKey(t, `plugin_trust.keys[${i}]`));
}

export interface GeneratedKeyPair {
  privateKeyFile: string;
  publicKeyFile: string;
  publicKey: string;
  id: string;
}

/**
 * Writes backworks-signing.key (PKCS#8 PEM, mode 0600) and backworks-signing.pub (one line) into
 * `dir`. An existing private key is never overwritten: losing it would orphan every signature.
 */
export function generateKeyPair(dir: string, name = 'backworks-signing'): GeneratedKeyPair {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  fs.mkdirSync(dir, { recursive: true });
  const privateKeyFile = path.join(dir, `${name}.key`);
  const publicKeyFile = path.join(dir, `${name}.pub`);
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  try {
    fs.writeFileSync(privateKeyFile, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BackworksError('BW_ERR_TRUST_KEY', privateKeyFile, 'already exists; it is never overwritten (choose another --out)');
    throw err;
  }
  const text = publicKeyText(publicKey);
  fs.writeFileSync(publicKeyFile, `${text}\n`, { mode: 0o644 });
  return { privateKeyFile, publicKeyFile, publicKey: text, id: keyId(rawPublicKey(publicKey)) };
}

export interface SigningKey {
  key: crypto.KeyObject;
  publicKey: string;
  id: string;
}

export function readPrivateKey(file: string): SigningKey {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(fs.readFileSync(file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BackworksError('BW_ERR_TRUST_KEY', file, code === 'ENOENT' ? 'no such file' : `not a private key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new BackworksError('BW_ERR_TRUST_KEY', file, `is a ${key.asymmetricKeyType} key; Backworks signs with Ed25519`);
  const pub = crypto.createPublicKey(key);
  return { key, publicKey: publicKeyText(pub), id: keyId(rawPublicKey(pub)) };
}

import crypto from 'node:crypto';
import { BackworksError } from '../errors.js';
import type { SigningKey, TrustedKey } from './keys.js';

/**
 * A signed JSON document: the payload is kept as the exact text that was signed (no
 * re-serialisation, so no canonical-JSON pitfalls), and the signed bytes start with the document
 * type, so a plugin manifest can never be passed off as a registry index or the reverse.
 */
export interface Envelope {
  format: 'backworks-signed/1';
  type: EnvelopeType;
  /** The JSON text that was signed. */
  payload: string;
  /** Id of the signing key (keys.ts keyId). */
  key: string;
  /** Ed25519 signature, base64. */
  signature: string;
}

export type EnvelopeType = 'plugin-manifest' | 'registry-index';

function signedBytes(type: EnvelopeType, payload: string): Buffer {
  return Buffer.from(`backworks-signed/1\n${type}\n${payload}`, 'utf8');
}

export function seal(type: EnvelopeType, payload: unknown, signer: SigningKey): Envelope {
  const text = JSON.stringify(payload, null, 2);
  const signature = crypto.sign(null, signedBytes(type, text), signer.key).toString('base64');
  return { format: 'backworks-signed/1', type, payload: text, key: signer.id, signature };
}

/** Parses an envelope's text; `where` (a file or URL) is named in every error. */
export function parseEnvelope(text: string, type: EnvelopeType, where: string): Envelope {
  const code = type === 'plugin-manifest' ? 'BW_ERR_TRUST_BAD_SIGNATURE_FILE' : 'BW_ERR_REGISTRY_BAD_INDEX';
  let value: Partial<Envelope>;
  try {
    value = JSON.parse(text) as Partial<Envelope>;
  } catch (err) {
    throw new BackworksError(code, where, `not JSON (${(err as Error).message})`);
  }
  if (value?.format !== 'backworks-signed/1') throw new BackworksError(code, where, 'not a Backworks signed document (format is not "backworks-signed/1")');
  if (value.type !== type) throw new BackworksError(code, where, `is a ${String(value.type)}, expected a ${type}`);
  for (const field of ['payload', 'key', 'signature'] as const) {
    if (typeof value[field] !== 'string' || !value[field]) throw new BackworksError(code, where, `"${field}" is missing`);
  }
  return value as Envelope;
}

/**
 * Checks the signature with the trusted key the envelope names and returns the payload's text.
 * An unknown key and a signature that does not verify are different errors: the first is a
 * configuration matter, the second means the document was altered.
 */
export function openEnvelope(envelope: Envelope, trusted: readonly TrustedKey[], where: string): string {
  const key = trusted.find((k) => k.id === envelope.key);
  if (!key) {
    if (envelope.type === 'registry-index') throw new BackworksError('BW_ERR_REGISTRY_BAD_INDEX', where, `signed by key ${envelope.key}, which is not in plugin_trust.keys`);
    throw new BackworksError('BW_ERR_TRUST_UNKNOWN_KEY', where, envelope.key);
  }
  const ok = crypto.verify(null, signedBytes(envelope.type, envelope.payload), key.key, Buffer.from(envelope.signature, 'base64'));
  if (!ok) {
    if (envelope.type === 'registry-index') throw new BackworksError('BW_ERR_REGISTRY_BAD_INDEX', where, `the signature does not verify with key ${key.id} (the index was altered)`);
    throw new BackworksError('BW_ERR_TRUST_BAD_SIGNATURE', where, key.id);
  }
  return envelope.payload;
}

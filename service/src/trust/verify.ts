import fs from 'node:fs';
import { BackworksError } from '../errors.js';
import { openEnvelope, type Envelope } from './envelope.js';
import type { TrustedKey } from './keys.js';
import { checkBytes, parseManifest, readSignature, signatureFile, type PluginManifest } from './manifest.js';
import { currentPlatform } from './platform.js';

export interface TrustPolicy {
  keys: readonly TrustedKey[];
  requireSigned: boolean;
}

/**
 * What is known about a library after its bytes and signature were checked:
 * - verified: signed by a trusted key, bytes and platform match;
 * - unsigned: no FILE.sig (refused instead when signatures are required);
 * - untrusted: signed by a key not in plugin_trust.keys (refused instead when signatures are required).
 * `bytes` are the exact bytes that were checked: whoever loads the plugin must load these.
 */
export type Verdict =
  | { state: 'verified'; manifest: PluginManifest; keyId: string; bytes: Buffer; signature: string }
  | { state: 'unsigned'; bytes: Buffer }
  | { state: 'untrusted'; keyId: string; bytes: Buffer };

/**
 * Checks a library without opening it: reads its bytes once, then its FILE.sig. Throws with the
 * reason when the library must be refused; a signature that exists is never ignored, so a
 * tampered or badly signed library is refused even when signatures are not required.
 */
export async function verifyLibrary(file: string, policy: TrustPolicy): Promise<Verdict> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BackworksError('BW_ERR_NATIVE_FILE', file, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message);
  }
  return verifyBytes(file, bytes, readSignature(file), policy);
}

/** The checks of verifyLibrary on bytes already in hand (a download) and their parsed signature. */
export function verifyBytes(file: string, bytes: Buffer, signature: { envelope: Envelope; text: string } | undefined, policy: TrustPolicy): Verdict {
  if (!signature) {
    if (policy.requireSigned) throw new BackworksError('BW_ERR_TRUST_UNSIGNED', file, signatureFile(file));
    return { state: 'unsigned', bytes };
  }
  const { envelope, text } = signature;
  const where = signatureFile(file);
  if (!policy.keys.some((k) => k.id === envelope.key)) {
    if (policy.requireSigned) throw new BackworksError('BW_ERR_TRUST_UNKNOWN_KEY', file, envelope.key);
    // Not trusted, so not proof of anything; but a hash that disagrees still means a damaged file.
    checkBytes(parseManifest(envelope.payload, where), bytes, file);
    return { state: 'untrusted', keyId: envelope.key, bytes };
  }
  const manifest = parseManifest(openEnvelope(envelope, policy.keys, file), where);
  checkBytes(manifest, bytes, file);
  const platform = currentPlatform();
  if (manifest.platform !== platform) {
    throw new BackworksError('BW_ERR_TRUST_MISMATCH', file, `signed for platform ${manifest.platform}; this machine is ${platform}`);
  }
  return { state: 'verified', manifest, keyId: envelope.key, bytes, signature: text };
}

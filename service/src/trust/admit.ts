import path from 'node:path';
import type { PluginTrustConfig } from '../config/sections/plugin-trust.js';
import type { Logger } from '../log.js';
import { parsePublicKeys } from './keys.js';
import { checkDescriptor, type PluginManifest } from './manifest.js';
import { objectPath, putObject, rehash, storeRoot } from './store.js';
import { verifyLibrary, type TrustPolicy } from './verify.js';

export function policyOf(config: PluginTrustConfig | undefined): TrustPolicy {
  return { keys: parsePublicKeys(config?.keys ?? []), requireSigned: config?.require_signed ?? false };
}

/** The library the loader may open, and what it must be: the signed manifest when it was verified. */
export interface Admission {
  /** Path to inspect and load: the store copy for a verified library, else the configured path. */
  path: string;
  manifest?: PluginManifest;
}

/**
 * The gate in front of the native loader, run before a library is ever inspected or opened.
 * A verified library is copied, from the very bytes that were hashed, into the read-only,
 * hash-named store, and the loader opens that copy: a later change to the configured file cannot
 * reach the service. `beforeOpen` re-hashes the copy right before the host is spawned or the
 * library is dlopen-ed, and checks the descriptor against what was signed.
 */
export async function admitNativePlugin(file: string, trust: PluginTrustConfig | undefined, stateDir: string, log: Logger): Promise<Admission> {
  const verdict = await verifyLibrary(file, policyOf(trust));
  if (verdict.state === 'unsigned') {
    if (trust) log.warn({ path: file }, 'plugin library is not signed; loading it because plugin_trust.require_signed is off');
    return { path: file };
  }
  if (verdict.state === 'untrusted') {
    log.warn({ path: file, key: verdict.keyId }, 'plugin library is signed by a key not in plugin_trust.keys; loading it as unsigned because require_signed is off');
    return { path: file };
  }
  const stored = putObject(storeRoot(stateDir), verdict.manifest, path.extname(file), verdict.bytes, verdict.signature);
  log.info({ path: file, store: stored, key: verdict.keyId, sha256: verdict.manifest.sha256 }, 'plugin signature verified');
  return { path: stored, manifest: verdict.manifest };
}

/** The last check before opening: the stored copy is unchanged and its descriptor is the one signed. */
export function beforeOpen(admission: Admission, meta: { name: string; version: string; abi?: string }): void {
  if (!admission.manifest) return;
  checkDescriptor(admission.manifest, meta, admission.path);
  rehash(admission.path, admission.manifest);
}

export { objectPath };

import path from 'node:path';
import { BackworksError } from '../errors.js';
import { fetchText } from './download.js';
import { openEnvelope, parseEnvelope } from './envelope.js';
import type { TrustedKey } from './keys.js';
import { readJson, writeJsonAtomic } from './state-files.js';
import { compareVersions } from './versions.js';

/**
 * A registry is a static folder served over https://, http:// or file://: index.json (a signed
 * envelope, envelope.ts) listing every plugin, version and platform with the URL, sha256 and
 * length of its library; each library has its own FILE.sig beside it. The index carries a
 * version that only increases and an expiry, so a mirror cannot serve an old index (with old,
 * vulnerable plugins) for ever: an index older than the newest one seen, or past its expiry, is
 * refused.
 */
export interface RegistryArtifact {
  /** Relative to the index's URL, or absolute. */
  url: string;
  sha256: string;
  length: number;
  abi: string;
}

export interface RegistryIndex {
  format: 'backworks-registry/1';
  /** Increases with every publication. */
  version: number;
  /** ISO 8601 time after which the index is refused. */
  expires: string;
  /** name -> version -> platform -> artifact */
  plugins: Record<string, Record<string, Record<string, RegistryArtifact>>>;
}

/** The highest index version seen per registry URL: STATE/plugin-store/registry-state.json. */
interface RegistryState {
  indexes: Record<string, { version: number; seen_at: string }>;
}

export function registryStateFile(root: string): string {
  return path.join(root, 'registry-state.json');
}

function parseIndex(text: string, url: string): RegistryIndex {
  let value: RegistryIndex;
  try {
    value = JSON.parse(text) as RegistryIndex;
  } catch (err) {
    throw new BackworksError('BW_ERR_REGISTRY_BAD_INDEX', url, `payload is not JSON (${(err as Error).message})`);
  }
  const bad = (what: string) => new BackworksError('BW_ERR_REGISTRY_BAD_INDEX', url, what);
  if (value?.format !== 'backworks-registry/1') throw bad('"format" is not "backworks-registry/1"');
  if (!Number.isSafeInteger(value.version) || value.version < 1) throw bad('"version" must be a positive integer');
  if (typeof value.expires !== 'string' || Number.isNaN(Date.parse(value.expires))) throw bad('"expires" must be an ISO 8601 time');
  if (typeof value.plugins !== 'object' || value.plugins === null) throw bad('"plugins" must be a map');
  for (const [name, versions] of Object.entries(value.plugins)) {
    for (const [version, platforms] of Object.entries(versions)) {
      for (const [platform, a] of Object.entries(platforms)) {
        const at = `plugins.${name}.${version}.${platform}`;
        if (typeof a?.url !== 'string' || !/^[0-9a-f]{64}$/.test(String(a.sha256)) || !Number.isSafeInteger(a.length)) {
          throw bad(`${at} needs url, sha256 (64 hex digits) and length`);
        }
      }
    }
  }
  return value;
}

/**
 * Fetches, verifies and checks an index: signed by a trusted key, not expired, not older than
 * the newest version of this URL seen before (which it then becomes).
 */
export async function fetchIndex(url: string, keys: readonly TrustedKey[], storeRoot: string, now = Date.now()): Promise<RegistryIndex> {
  if (!keys.length) throw new BackworksError('BW_ERR_REGISTRY_BAD_INDEX', url, 'cannot be verified: plugin_trust.keys is empty (add the publisher\'s public key)');
  const text = await fetchText(url);
  const index = parseIndex(openEnvelope(parseEnvelope(text, 'registry-index', url), keys, url), url);
  if (Date.parse(index.expires) <= now) throw new BackworksError('BW_ERR_REGISTRY_EXPIRED', url, index.expires);
  const stateFile = registryStateFile(storeRoot);
  const state = readJson<RegistryState>(stateFile, { indexes: {} });
  const seen = state.indexes[url];
  if (seen && index.version < seen.version) {
    throw new BackworksError('BW_ERR_REGISTRY_ROLLBACK',
      `registry index ${url} is version ${index.version}, older than version ${seen.version} seen at ${seen.seen_at}: refusing a rolled-back index`);
  }
  if (!seen || index.version > seen.version) {
    state.indexes[url] = { version: index.version, seen_at: new Date(now).toISOString() };
    writeJsonAtomic(stateFile, state);
  }
  return index;
}

export interface Resolved {
  name: string;
  version: string;
  platform: string;
  artifact: RegistryArtifact;
  /** The artifact's absolute URL. */
  url: string;
}

/** Picks NAME@VERSION (or the highest version) built for `platform`. */
export function resolvePlugin(index: RegistryIndex, indexUrl: string, name: string, version: string | undefined, platform: string): Resolved {
  const versions = index.plugins[name];
  if (!versions) {
    throw new BackworksError('BW_ERR_REGISTRY_NOT_FOUND', `the registry has no plugin "${name}"; it has: ${Object.keys(index.plugins).sort().join(', ') || 'none'}`);
  }
  const forPlatform = Object.keys(versions).filter((v) => versions[v][platform]).sort(compareVersions);
  const chosen = version ?? forPlatform.at(-1);
  if (!chosen || !versions[chosen]) {
    throw new BackworksError('BW_ERR_REGISTRY_NOT_FOUND', `the registry has no ${name}@${version}; versions: ${Object.keys(versions).sort(compareVersions).join(', ')}`);
  }
  const artifact = versions[chosen][platform];
  if (!artifact) {
    throw new BackworksError('BW_ERR_REGISTRY_NOT_FOUND', `${name}@${chosen} is not built for ${platform}; platforms: ${Object.keys(versions[chosen]).join(', ')}`);
  }
  return { name, version: chosen, platform, artifact, url: new URL(artifact.url, indexUrl).href };
}

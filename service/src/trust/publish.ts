import fs from 'node:fs';
import path from 'node:path';
import { BackworksError } from '../errors.js';
import { parseEnvelope, seal } from './envelope.js';
import type { SigningKey } from './keys.js';
import { checkBytes, parseManifest } from './manifest.js';
import type { RegistryIndex } from './registry.js';

export interface PublishOptions {
  signer: SigningKey;
  /** How long the index stays valid, in ms. */
  validForMs: number;
  /** Explicit index version; default: the version of the index.json already in the folder + 1. */
  version?: number;
  now?: number;
}

function* libraries(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* libraries(file);
    else if (/\.(so|dylib|dll)$/.test(entry.name) && fs.existsSync(`${file}.sig`)) yield file;
  }
}

/**
 * Writes DIR/index.json for a folder of signed libraries (each FILE with its FILE.sig): what a
 * publisher runs before copying the folder to a web server. Every library is re-checked against
 * its manifest, so a damaged file is never published. The version only goes up.
 */
export function publishRegistry(dir: string, options: PublishOptions): { file: string; index: RegistryIndex } {
  const file = path.join(dir, 'index.json');
  let previous = 0;
  if (fs.existsSync(file)) previous = (JSON.parse(parseEnvelope(fs.readFileSync(file, 'utf8'), 'registry-index', file).payload) as RegistryIndex).version;
  const version = options.version ?? previous + 1;
  if (version <= previous) throw new BackworksError('BW_ERR_REGISTRY_ROLLBACK', `index version ${version} is not above the published ${previous}`);
  const now = options.now ?? Date.now();
  const index: RegistryIndex = { format: 'backworks-registry/1', version, expires: new Date(now + options.validForMs).toISOString(), plugins: {} };
  for (const lib of libraries(dir)) {
    const envelope = parseEnvelope(fs.readFileSync(`${lib}.sig`, 'utf8'), 'plugin-manifest', `${lib}.sig`);
    const manifest = parseManifest(envelope.payload, `${lib}.sig`);
    checkBytes(manifest, fs.readFileSync(lib), lib);
    const versions = (index.plugins[manifest.name] ??= {});
    const platforms = (versions[manifest.version] ??= {});
    if (platforms[manifest.platform]) {
      throw new BackworksError('BW_ERR_TRUST_MISMATCH', lib, `${manifest.name}@${manifest.version} for ${manifest.platform} is also ${platforms[manifest.platform].url}`);
    }
    platforms[manifest.platform] = {
      url: path.relative(dir, lib).split(path.sep).map(encodeURIComponent).join('/'),
      sha256: manifest.sha256, length: manifest.length, abi: manifest.abi,
    };
  }
  fs.writeFileSync(file, `${JSON.stringify(seal('registry-index', index, options.signer), null, 2)}\n`);
  return { file, index };
}

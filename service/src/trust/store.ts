import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BackworksError } from '../errors.js';
import { checkBytes, sha256, type PluginManifest } from './manifest.js';

/**
 * The plugin store: STATE/plugin-store/<sha256>/lib<name><ext> (+ .sig), read-only files in
 * read-only folders named by their content's hash. Verified libraries are loaded from here, never
 * from the path they were verified at, so nobody can swap the file between check and load. (Not
 * STATE/plugins/: that folder holds each plugin's own state directory, and "store" is a valid
 * plugin name.)
 */
export function storeRoot(stateDir: string): string {
  return path.join(stateDir, 'plugin-store');
}

export function objectPath(root: string, manifest: PluginManifest, ext: string): string {
  return path.join(root, manifest.sha256, `lib${manifest.name}${ext}`);
}

/**
 * Puts verified bytes (and their signature) into the store and returns the library's path there.
 * Written into a temporary folder on the same file system, made read-only, then renamed into
 * place: a reader sees a complete object or none. An existing object is re-hashed, and rewritten
 * from the verified bytes when it was damaged.
 */
export function putObject(root: string, manifest: PluginManifest, ext: string, bytes: Buffer, signature: string): string {
  checkBytes(manifest, bytes, `${manifest.name} ${manifest.version}`);
  const dir = path.join(root, manifest.sha256);
  const file = objectPath(root, manifest, ext);
  if (fs.existsSync(dir)) {
    if (intact(file, manifest)) return file;
    removeObject(root, manifest.sha256);
  }
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  const tmp = path.join(root, `.tmp-${crypto.randomBytes(6).toString('hex')}`);
  fs.mkdirSync(tmp, { mode: 0o700 });
  try {
    fs.writeFileSync(path.join(tmp, path.basename(file)), bytes, { mode: 0o444 });
    fs.writeFileSync(path.join(tmp, `${path.basename(file)}.sig`), signature, { mode: 0o444 });
    fs.chmodSync(tmp, 0o555);
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.chmodSync(tmp, 0o700);
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another process stored the same object first: use theirs once it proves intact.
    if (['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '') && intact(file, manifest)) return file;
    throw err;
  }
  return file;
}

function intact(file: string, manifest: PluginManifest): boolean {
  try {
    checkBytes(manifest, fs.readFileSync(file), file);
    return true;
  } catch {
    return false;
  }
}

/** Re-hashes a stored library right before it is opened; throws BW_ERR_TRUST_TAMPERED when it changed. */
export function rehash(file: string, manifest: PluginManifest): void {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new BackworksError('BW_ERR_TRUST_TAMPERED', file, `cannot be read again before loading (${(err as Error).message})`);
  }
  checkBytes(manifest, bytes, file);
}

export function removeObject(root: string, hash: string): void {
  const dir = path.join(root, hash);
  if (!/^[0-9a-f]{64}$/.test(hash) || !fs.existsSync(dir)) return;
  fs.chmodSync(dir, 0o755);
  fs.rmSync(dir, { recursive: true, force: true });
}

export { sha256 };

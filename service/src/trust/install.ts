import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BackworksError } from '../errors.js';
import { inspectNativePlugin } from '../plugins/native/inspect.js';
import { downloadTo, fetchText, type Progress } from './download.js';
import { parseEnvelope } from './envelope.js';
import type { TrustedKey } from './keys.js';
import { checkDescriptor } from './manifest.js';
import { currentPlatform } from './platform.js';
import { fetchIndex, resolvePlugin } from './registry.js';
import { readJson, writeJsonAtomic } from './state-files.js';
import { putObject, removeObject, storeRoot } from './store.js';
import { verifyBytes } from './verify.js';
import { compareVersions } from './versions.js';

/**
 * Installed plugins: each is a verified object in the store (store.ts) and a link
 * STATE/plugin-store/installed/lib<name>.so (+ .sig) that backworks.yaml's `path:` names. An
 * update swaps the link atomically; the previous object stays until `remove`, so a gateway still
 * running it keeps working until it reloads.
 */
export interface InstalledPlugin {
  version: string;
  sha256: string;
  /** The object in the store. */
  file: string;
  /** The stable path for backworks.yaml. */
  link: string;
  registry: string;
  installed_at: string;
  /** Objects of earlier versions, removed with the plugin. */
  previous: string[];
}

interface InstalledFile {
  plugins: Record<string, InstalledPlugin>;
}

export interface InstallOptions {
  stateDir: string;
  registry: string;
  keys: readonly TrustedKey[];
  progress: Progress;
  platform?: string;
  now?: number;
}

/** `artifact` is the file name the registry published, which the installed `plugin.link` may not keep. */
export type InstallResult = { action: 'installed' | 'updated' | 'unchanged'; name: string; version: string; from?: string; artifact?: string; plugin: InstalledPlugin };

const installedFile = (root: string) => path.join(root, 'installed.json');
export const installedDir = (stateDir: string) => path.join(storeRoot(stateDir), 'installed');

export function listInstalled(stateDir: string): Record<string, InstalledPlugin> {
  return readJson<InstalledFile>(installedFile(storeRoot(stateDir)), { plugins: {} }).plugins;
}

/**
 * Installs NAME (at VERSION, else the newest for this platform): verified index, download to a
 * temporary file in the store, checked against the index and the plugin's own signature (a
 * trusted key is required whatever require_signed says), descriptor read in a throwaway host,
 * then moved into the store and linked. A version older than the installed one is refused.
 */
export async function installPlugin(name: string, version: string | undefined, options: InstallOptions): Promise<InstallResult> {
  const root = storeRoot(options.stateDir);
  const platform = options.platform ?? currentPlatform();
  const index = await fetchIndex(options.registry, options.keys, root, options.now);
  const target = resolvePlugin(index, options.registry, name, version, platform);
  const installed = listInstalled(options.stateDir)[name];
  if (installed) {
    const order = compareVersions(target.version, installed.version);
    if (order < 0) {
      throw new BackworksError('BW_ERR_REGISTRY_ROLLBACK',
        `${name} ${target.version} is older than the installed ${installed.version}: refusing a downgrade (run \`backworks plugin remove ${name}\` first to go back on purpose)`);
    }
    if (order === 0 && installed.sha256 === target.artifact.sha256) return { action: 'unchanged', name, version: installed.version, plugin: installed };
    if (order === 0) {
      throw new BackworksError('BW_ERR_REGISTRY_ROLLBACK', `${name} ${target.version} in the registry differs from the installed ${target.version} (sha256 ${target.artifact.sha256} vs ${installed.sha256}): a published version never changes`);
    }
  }

  fs.mkdirSync(root, { recursive: true });
  const tmp = path.join(root, `.download-${crypto.randomBytes(6).toString('hex')}`);
  try {
    await downloadTo(target.url, tmp, target.artifact.length, options.progress, `${name}@${target.version}`);
    const bytes = fs.readFileSync(tmp);
    const sigUrl = `${target.url}.sig`;
    const sigText = await fetchText(sigUrl, 64 * 1024);
    const envelope = parseEnvelope(sigText, 'plugin-manifest', sigUrl);
    const verdict = verifyBytes(target.url, bytes, { envelope, text: sigText }, { keys: options.keys, requireSigned: true });
    if (verdict.state !== 'verified') throw new Error('unreachable: requireSigned verifies or throws');
    const { manifest } = verdict;
    if (manifest.sha256 !== target.artifact.sha256 || manifest.length !== target.artifact.length) {
      throw new BackworksError('BW_ERR_TRUST_TAMPERED', target.url, `the registry index announces sha256 ${target.artifact.sha256} (${target.artifact.length} bytes); the download is ${manifest.sha256} (${manifest.length} bytes)`);
    }
    if (manifest.name !== name || manifest.version !== target.version) {
      throw new BackworksError('BW_ERR_TRUST_MISMATCH', target.url, `the index lists it as ${name}@${target.version}; it is signed as ${manifest.name}@${manifest.version}`);
    }
    const ext = path.extname(new URL(target.url).pathname) || '.so';
    const file = putObject(root, manifest, ext, bytes, sigText);
    checkDescriptor(manifest, await inspectNativePlugin(file), file);
    const link = path.join(installedDir(options.stateDir), `lib${name}${ext}`);
    relink(link, file);
    relink(`${link}.sig`, `${file}.sig`);
    const record: InstalledPlugin = {
      version: manifest.version, sha256: manifest.sha256, file, link, registry: options.registry,
      installed_at: new Date(options.now ?? Date.now()).toISOString(),
      previous: installed ? [...installed.previous, installed.sha256].filter((h) => h !== manifest.sha256) : [],
    };
    saveInstalled(root, name, record);
    return { action: installed ? 'updated' : 'installed', name, version: manifest.version, ...(installed ? { from: installed.version } : {}), artifact: path.basename(new URL(target.url).pathname), plugin: record };
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Updates every installed plugin (or the named ones) to the newest version in its registry. */
export async function updatePlugins(names: readonly string[], options: Omit<InstallOptions, 'registry'> & { registry?: string }): Promise<InstallResult[]> {
  const installed = listInstalled(options.stateDir);
  const chosen = names.length ? names : Object.keys(installed).sort();
  const results: InstallResult[] = [];
  for (const name of chosen) {
    const current = installed[name];
    if (!current) throw new BackworksError('BW_ERR_REGISTRY_NOT_FOUND', `${name} is not installed (installed: ${Object.keys(installed).sort().join(', ') || 'none'})`);
    results.push(await installPlugin(name, undefined, { ...options, registry: options.registry ?? current.registry }));
  }
  return results;
}

/** Removes the link, the record and every stored object of the plugin. */
export function removePlugin(name: string, stateDir: string): InstalledPlugin {
  const root = storeRoot(stateDir);
  const all = listInstalled(stateDir);
  const plugin = all[name];
  if (!plugin) throw new BackworksError('BW_ERR_REGISTRY_NOT_FOUND', `${name} is not installed (installed: ${Object.keys(all).sort().join(', ') || 'none'})`);
  fs.rmSync(plugin.link, { force: true });
  fs.rmSync(`${plugin.link}.sig`, { force: true });
  delete all[name];
  writeJsonAtomic(installedFile(root), { plugins: all });
  const stillUsed = new Set(Object.values(all).flatMap((p) => [p.sha256, ...p.previous]));
  for (const hash of [plugin.sha256, ...plugin.previous]) if (!stillUsed.has(hash)) removeObject(root, hash);
  return plugin;
}

function saveInstalled(root: string, name: string, record: InstalledPlugin): void {
  const file = installedFile(root);
  const all = readJson<InstalledFile>(file, { plugins: {} });
  all.plugins[name] = record;
  writeJsonAtomic(file, all);
}

/** Points `link` at `target` in one rename, so a reader never finds it missing. */
function relink(link: string, target: string): void {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const tmp = `${link}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.symlinkSync(path.relative(path.dirname(link), target), tmp);
  fs.renameSync(tmp, link);
}

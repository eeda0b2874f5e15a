import crypto from 'node:crypto';
import fs from 'node:fs';
import { BackworksError } from '../errors.js';
import { inspectNativePlugin } from '../plugins/native/inspect.js';
import { parseEnvelope, seal, type Envelope } from './envelope.js';
import type { SigningKey } from './keys.js';
import { currentPlatform } from './platform.js';

/**
 * What a signature vouches for: these exact bytes (sha256 and length) are this plugin (name,
 * version, ABI from its descriptor) for this platform. Binding the name and version stops a
 * signed library from being served under another plugin's name or as a newer release.
 */
export interface PluginManifest {
  name: string;
  version: string;
  /** ABI version of the descriptor, "MAJOR.MINOR". */
  abi: string;
  /** e.g. linux-x64-gnu (platform.ts). */
  platform: string;
  sha256: string;
  length: number;
}

/** Plugin names become file names in the store: no path separators, no leading dot. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function signatureFile(file: string): string {
  return `${file}.sig`;
}

export function sha256(bytes: Buffer): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/**
 * Describes a library for signing: hashes its bytes and reads name, version and ABI from its
 * descriptor through the loader's inspect path (a throwaway host process, never this one).
 */
export async function describeLibrary(file: string, platform = currentPlatform()): Promise<PluginManifest> {
  const bytes = await fs.promises.readFile(file);
  const meta = await inspectNativePlugin(file);
  const after = await fs.promises.readFile(file);
  // The file must not change between hashing and inspecting, or the manifest would describe two files.
  if (!after.equals(bytes)) throw new BackworksError('BW_ERR_TRUST_TAMPERED', file, 'the file changed while it was being signed');
  return { name: meta.name, version: meta.version, abi: meta.abi ?? '', platform, sha256: sha256(bytes), length: bytes.length };
}

/** Signs a library: writes FILE.sig and returns the manifest it vouches for. */
export async function signLibrary(file: string, signer: SigningKey, platform?: string): Promise<{ manifest: PluginManifest; sigFile: string }> {
  const manifest = await describeLibrary(file, platform);
  const sigFile = signatureFile(file);
  fs.writeFileSync(sigFile, `${JSON.stringify(seal('plugin-manifest', manifest, signer), null, 2)}\n`);
  return { manifest, sigFile };
}

/** The signature beside a library, or undefined when there is none. */
export function readSignature(file: string): { envelope: Envelope; text: string } | undefined {
  const sigFile = signatureFile(file);
  let text: string;
  try {
    text = fs.readFileSync(sigFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BackworksError('BW_ERR_TRUST_BAD_SIGNATURE_FILE', sigFile, (err as Error).message);
  }
  return { envelope: parseEnvelope(text, 'plugin-manifest', sigFile), text };
}

/** Parses and checks the fields of a manifest's JSON text. */
export function parseManifest(text: string, where: string): PluginManifest {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new BackworksError('BW_ERR_TRUST_BAD_SIGNATURE_FILE', where, `manifest is not JSON (${(err as Error).message})`);
  }
  const bad = (field: string, want: string) => new BackworksError('BW_ERR_TRUST_BAD_SIGNATURE_FILE', where, `manifest "${field}" must be ${want}`);
  if (typeof value.name !== 'string' || !SAFE_NAME.test(value.name)) throw bad('name', 'a plugin name (letters, digits, _ . -)');
  for (const field of ['version', 'abi', 'platform'] as const) if (typeof value[field] !== 'string' || !value[field]) throw bad(field, 'a non-empty string');
  if (typeof value.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(value.sha256)) throw bad('sha256', '64 hex digits');
  if (!Number.isSafeInteger(value.length) || (value.length as number) < 0) throw bad('length', 'a byte count');
  return { name: value.name, version: value.version as string, abi: value.abi as string, platform: value.platform as string, sha256: value.sha256, length: value.length as number };
}

/** Refuses bytes that are not the ones the manifest describes. */
export function checkBytes(manifest: PluginManifest, bytes: Buffer, file: string): void {
  if (bytes.length !== manifest.length) {
    throw new BackworksError('BW_ERR_TRUST_TAMPERED', file, `length is ${bytes.length} bytes, signed ${manifest.length}`);
  }
  const actual = sha256(bytes);
  if (actual !== manifest.sha256) throw new BackworksError('BW_ERR_TRUST_TAMPERED', file, `sha256 is ${actual}, signed ${manifest.sha256}`);
}

/** Refuses a library whose descriptor is not what was signed. */
export function checkDescriptor(manifest: PluginManifest, meta: { name: string; version: string; abi?: string }, file: string): void {
  for (const field of ['name', 'version', 'abi'] as const) {
    if (meta[field] !== manifest[field]) {
      throw new BackworksError('BW_ERR_TRUST_MISMATCH', file, `descriptor ${field} is "${meta[field]}", the signed manifest says "${manifest[field]}"`);
    }
  }
}

import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Capability, PluginMetadata } from '../driver.js';
import { BackworksError, type ErrorCode } from '../../errors.js';
import { checkElf } from './elf.js';
import { hostBinaryPath, hostEnvironment, requireHostBinary } from './host-binary.js';

/** BW_CAP_* bits of the header, in bit order. */
const CAPABILITY_BITS: Capability[] = ['endpoint', 'before_request', 'after_response', 'connector', 'write', 'config_reload'];

/** The descriptor JSON the host prints (descriptor_json in host/descriptor.c). */
export interface RawDescriptor {
  name: string;
  version: string;
  description: string;
  abi_major: number;
  abi_minor: number;
  capabilities: number;
  descriptor_size: number;
  calls_size: number;
  config_schema: string | null;
}

export interface NativeMetadata extends PluginMetadata {
  path: string;
  descriptorSize: number;
  callsSize: number;
}

const INSPECT_TIMEOUT_MS = 5_000;

export function toMetadata(file: string, raw: RawDescriptor): NativeMetadata {
  let configSchema: Record<string, unknown> | undefined;
  if (raw.config_schema) {
    try {
      configSchema = JSON.parse(raw.config_schema) as Record<string, unknown>;
    } catch (err) {
      throw new BackworksError('BW_ERR_NATIVE_BAD_DESCRIPTOR', file, `config_schema_json is not JSON: ${(err as Error).message}`);
    }
  }
  return {
    name: raw.name,
    version: raw.version,
    description: raw.description,
    abi: `${raw.abi_major}.${raw.abi_minor}`,
    capabilities: CAPABILITY_BITS.filter((_, bit) => (raw.capabilities & (1 << bit)) !== 0),
    ...(configSchema ? { configSchema } : {}),
    path: file,
    descriptorSize: raw.descriptor_size,
    callsSize: raw.calls_size,
  };
}

/** Refuses what cannot be a loadable library before any process opens it. */
export async function checkLibraryFile(file: string): Promise<void> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new BackworksError('BW_ERR_NATIVE_FILE', file, 'not a regular file');
    await fs.access(file, fs.constants.R_OK);
  } catch (err) {
    if (err instanceof BackworksError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new BackworksError('BW_ERR_NATIVE_FILE', file, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message);
  }
  await checkElf(file);
}

/**
 * Reads a plugin's descriptor without creating or initializing it, in a throwaway host process:
 * a library whose constructors crash costs that process, never the service.
 */
/**
 * Descriptors already read, by file identity: `run` checks the config (which reads each native
 * plugin's descriptor for its schema) and then opens the plugins, and every reload checks again.
 * A file that changes gets a new size, mtime or inode, and so a fresh read.
 */
const descriptors = new Map<string, Promise<NativeMetadata>>();

export async function inspectNativePlugin(file: string): Promise<NativeMetadata> {
  await checkLibraryFile(file);
  const stat = await fs.stat(file);
  const key = `${path.resolve(file)}\0${stat.ino}\0${stat.size}\0${stat.mtimeMs}`;
  let read = descriptors.get(key);
  if (!read) {
    read = readDescriptor(file);
    descriptors.set(key, read);
    read.catch(() => descriptors.delete(key));
  }
  return read;
}

/** Reads the descriptor in a throwaway host process, so a broken library never crashes the service. */
async function readDescriptor(file: string): Promise<NativeMetadata> {
  const binary = requireHostBinary();
  const child = spawn(binary, ['--inspect', file], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: hostEnvironment({ BW_HOST_FD: '3' }),
  });
  const chunks: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdio[3]!.on('data', (c: Buffer) => chunks.push(c));
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  const timer = setTimeout(() => child.kill('SIGKILL'), INSPECT_TIMEOUT_MS);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(timer));
  const out = Buffer.concat(chunks).toString('utf8').trim();
  if (signal) {
    throw new BackworksError('BW_ERR_NATIVE_HOST', file, `crashed with ${signal} while reading its descriptor (${binary})`);
  }
  let parsed: RawDescriptor | { error: string; message: string };
  try {
    parsed = JSON.parse(out) as typeof parsed;
  } catch {
    throw new BackworksError('BW_ERR_NATIVE_HOST', file, `exit code ${code}, no descriptor: ${Buffer.concat(stderr).toString().trim() || out || 'no output'}`);
  }
  if ('error' in parsed) throw nativeError(parsed.error, file, parsed.message);
  return toMetadata(file, parsed);
}

/** Turns a code and message the host reported into a BackworksError. */
export function nativeError(code: string, file: string, message: string): BackworksError {
  const known: ErrorCode[] = ['BW_ERR_NATIVE_DLOPEN', 'BW_ERR_NATIVE_NOT_A_PLUGIN', 'BW_ERR_NATIVE_ABI_MISMATCH',
    'BW_ERR_NATIVE_BAD_DESCRIPTOR', 'BW_ERR_NATIVE_CREATE'];
  const errorCode = known.find((k) => k === code) ?? 'BW_ERR_NATIVE_HOST';
  if (errorCode === 'BW_ERR_NATIVE_DLOPEN') return new BackworksError(errorCode, file, message.replace(`${file}: `, ''));
  return new BackworksError(errorCode, file, message);
}

export { hostBinaryPath };

import fs from 'node:fs';
import path from 'node:path';
import { isRole, type Role } from './roles.js';

/** The credentials of one gateway, as stored in `STATE_DIR/credentials.json` (0600). */
export interface CredentialsData {
  version: 1;
  users: Record<string, { role: Role; hash: string; created: number; changed: number }>;
  /** By id (the first 12 hex digits of the token's hash). */
  tokens: Record<string, { name: string; role: Role; hash: string; created: number; expires: number | null }>;
  /** While no admin user exists: the hash of the one-time setup token. */
  setup: { hash: string; created: number } | null;
}

export const CREDENTIALS_FILE = 'credentials.json';
export const SETUP_TOKEN_FILE = 'setup-token';

export function emptyCredentials(): CredentialsData {
  return { version: 1, users: {}, tokens: {}, setup: null };
}

/** Reads the file; a missing file is empty credentials, a malformed one an error naming what is wrong. */
export function readCredentials(file: string): CredentialsData {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyCredentials();
    throw new Error(`cannot read ${file}: ${(err as Error).message}; it must be readable by the service user (chown backworks: ${file})`);
  }
  let data: CredentialsData;
  try {
    data = JSON.parse(text) as CredentialsData;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); restore it from a backup or move it away to start over with a new setup token`);
  }
  if (data?.version !== 1 || typeof data.users !== 'object' || typeof data.tokens !== 'object') {
    throw new Error(`${file} is not a Backworks credentials file (version 1 with users and tokens)`);
  }
  for (const [name, user] of Object.entries(data.users)) if (!isRole(user.role)) throw new Error(`${file}: user "${name}" has an unknown role "${user.role}"`);
  for (const [id, token] of Object.entries(data.tokens)) if (!isRole(token.role)) throw new Error(`${file}: token ${id} has an unknown role "${token.role}"`);
  data.setup ??= null;
  return data;
}

/**
 * Writes the file atomically (a new file renamed over the old one), 0600. Run as root (the CLI on
 * the box), the file is given to the owner of the state directory, so the service user can read it.
 */
export function writeCredentials(file: string, data: CredentialsData): void {
  writePrivateFile(file, `${JSON.stringify(data, null, 2)}\n`);
}

export function writePrivateFile(file: string, text: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(temp, 0o600);
  giveToDirectoryOwner(temp, dir);
  fs.renameSync(temp, file);
}

function giveToDirectoryOwner(file: string, dir: string): void {
  if (process.getuid?.() !== 0) return;
  const owner = fs.statSync(dir);
  fs.chownSync(file, owner.uid, owner.gid);
}

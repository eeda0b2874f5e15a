import fs from 'node:fs';
import path from 'node:path';
import { parseDuration } from '../../../sdk/typescript/units.js';
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { isRole, type Principal, type Role } from './roles.js';
import { hashSecret, newSecret, sameSecret } from './secrets.js';
import { CREDENTIALS_FILE, readCredentials, SETUP_TOKEN_FILE, writeCredentials, writePrivateFile, type CredentialsData } from './credentials-file.js';

const RECENT_TOKENS = 1024;

export const USER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export interface TokenInfo { id: string; name: string; role: Role; created: string; expires: string | null; expired: boolean }
export interface UserInfo { name: string; role: Role; created: string; changed: string }

/** A usage mistake: the CLI prints it and exits 2, the API answers 400/404/409. */
export class CredentialsError extends Error {
  constructor(message: string, readonly status: 400 | 404 | 409 = 400) {
    super(message);
    this.name = 'CredentialsError';
  }
}

/**
 * Users and API tokens of one gateway, kept in one file in the state directory and shared by the
 * service and the CLI: every change re-reads the file first and writes it back at once, so a token
 * the CLI creates is accepted by the running service on its first use (a token not in memory makes
 * the service look at the file again), and one it revokes is dropped when the service sees the file
 * change (fs.watch, in milliseconds).
 */
export class CredentialStore {
  readonly file: string;
  readonly setupTokenFile: string;
  private data: CredentialsData;
  /** Token hash -> id, for the check on every request. */
  private byHash = new Map<string, string>();
  /**
   * Tokens seen lately -> their id, so a script's every request skips the hash (a few µs, a tenth
   * of a request). Memory only, like the request that carried the token; emptied whenever the
   * credentials change, so a revoked token is not found here.
   */
  private recent = new Map<string, string>();
  /** By token id: the principal each request with it gets (shared, never changed). */
  private principals = new Map<string, Principal>();
  private stamp = '';
  private watcher: fs.FSWatcher | undefined;

  constructor(readonly stateDir: string) {
    this.file = path.join(stateDir, CREDENTIALS_FILE);
    this.setupTokenFile = path.join(stateDir, SETUP_TOKEN_FILE);
    this.data = this.read();
  }

  /** Re-reads the file when it changed on disk; true when it did. */
  refresh(): boolean {
    if (this.stampOf() === this.stamp) return false;
    this.data = this.read();
    return true;
  }

  /** Follows changes other processes (the CLI) make to the file. */
  watch(onError: (err: Error) => void): void {
    fs.mkdirSync(this.stateDir, { recursive: true });
    this.watcher = fs.watch(this.stateDir, (_event, name) => {
      if (name !== CREDENTIALS_FILE) return;
      try { this.refresh(); } catch (err) { onError(err as Error); }
    });
    this.watcher.unref();
  }

  close(): void {
    this.watcher?.close();
  }

  // ---- checks made by the guard and the login ----------------------------------------------------

  /** The principal a bearer token stands for, or undefined when it is unknown, revoked or expired. */
  authenticateToken(secret: string, now = Date.now()): Principal | undefined {
    let id = this.recent.get(secret);
    if (id === undefined) {
      const hash = hashSecret(secret);
      id = this.byHash.get(hash);
      if (id === undefined && this.refresh()) id = this.byHash.get(hash);
      if (id === undefined) return undefined;
      if (this.recent.size >= RECENT_TOKENS) this.recent.clear();
      this.recent.set(secret, id);
    }
    const token = this.data.tokens[id];
    if (!token || (token.expires !== null && token.expires <= now)) return undefined;
    return this.principals.get(id);
  }

  /** Checks a password; as slow for an unknown user as for a known one. */
  async checkPassword(user: string, password: string): Promise<{ name: string; role: Role } | undefined> {
    this.refresh();
    const record = Object.hasOwn(this.data.users, user) ? this.data.users[user] : undefined;
    const ok = await verifyPassword(password, record?.hash ?? DUMMY_HASH);
    return ok && record ? { name: user, role: record.role } : undefined;
  }

  // ---- first start --------------------------------------------------------------------------------

  get hasAdmin(): boolean {
    return Object.values(this.data.users).some((u) => u.role === 'admin');
  }

  get setupPending(): boolean {
    return this.data.setup !== null;
  }

  /**
   * With no admin user yet, makes a one-time setup token (unless one is waiting) and writes it to
   * `STATE_DIR/setup-token` (0600): the only way in besides the CLI on the box. Returns that file.
   */
  ensureSetupToken(): string | undefined {
    return this.change((data) => {
      if (Object.values(data.users).some((u) => u.role === 'admin')) return undefined;
      if (data.setup && fs.existsSync(this.setupTokenFile)) return this.setupTokenFile;
      const secret = newSecret('bwsetup_');
      data.setup = { hash: hashSecret(secret), created: Date.now() };
      writePrivateFile(this.setupTokenFile, `${secret}\n`);
      return this.setupTokenFile;
    });
  }

  /** Accepts the setup token once: creates the first admin and forgets the token. */
  async completeSetup(secret: string, user: string, password: string): Promise<boolean> {
    this.refresh();
    const setup = this.data.setup;
    if (!setup || typeof secret !== 'string' || !sameSecret(hashSecret(secret), setup.hash)) return false;
    checkUserName(user);
    checkPassword(password);
    const hash = await hashPassword(password);
    this.change((data) => {
      if (!data.setup || data.setup.hash !== setup.hash) throw new CredentialsError('the setup token was used meanwhile', 409);
      const now = Date.now();
      data.users[user] = { role: 'admin', hash, created: now, changed: now };
      data.setup = null;
    });
    fs.rmSync(this.setupTokenFile, { force: true });
    return true;
  }

  // ---- users ---------------------------------------------------------------------------------------

  users(): UserInfo[] {
    this.refresh();
    return Object.entries(this.data.users).map(([name, u]) => ({ name, role: u.role, created: iso(u.created), changed: iso(u.changed) }));
  }

  /** Throws what is wrong with adding this user, before anyone is asked for a password. */
  checkNewUser(name: string, role: string): Role {
    checkUserName(name);
    const checkedRole = checkRole(role);
    this.refresh();
    if (Object.hasOwn(this.data.users, name)) throw new CredentialsError(`user "${name}" exists; change the password with "user passwd ${name}"`, 409);
    return checkedRole;
  }

  async addUser(name: string, role: string, password: string): Promise<UserInfo> {
    const checkedRole = this.checkNewUser(name, role);
    checkPassword(password);
    const hash = await hashPassword(password);
    const info = this.change((data) => {
      if (Object.hasOwn(data.users, name)) throw new CredentialsError(`user "${name}" exists; change the password with "user passwd ${name}"`, 409);
      const now = Date.now();
      data.users[name] = { role: checkedRole, hash, created: now, changed: now };
      if (checkedRole === 'admin') data.setup = null;
      return { name, role: checkedRole, created: iso(now), changed: iso(now) };
    });
    if (checkedRole === 'admin') fs.rmSync(this.setupTokenFile, { force: true });
    return info;
  }

  async setPassword(name: string, password: string): Promise<void> {
    checkPassword(password);
    const hash = await hashPassword(password);
    this.change((data) => {
      const user = data.users[name];
      if (!Object.hasOwn(data.users, name) || !user) throw new CredentialsError(`no user "${name}" (backworks user list shows them)`, 404);
      user.hash = hash;
      user.changed = Date.now();
    });
  }

  removeUser(name: string): void {
    this.change((data) => {
      if (!Object.hasOwn(data.users, name)) throw new CredentialsError(`no user "${name}" (backworks user list shows them)`, 404);
      delete data.users[name];
    });
  }

  // ---- tokens --------------------------------------------------------------------------------------

  tokens(now = Date.now()): TokenInfo[] {
    this.refresh();
    return Object.entries(this.data.tokens).map(([id, t]) => tokenInfo(id, t, now));
  }

  /** Creates a token; the secret is in the answer and nowhere else (only its hash is kept). */
  createToken(options: { role: string; name?: string; expires?: string }): TokenInfo & { token: string } {
    const role = checkRole(options.role);
    const name = options.name ?? `${role}-token`;
    if (!USER_PATTERN.test(name)) throw new CredentialsError(`token name "${name}" must be letters, digits and _.@- (up to 64)`);
    let expires: number | null = null;
    if (options.expires !== undefined) {
      let ms: number;
      try { ms = parseDuration(options.expires); } catch { throw new CredentialsError(`--expires "${options.expires}" is not a duration; write it like 12h, 30d`); }
      if (!(ms > 0)) throw new CredentialsError(`--expires must be longer than 0, got "${options.expires}"`);
      expires = Date.now() + ms;
    }
    const secret = newSecret('bw_');
    const hash = hashSecret(secret);
    const id = hash.slice(0, 12);
    const record = { name, role, hash, created: Date.now(), expires };
    this.change((data) => { data.tokens[id] = record; });
    return { ...tokenInfo(id, record, Date.now()), token: secret };
  }

  /** Revokes by id, or by name when exactly one token has it. */
  revokeToken(idOrName: string): TokenInfo {
    return this.change((data) => {
      let id = Object.hasOwn(data.tokens, idOrName) ? idOrName : undefined;
      if (!id) {
        const named = Object.entries(data.tokens).filter(([, t]) => t.name === idOrName);
        if (named.length > 1) throw new CredentialsError(`${named.length} tokens are named "${idOrName}"; revoke one by its id (${named.map(([i]) => i).join(', ')})`, 409);
        id = named[0]?.[0];
      }
      if (!id) throw new CredentialsError(`no token with id or name "${idOrName}" (backworks token list shows them)`, 404);
      const info = tokenInfo(id, data.tokens[id], Date.now());
      delete data.tokens[id];
      return info;
    });
  }

  // ---- internals -----------------------------------------------------------------------------------

  /** Read, change, write: always on the newest file, so the CLI and the service do not undo each other. */
  private change<T>(apply: (data: CredentialsData) => T): T {
    const data = readCredentials(this.file);
    const result = apply(data);
    writeCredentials(this.file, data);
    this.data = this.index(data);
    this.stamp = this.stampOf();
    return result;
  }

  private read(): CredentialsData {
    const stamp = this.stampOf();
    const data = this.index(readCredentials(this.file));
    this.stamp = stamp;
    return data;
  }

  private index(data: CredentialsData): CredentialsData {
    this.recent = new Map();
    this.principals = new Map(Object.entries(data.tokens).map(([id, t]) => [id, Object.freeze({ name: t.name, role: t.role, via: 'bearer' as const })]));
    this.byHash = new Map(Object.entries(data.tokens).map(([id, t]) => [t.hash, id]));
    return data;
  }

  private stampOf(): string {
    try {
      const s = fs.statSync(this.file);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }
}

function tokenInfo(id: string, t: CredentialsData['tokens'][string], now: number): TokenInfo {
  return { id, name: t.name, role: t.role, created: iso(t.created), expires: t.expires === null ? null : iso(t.expires), expired: t.expires !== null && t.expires <= now };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function checkUserName(name: unknown): void {
  if (typeof name !== 'string' || !USER_PATTERN.test(name)) throw new CredentialsError(`user name "${String(name)}" must be letters, digits and _.@- (up to 64), starting with a letter or digit`);
}

function checkRole(role: unknown): Role {
  if (!isRole(role)) throw new CredentialsError(`role must be viewer, technician or admin, got "${String(role)}"`);
  return role;
}

function checkPassword(password: unknown): void {
  if (typeof password !== 'string') throw new CredentialsError('a password is required');
  const problem = passwordProblem(password);
  if (problem) throw new CredentialsError(problem);
}

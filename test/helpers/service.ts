import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CredentialStore } from '../../service/src/auth/credentials.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cliPath = path.join(repoRoot, 'dist/service/src/cli.js');

export interface RunningService {
  process: ChildProcess;
  url: string;
  /** Every JSON log line the service printed so far. */
  logs: Array<Record<string, unknown>>;
  /** The service's state directory (credentials, buffer, local socket). */
  stateDir: string;
  /** An admin API token, created in the state directory once the service listened. */
  token: string;
  /** fetch with the admin token; `target` is a path on the service or a full URL. */
  fetch(target: string, init?: RequestInit): Promise<Response>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The admin token of each running service, by its origin (http://127.0.0.1:PORT). */
const tokens = new Map<string, string>();

/**
 * fetch with the admin token of the service at that URL (started by startService), so a test of
 * something else than auth reads and writes the API as before. Tests of auth use plain fetch.
 */
export function authFetch(target: string | URL, init: RequestInit = {}): Promise<Response> {
  const token = tokens.get(new URL(target).origin);
  if (!token) return fetch(target, init);
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
  return fetch(target, { ...init, headers });
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  args?: string[];
  timeoutMs?: number;
  cwd?: string;
  /** Resolve once HTTP listens ("gateway listening"), not once every plugin settled. */
  listening?: boolean;
}

/**
 * Starts the real, compiled service (`backworks run`) on a free port and resolves once every
 * plugin is running or failed ("plugins settled"; with `listening`, once HTTP listens). Needs
 * `npm run build` first (npm test does it).
 */
export function startService(configFile: string, options: StartOptions = {}): Promise<RunningService> {
  const child = spawn(process.execPath, [cliPath, 'run', '-c', configFile, '--port', '0', '--host', '127.0.0.1', ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`service did not start in time\n${stderr}`)); }, options.timeoutMs ?? 20_000);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`service exited with ${code} before it was up\n${stderr}`)); });
    let listening: Record<string, unknown> | undefined;
    let settled = false;
    let resolved = false;
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      logs.push(entry);
      if (entry.msg === 'gateway listening') listening = entry;
      if (entry.msg === 'plugins settled') settled = true;
      // The token is made on whichever line resolves: the socket line is there once HTTP listens.
      if (!resolved && listening && (settled || options.listening)) {
        resolved = true;
        entry = listening;
        clearTimeout(timer);
        // STATE_DIR/run/backworks.sock: the state directory is where the service says it is.
        const socket = logs.find((l) => l.msg === 'local admin socket listening (owner only)')?.socket;
        const stateDir = path.dirname(path.dirname(String(socket)));
        const { token } = new CredentialStore(stateDir).createToken({ role: 'admin', name: 'test-admin' });
        const url = String(entry.url);
        tokens.set(new URL(url).origin, token);
        void exited.then(() => tokens.delete(new URL(url).origin));
        resolve({
          process: child,
          url,
          logs,
          stateDir,
          token,
          fetch: (target, init) => authFetch(target.startsWith('/') ? `${url}${target}` : target, init),
          stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
  });
}

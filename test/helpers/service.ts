import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cliPath = path.join(repoRoot, 'dist/service/src/cli.js');

export interface RunningService {
  process: ChildProcess;
  url: string;
  /** Every JSON log line the service printed so far. */
  logs: Array<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the real, compiled service (`backworks run`) on a free port and resolves once it is
 * listening. Needs `npm run build` first (npm test does it).
 */
export function startService(configFile: string, options: { env?: NodeJS.ProcessEnv; args?: string[]; timeoutMs?: number; cwd?: string } = {}): Promise<RunningService> {
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
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`service exited with ${code} before listening\n${stderr}`)); });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      logs.push(entry);
      if (entry.msg === 'gateway listening') {
        clearTimeout(timer);
        resolve({
          process: child,
          url: String(entry.url),
          logs,
          stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
  });
}

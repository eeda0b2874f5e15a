import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The stand-in OPC UA server (standin-server.mjs) as a child process the test can signal. */
export interface Standin {
  process: ChildProcess;
  port: number;
  endpoint: string;
  /** SHA-256 of the server's certificate (DER). */
  certificate: string;
  /** SIGKILL, SIGTERM, SIGSTOP…; resolves when it has exited (SIGSTOP: at once). */
  signal(signal: NodeJS.Signals): Promise<void>;
}

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'standin-server.mjs');

/** `pki`: the server's certificate folder; without it a fresh one (a new certificate), removed at exit. */
export function startStandin(port: number, options: { transfer?: boolean; pki?: string } = {}): Promise<Standin> {
  const pki = options.pki ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bw-opcua-standin-'));
  const child = spawn(process.execPath, [script, '--port', String(port), '--pki', pki, ...(options.transfer ? ['--transfer'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (!options.pki) child.once('exit', () => fs.rmSync(pki, { recursive: true, force: true }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`stand-in OPC UA server did not start\n${stderr}`)); }, 30_000);
    void exited.then(() => { clearTimeout(timer); reject(new Error(`stand-in OPC UA server exited before listening\n${stderr}`)); });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{"listening"')) return;
      clearTimeout(timer);
      resolve({
        process: child, port, endpoint: `opc.tcp://127.0.0.1:${port}`,
        certificate: (JSON.parse(line) as { certificate: string }).certificate,
        signal: async (signal) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill(signal);
          if (signal !== 'SIGSTOP' && signal !== 'SIGCONT' && signal !== 'SIGUSR1') await exited;
        },
      });
    });
  });
}

import { spawn } from 'node:child_process';
import { cliPath } from '../helpers/service.js';

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs the compiled `backworks` command, with `input` on its stdin. */
export function backworks(args: string[], input = ''): Promise<CliResult> {
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdin.end(input);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

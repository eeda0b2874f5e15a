import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { authFetch, repoRoot } from '../../helpers/service.js';

/** Libraries `npm run build` (deploy/build/native.mjs) produced. */
export const libs = {
  myPlugin: path.join(repoRoot, 'examples/seed/plugins/libmy_plugin.so'),
  helloC: path.join(repoRoot, 'examples/plugins/hello-c/target/libhello_c.so'),
  faultyC: path.join(repoRoot, 'test/fixtures/plugins/faulty-c/target/libfaulty_c.so'),
  faultyRust: path.join(repoRoot, 'target/release/libfaulty_rust.so'),
  abiMismatch: path.join(repoRoot, 'test/fixtures/plugins/abi-mismatch-c/target/libabi_mismatch_c.so'),
  contractC: path.join(repoRoot, 'test/fixtures/plugins/contract-c/target/libcontract_c.so'),
  contractRust: path.join(repoRoot, 'target/release/libcontract_rust.so'),
  contractV1C: path.join(repoRoot, 'test/fixtures/plugins/contract-v1-c/target/libcontract_v1_c.so'),
  notAPlugin: path.join(repoRoot, 'test/fixtures/plugins/not-a-plugin-c/target/libnot_a_plugin_c.so'),
  initHang: path.join(repoRoot, 'test/fixtures/plugins/init-hang-c/target/libinit_hang_c.so'),
};

export interface Answer { status: number; ms: number; body: string }

export async function get(url: string, init?: RequestInit): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await authFetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text(), ms: performance.now() - started };
  } catch (err) {
    return { status: 0, body: (err as Error).message, ms: performance.now() - started };
  }
}

/** Sends requests one after another until stopped; counts every answer that was not 200. */
export function steadyLoad(url: string): { stop(): Promise<{ sent: number; failed: Answer[] }> } {
  let running = true;
  let sent = 0;
  const failed: Answer[] = [];
  const loop = (async () => {
    while (running) {
      const answer = await get(url);
      sent++;
      if (answer.status !== 200) failed.push(answer);
    }
  })();
  return { stop: async () => { running = false; await loop; return { sent, failed }; } };
}

/** Direct children of a process. */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter(Boolean);
  } catch {
    return [];
  }
}

/** True once a process no longer runs (gone, or a zombie nobody reaped yet). */
export function isGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export function environOf(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
}

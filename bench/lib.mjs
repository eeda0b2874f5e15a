// Shared by the benchmarks: start the compiled service, run autocannon, summarise.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cliPath = path.join(repoRoot, 'dist/service/src/cli.js');

export function tempFile(name, text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backworks-bench-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/**
 * Servers run on CPU 0 and the load generator (this process) on CPU 1 when taskset exists, so
 * that the two do not take turns on one core and both servers of a comparison get the same room.
 */
const pinned = spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' }).status === 0;
const serverCommand = (args) => (pinned ? ['taskset', ['-c', '0', process.execPath, ...args]] : [process.execPath, args]);

/** Starts a node script (or `backworks run`) and resolves with its URL once it logs "listening". */
export function startProcess(args, { env = {}, readyMessage = 'gateway listening' } = {}) {
  const [command, argv] = serverCommand(args);
  const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === readyMessage) resolve({ child, url: entry.url, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) });
      } catch { /* not a log line */ }
    });
  });
}

export function startService(configFile, env) {
  return startProcess([cliPath, 'run', '-c', configFile, '--port', '0', '--host', '127.0.0.1'], { env });
}

/** CPU time (user + system) a process has used, in microseconds, from /proc. */
export function cpuMicros(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * (1e6 / 100); // USER_HZ is 100 on Linux
}

/** A process and its descendants (a service and, say, its plugin hosts), from /proc. */
export function processTree(pid) {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const task of fs.readdirSync(`/proc/${tree[i]}/task`)) {
      const children = fs.readFileSync(`/proc/${tree[i]}/task/${task}/children`, 'utf8').trim();
      if (children) tree.push(...children.split(' ').map(Number));
    }
  }
  return tree;
}

/** CPU time of a process and its descendants: the work a request costs wherever it runs. */
const treeCpuMicros = (pids) => pids.reduce((sum, p) => sum + cpuMicros(p), 0);

/** Requests per second of a GET at `url`, under `connections` concurrent keep-alive connections. */
export async function requestsPerSecond(url, { seconds = 5, connections = 32, method = 'GET', body } = {}) {
  return (await load(url, { seconds, connections, method, body })).rps;
}

/**
 * Drives `url` and reports requests/s and, when `pid` is given, the CPU time per request of that
 * server and its child processes.
 * CPU per request is the steadier figure on a shared box: it does not move when another process
 * takes the load generator's core.
 */
export async function load(url, { seconds = 5, connections = 32, method = 'GET', body, headers, pid } = {}) {
  // Children count too: an isolated plugin's host does part of each request's work.
  const pids = pid ? processTree(pid) : [];
  const before = treeCpuMicros(pids);
  const result = await autocannon({ url, connections, duration: seconds, method, body, headers });
  if (result.non2xx || result.errors) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const cpuPerRequest = pid ? (treeCpuMicros(pids) - before) / result.requests.total : undefined;
  return { rps: result.requests.average, cpuPerRequest };
}

/** A TCP port free on 127.0.0.1 right now, for a server a bench starts. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
export const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

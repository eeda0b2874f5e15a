#!/usr/bin/env node
// The appliance's footprint: RSS when idle and time from process start to READY=1, on the
// quickstart config and with one OPC-UA device (a node-opcua server this bench starts), each as a
// ratio against a baseline measured in the same run with the same Node: a bare node process holding
// a fastify server (RSS), and the time that bare process takes from start to listening.
//
// Runs the staged amd64 package when npm run package:deb left one in dist/deb/amd64: its
// /usr/bin/backworks launcher (runtime flags included), its Node 24 and addons; else the repository
// build on the Node running this script, as `npm start` runs it. READY=1 is received on a real notify socket.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { cliPath, freePort, median, repoRoot, tempFile } from '../lib.mjs';

const RUNS = 3;
const IDLE_MS = 5_000;
// The staged amd64 package (dist/deb/amd64, left by npm run package:deb): its node, its addons.
const staged = path.join(repoRoot, 'dist/deb/amd64/usr/lib/backworks');
// BW_FOOTPRINT_REPO=1 measures the repository build on this machine's Node instead.
const packaged = !process.env.BW_FOOTPRINT_REPO && fs.existsSync(path.join(staged, 'node/bin/node'));
const node = packaged ? path.join(staged, 'node/bin/node') : process.execPath;
/** The service's command line: the package's launcher, or node with the repository's CLI. */
const backworks = packaged ? [path.join(staged, '../../bin/backworks')] : [process.execPath, cliPath];
const receiverScript = path.join(repoRoot, 'test/systemd/fixtures/notify-receiver.py');

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


/** A notify socket: resolves `ready` with the wall-clock ms at which READY=1 arrived. */
async function notifySocket() {
  const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-notify-')), 'notify.sock');
  const child = spawn('/usr/bin/python3', [receiverScript, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  let onReady;
  const ready = new Promise((r) => { onReady = r; });
  await new Promise((resolve) => readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const entry = JSON.parse(line);
    if (entry.listening) resolve();
    else if (entry.fields.READY === '1') onReady(entry.t);
  }));
  return { socket, ready, close: () => child.kill('SIGKILL') };
}

/** Spawns, waits for the ready signal, idles, reads RSS, stops. */
async function measure([command, ...args], { env = {}, readyLine, notify = false }) {
  const receiver = notify ? await notifySocket() : undefined;
  const started = Date.now();
  const child = spawn(command, args, { env: { ...process.env, ...env, ...(receiver ? { NOTIFY_SOCKET: receiver.socket } : {}) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  let readyAt;
  if (receiver) readyAt = await receiver.ready;
  else readyAt = await new Promise((resolve) => readline.createInterface({ input: child.stdout }).on('line', (l) => { if (l.includes(readyLine)) resolve(Date.now()); }));
  if (receiver) child.stdout.resume();
  await sleep(IDLE_MS);
  const rss = rssMb(child.pid);
  child.kill('SIGTERM');
  await exited;
  receiver?.close();
  return { startMs: readyAt - started, rss };
}

/** One uncounted run first (it fills the OS page cache and the compile cache), then RUNS counted ones. */
async function series(label, args, options) {
  await measure(args, options);
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await measure(args, options));
  return { label, startMs: median(runs.map((r) => r.startMs)), rss: median(runs.map((r) => r.rss)) };
}

const quickstart = path.join(repoRoot, 'examples/quickstart/backworks.yaml');
const opcuaPort = await freePort();
const opcua = spawn(process.execPath, [path.join(repoRoot, 'bench/footprint/opcua-server.mjs'), String(opcuaPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => readline.createInterface({ input: opcua.stdout }).on('line', (l) => { if (l.includes('opcua listening')) resolve(); }));
const withOpcua = tempFile('backworks.yaml', `${fs.readFileSync(quickstart, 'utf8')
  .replace('plugins:\n', `plugins:
  line-plc:
    type: builtin
    pack: manufacturing/opcua
    config:
      servers:
        - name: bench-server
          endpoint: opc.tcp://127.0.0.1:${opcuaPort}
          points:
            - { name: server_time, node: "i=2258", sampling_interval: 1s }
            - { name: state, node: "i=2259", mode: poll }
`)}`);
// As under the unit (deploy/systemd/backworks.service), Node keeps compiled code in NODE_COMPILE_CACHE.
const compileCache = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-compile-cache-'));
const state = () => ({ STATE_DIRECTORY: fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-state-')), NODE_COMPILE_CACHE: compileCache });

try {
  const version = (await new Promise((r) => { const c = spawn(node, ['--version']); let o = ''; c.stdout.on('data', (d) => { o += d; }); c.on('exit', () => r(o.trim())); }));
  console.log(`node ${version} (${packaged ? 'the staged amd64 .deb: its runtime and addons' : 'this machine\'s, the repository build'}); median of ${RUNS} runs after a warm-up, compile cache as under the unit; RSS after ${IDLE_MS / 1000} s idle`);
  const bare = await series('bare node + fastify', [node, path.join(repoRoot, 'bench/http/bare-server.mjs')], { readyLine: 'bare listening' });
  const rows = [
    await series('quickstart', [...backworks, 'run', '-c', quickstart, '--port', '0', '--host', '127.0.0.1'], { notify: true, env: state() }),
    await series('quickstart + OPC-UA device', [...backworks, 'run', '-c', withOpcua, '--port', '0', '--host', '127.0.0.1'], { notify: true, env: state() }),
  ];
  const fmt = (n, unit) => `${n.toFixed(unit === 'MB' ? 1 : 0)} ${unit}`;
  console.log(`baseline (bare node + fastify): RSS ${fmt(bare.rss, 'MB')}, start to listening ${fmt(bare.startMs, 'ms')}`);
  for (const row of rows) {
    console.log(`${row.label.padEnd(28)} RSS ${fmt(row.rss, 'MB').padStart(9)} (${(row.rss / bare.rss).toFixed(2)}x baseline; goal <= 70 MB)   start to READY=1 ${fmt(row.startMs, 'ms').padStart(7)} (${(row.startMs / bare.startMs).toFixed(2)}x baseline; goal <= 1000 ms)`);
  }
} finally {
  opcua.kill('SIGTERM');
}

#!/usr/bin/env node
// Native plugin figures, each beside a baseline measured in the same run (npm run build first):
//  1. call round trip p50/p99: a TypeScript plugin, the seed's Rust plugin in-process (koffi) and
//     isolated (its own plugin host, frames over a socket);
//  2. HTTP requests/s of /my-feature served by that plugin in both modes, as a ratio of a bare
//     fastify route. Goals: isolated p50 <= 30 us; in-process >= 0.85 of bare; isolated >= 0.5.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pino from 'pino';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const lib = path.join(root, 'examples/seed/plugins/libmy_plugin.so');
const { openNativePlugin } = await import(path.join(root, 'dist/service/src/plugins/native/index.js'));
const CALLS = Number(process.env.BENCH_CALLS ?? 20000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

const log = pino({ level: 'warn' });
const host = { pluginName: 'bench', stateDir: os.tmpdir(), log() {}, emit() {}, emitDurable: async () => ({ id: 0 }), getState: async () => undefined, setState: async () => {} };
const options = (isolation) => ({ path: lib, isolation, timeoutMs: 2000, limits: {}, restart: { backoffMs: 200, maxBackoffMs: 30000, maxCrashes: 5, windowMs: 60000 } });

async function roundTrip(label, call) {
  for (let i = 0; i < 2000; i++) await call(); // warm up
  const samples = new Float64Array(CALLS);
  for (let i = 0; i < CALLS; i++) {
    const t = process.hrtime.bigint();
    await call();
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  samples.sort();
  return { label, p50: samples[Math.floor(CALLS * 0.5)], p99: samples[Math.floor(CALLS * 0.99)] };
}

const tsPlugin = { async processEndpointData(endpoint) { return endpoint === '/my-feature' ? JSON.stringify({ message: 'Hello from my plugin!' }) : null; } };
const inprocess = await openNativePlugin('bench-inprocess', options('none'), { log, stateDir: os.tmpdir() });
await inprocess.initialize({}, host);
const isolated = await openNativePlugin('bench-isolated', options('process'), { log, stateDir: os.tmpdir() });
await isolated.initialize({}, host);

const trips = [
  await roundTrip('TypeScript plugin', () => tsPlugin.processEndpointData('/my-feature', 'GET', '')),
  await roundTrip('native, isolation: none', () => inprocess.processEndpointData('/my-feature', 'GET', '')),
  await roundTrip('native, isolation: process', () => isolated.processEndpointData('/my-feature', 'GET', '')),
];
await isolated.shutdown();
await inprocess.shutdown();

console.log(`\ncall round trip (${CALLS} sequential calls each)`);
for (const t of trips) console.log(`  ${t.label.padEnd(28)} p50 ${t.p50.toFixed(1).padStart(6)} us   p99 ${t.p99.toFixed(1).padStart(7)} us   p50 vs TS x${(t.p50 / trips[0].p50).toFixed(1)}`);
console.log(`  goal: isolated p50 <= 30 us: ${trips[2].p50 <= 30 ? 'met' : 'NOT met'}`);

function start(args) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      try { const e = JSON.parse(line); if (e.msg === 'gateway listening') resolve({ child, url: e.url }); } catch { /* not JSON */ }
    });
  });
}

async function serve(isolation) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-'));
  const file = path.join(dir, 'backworks.yaml');
  fs.writeFileSync(file, `plugins:\n  my-plugin: { type: external, path: ${lib}, isolation: ${isolation} }\nendpoints:\n  my-feature: { path: /my-feature, plugin: my-plugin, methods: [GET, POST] }\n`);
  return start(['dist/service/src/cli.js', 'run', '-c', file, '--port', '0', '--host', '127.0.0.1']);
}

async function rps(label, server) {
  const url = `${server.url}/my-feature`;
  await autocannon({ url, connections: 10, duration: 1 }); // warm up
  const result = await autocannon({ url, connections: 10, duration: SECONDS });
  server.child.kill('SIGTERM');
  if (result.non2xx || result.errors) throw new Error(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { label, rps: result.requests.average };
}

const http = [];
http.push(await rps('bare fastify route', await start(['bench/native/bare.mjs'])));
http.push(await rps('native, isolation: none', await serve('none')));
http.push(await rps('native, isolation: process', await serve('process')));
console.log(`\nHTTP GET /my-feature, 10 connections, ${SECONDS}s each`);
for (const h of http) console.log(`  ${h.label.padEnd(28)} ${Math.round(h.rps).toString().padStart(7)} req/s   ratio ${(h.rps / http[0].rps).toFixed(2)}`);
console.log(`  goals: in-process >= 0.85: ${http[1].rps / http[0].rps >= 0.85 ? 'met' : 'NOT met'}; isolated >= 0.5: ${http[2].rps / http[0].rps >= 0.5 ? 'met' : 'NOT met'}`);
process.exit(0);

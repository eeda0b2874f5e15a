#!/usr/bin/env node
// Native plugin figures, each beside a baseline measured in the same run (npm run build first):
//  1. call round trip p50/p99: a TypeScript plugin, examples/plugins/my-plugin in-process (koffi) and
//     isolated (its own plugin host, frames over a socket), and a bare C echo over the same kind
//     of socket (the floor of any isolated call on this machine);
//  2. HTTP requests/s of /my-feature served by that plugin in both modes, as a ratio of a bare
//     fastify route. Goals: isolated p50 <= 30 us; in-process >= 0.85 of bare; isolated >= 0.5.
// Rounds alternate between the contenders so that machine noise hits all of them; medians are
// reported with the range. bench/lib.mjs pins servers (and their plugin hosts) to CPU 0 and this
// process, the load generator, to CPU 1; round trips run here, so a host shares CPU 1 with us.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { fmt, load, median, repoRoot, startProcess, startService, tempFile } from '../lib.mjs';

const lib = path.join(repoRoot, 'examples/seed/plugins/libmy_plugin.so');
const { openNativePlugin } = await import(path.join(repoRoot, 'dist/service/src/plugins/native/index.js'));
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const calls = Number(process.env.BENCH_CALLS ?? 5000);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

// ---------- 1. call round trip ----------

async function roundTrip(call) {
  const samples = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint();
    await call();
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  samples.sort();
  return { p50: samples[Math.floor(calls * 0.5)], p99: samples[Math.floor(calls * 0.99)] };
}

/** The floor: echo.c answers each frame-sized write over a socket pair, nothing else. */
function startEcho() {
  const binary = path.join(os.tmpdir(), `bw-bench-echo-${process.pid}`);
  execFileSync('gcc', ['-O2', path.join(import.meta.dirname, 'echo.c'), '-o', binary]);
  const child = spawn(binary, [], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
  const channel = child.stdio[3];
  let waiting = null;
  channel.on('data', () => { const w = waiting; waiting = null; w?.(); });
  const request = Buffer.alloc(40, 1); // the size of an ENDPOINT frame for GET /my-feature
  return {
    call: () => new Promise((resolve) => { waiting = resolve; channel.write(request); }),
    stop: () => { child.kill('SIGKILL'); fs.rmSync(binary, { force: true }); },
  };
}

const log = pino({ level: 'warn' });
const host = { pluginName: 'bench', stateDir: os.tmpdir(), log() {}, emit() {}, getState: async () => undefined, commit: async () => [] };
const options = (isolation) => ({ path: lib, isolation, timeoutMs: 2000, limits: {}, restart: { backoffMs: 200, maxBackoffMs: 30000, maxCrashes: 5, windowMs: 60000 } });
const tsPlugin = { async processEndpointData(endpoint) { return endpoint === '/my-feature' ? JSON.stringify({ message: 'Hello from my plugin!' }) : null; } };
const inprocess = await openNativePlugin('bench-inprocess', options('none'), { log, stateDir: os.tmpdir() });
await inprocess.initialize({}, host);
const isolated = await openNativePlugin('bench-isolated', options('process'), { log, stateDir: os.tmpdir() });
await isolated.initialize({}, host);
const echo = startEcho();

const contenders = [
  ['TypeScript plugin', () => tsPlugin.processEndpointData('/my-feature', 'GET', '')],
  ['native, isolation: none', () => inprocess.processEndpointData('/my-feature', 'GET', '')],
  ['bare C echo (the floor)', echo.call],
  ['native, isolation: process', () => isolated.processEndpointData('/my-feature', 'GET', '')],
];
const trips = contenders.map(() => []);
for (const [, call] of contenders) { for (let i = 0; i < 2000; i++) await call(); } // warm up
for (let r = 0; r < rounds; r++) {
  for (const [i, [, call]] of contenders.entries()) trips[i].push(await roundTrip(call));
}
echo.stop();
await isolated.shutdown();
await inprocess.shutdown();

const range = (values, digits = 1) => `${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}`;
console.log(`\ncall round trip: median of ${rounds} rounds x ${calls} sequential calls (range of the rounds' p50)`);
const tripP50 = trips.map((t) => median(t.map((x) => x.p50)));
for (const [i, [label]] of contenders.entries()) {
  const p50s = trips[i].map((x) => x.p50);
  const p99 = median(trips[i].map((x) => x.p99));
  console.log(`  ${label.padEnd(28)} p50 ${fmt(tripP50[i], 1).padStart(6)} us (${range(p50s)})   p99 ${fmt(p99, 1).padStart(6)} us`);
}
const isolatedP50 = tripP50[3];
console.log(`  isolated above the echo floor: ${fmt(isolatedP50 - tripP50[2], 1)} us`);
console.log(`  goal: isolated p50 <= 30 us: ${isolatedP50 <= 30 ? 'met' : 'NOT met'}`);

// ---------- 2. HTTP ----------

function serviceConfig(isolation) {
  return tempFile('backworks.yaml', `plugins:\n  my-plugin: { type: external, path: ${lib}, isolation: ${isolation} }\nendpoints:\n  my-feature: { path: /my-feature, plugin: my-plugin, methods: [GET, POST], auth: none }\n`);
}

const servers = [
  ['bare fastify route', await startProcess([path.join(import.meta.dirname, 'bare.mjs')])],
  ['native, isolation: none', await startService(serviceConfig('none'))],
  ['native, isolation: process', await startService(serviceConfig('process'))],
];
const http = servers.map(() => []);
try {
  for (const [, server] of servers) await load(`${server.url}/my-feature`, { seconds: 1 }); // warm up
  for (let r = 0; r < rounds; r++) {
    for (const [i, [, server]] of servers.entries()) http[i].push(await load(`${server.url}/my-feature`, { seconds, pid: server.child.pid }));
  }
} finally {
  for (const [, server] of servers) await server.stop();
}

console.log(`\nHTTP GET /my-feature, 32 connections: median of ${rounds} rounds x ${seconds}s (servers on CPU 0, load on CPU 1)`);
const rps = http.map((runs) => median(runs.map((x) => x.rps)));
const cpu = http.map((runs) => median(runs.map((x) => x.cpuPerRequest)));
for (const [i, [label]] of servers.entries()) {
  // Ratios per round (same round, same machine state), then their median.
  const ratios = http[i].map((x, r) => x.rps / http[0][r].rps);
  console.log(`  ${label.padEnd(28)} ${fmt(rps[i]).padStart(7)} req/s (${range(http[i].map((x) => x.rps), 0)})   ratio ${fmt(median(ratios), 2)} (${range(ratios, 2)})   ${fmt(cpu[i], 1)} us CPU/request, ratio ${fmt(cpu[0] / cpu[i], 2)}`);
}
const ratio = (i) => median(http[i].map((x, r) => x.rps / http[0][r].rps));
console.log(`  goals: in-process >= 0.85: ${ratio(1) >= 0.85 ? 'met' : 'NOT met'}; isolated >= 0.5: ${ratio(2) >= 0.5 ? 'met' : 'NOT met'}`);
process.exit(0);

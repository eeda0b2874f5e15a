#!/usr/bin/env node
// Requests/s of a configured TypeScript plugin endpoint (GET /ingest of the http-ingest pack,
// through the plugin manager: deadline, breaker, metrics) as a ratio of a bare fastify route.
// Both servers run as separate processes; rounds alternate so that machine noise hits both.
import path from 'node:path';
import { fmt, load, median, startProcess, startService, tempFile } from '../lib.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

const config = tempFile('backworks.yaml', `
logging: { level: info }
plugins:
  ingest: { type: builtin, pack: general/http-ingest }
endpoints:
  ingest: { path: /ingest, methods: [GET, POST], plugin: ingest }
`);
const bare = await startProcess([path.join(import.meta.dirname, 'bare-server.mjs')], { readyMessage: 'bare listening' });
const gateway = await startService(config);

const bareRuns = [];
const gatewayRuns = [];
try {
  await load(`${bare.url}/ingest`, { seconds: 1 }); // warm-up
  await load(`${gateway.url}/ingest`, { seconds: 1 });
  for (let i = 0; i < rounds; i++) {
    bareRuns.push(await load(`${bare.url}/ingest`, { seconds, pid: bare.child.pid }));
    gatewayRuns.push(await load(`${gateway.url}/ingest`, { seconds, pid: gateway.child.pid }));
  }
} finally {
  await bare.stop();
  await gateway.stop();
}
const b = median(bareRuns.map((r) => r.rps));
const g = median(gatewayRuns.map((r) => r.rps));
const bc = median(bareRuns.map((r) => r.cpuPerRequest));
const gc = median(gatewayRuns.map((r) => r.cpuPerRequest));
console.log(`bare fastify route         ${fmt(b)} req/s, ${fmt(bc, 1)} us CPU per request (median of ${rounds} x ${seconds}s)`);
console.log(`TS plugin endpoint         ${fmt(g)} req/s, ${fmt(gc, 1)} us CPU per request`);
console.log(`ratio plugin / bare        ${fmt(g / b, 2)} req/s; ${fmt(bc / gc, 2)} requests per CPU-second  (goal >= 0.90)`);

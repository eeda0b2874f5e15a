#!/usr/bin/env node
// Requests/s of a configured TypeScript plugin endpoint (GET /ingest of the http-ingest pack,
// through the plugin manager: deadline, breaker, metrics) as a ratio of a bare fastify route.
// Both servers run as separate processes; rounds alternate so that machine noise hits both.
import path from 'node:path';
import { fmt, median, requestsPerSecond, startProcess, startService, tempFile } from '../lib.mjs';

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

const bareRps = [];
const gatewayRps = [];
try {
  await requestsPerSecond(`${bare.url}/ingest`, { seconds: 1 }); // warm-up
  await requestsPerSecond(`${gateway.url}/ingest`, { seconds: 1 });
  for (let i = 0; i < rounds; i++) {
    bareRps.push(await requestsPerSecond(`${bare.url}/ingest`, { seconds }));
    gatewayRps.push(await requestsPerSecond(`${gateway.url}/ingest`, { seconds }));
  }
} finally {
  await bare.stop();
  await gateway.stop();
}
const b = median(bareRps);
const g = median(gatewayRps);
console.log(`bare fastify route         ${fmt(b)} req/s (median of ${rounds} x ${seconds}s)`);
console.log(`TS plugin endpoint         ${fmt(g)} req/s`);
console.log(`ratio plugin / bare        ${fmt(g / b, 2)}  (goal >= 0.90)`);

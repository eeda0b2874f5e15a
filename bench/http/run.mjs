#!/usr/bin/env node
// Requests/s of a configured TypeScript plugin endpoint (GET /ingest of the http-ingest pack,
// through the plugin manager: deadline, breaker, metrics) as a ratio of a bare fastify route:
// once open (auth: none, the plugin path alone) and once behind a bearer token (the guard: token
// hash and lookup, role check), which is how a partner calls it.
// The servers run as separate processes; rounds alternate so that machine noise hits all of them.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { cliPath, fmt, load, median, startProcess, startService, tempFile } from '../lib.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

const config = tempFile('backworks.yaml', `
logging: { level: info }
plugins:
  ingest: { type: builtin, pack: general/http-ingest }
endpoints:
  open: { path: /ingest, methods: [GET, POST], plugin: ingest, auth: none }
  partner: { path: /partner/ingest, methods: [GET, POST], plugin: ingest }
`);
const token = execFileSync(process.execPath, [cliPath, 'token', 'create', '--role', 'viewer', '--name', 'bench', '-c', config], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
const headers = { authorization: `Bearer ${token}` };
const bare = await startProcess([path.join(import.meta.dirname, 'bare-server.mjs')], { readyMessage: 'bare listening' });
const gateway = await startService(config);

const runs = { bare: [], open: [], bearer: [] };
const targets = {
  bare: () => load(`${bare.url}/ingest`, { seconds, pid: bare.child.pid }),
  open: () => load(`${gateway.url}/ingest`, { seconds, pid: gateway.child.pid }),
  bearer: () => load(`${gateway.url}/partner/ingest`, { seconds, headers, pid: gateway.child.pid }),
};
try {
  await load(`${bare.url}/ingest`, { seconds: 1 }); // warm-up
  await load(`${gateway.url}/ingest`, { seconds: 1 });
  await load(`${gateway.url}/partner/ingest`, { seconds: 1, headers });
  for (let i = 0; i < rounds; i++) for (const [name, run] of Object.entries(targets)) runs[name].push(await run());
} finally {
  await bare.stop();
  await gateway.stop();
}
const rps = (name) => median(runs[name].map((r) => r.rps));
const cpu = (name) => median(runs[name].map((r) => r.cpuPerRequest));
console.log(`bare fastify route         ${fmt(rps('bare'))} req/s, ${fmt(cpu('bare'), 1)} us CPU per request (median of ${rounds} x ${seconds}s)`);
console.log(`TS plugin endpoint, open   ${fmt(rps('open'))} req/s, ${fmt(cpu('open'), 1)} us CPU per request`);
console.log(`... behind a bearer token  ${fmt(rps('bearer'))} req/s, ${fmt(cpu('bearer'), 1)} us CPU per request`);
console.log(`ratio plugin / bare        ${fmt(rps('open') / rps('bare'), 2)} req/s; ${fmt(cpu('bare') / cpu('open'), 2)} requests per CPU-second  (goal >= 0.90)`);
console.log(`ratio bearer / bare        ${fmt(rps('bearer') / rps('bare'), 2)} req/s; ${fmt(cpu('bare') / cpu('bearer'), 2)} requests per CPU-second  (goal >= 0.85)`);
console.log(`ratio bearer / open        ${fmt(rps('bearer') / rps('open'), 2)} req/s (what the guard costs)`);

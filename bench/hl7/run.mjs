#!/usr/bin/env node
// bench/hl7: MLLP messages/s and ACK latency with commit-then-ACK, as a ratio of the same run with
// unsafe_ack_before_commit (the ACK leaves before the commit), and parse throughput in MB/s as a
// ratio of hl7-standard (a pure-JS parser from npm) on the same messages.
//   node bench/hl7/run.mjs            (after npm run build)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { repoRoot, cliPath, cpuMicros, freePort, startProcess, tempFile } from '../lib.mjs';

const require = createRequire(import.meta.url);
const HL7 = require('hl7-standard');
const library = path.join(repoRoot, 'target/release/libhl7_plugin.so');
const fixtures = path.join(repoRoot, 'test/fixtures/hl7');
const files = fs.readdirSync(fixtures).filter((f) => f.endsWith('.hl7')).map((f) => path.join(fixtures, f));
const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);


/** One sender: a message, wait for its ACK, the next (as MLLP senders do). Unique MSH-10s. */
async function sender(port, id, until, latencies) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r, j) => { socket.once('connect', r); socket.once('error', j); });
  socket.setNoDelay(true);
  let buffer = Buffer.alloc(0);
  let wake;
  socket.on('data', (d) => { buffer = Buffer.concat([buffer, d]); wake?.(); });
  let n = 0, bad = 0;
  while (Date.now() < until) {
    const text = texts[n % texts.length].replace(/^(MSH(?:\|[^|\r]*){8}\|)[^|\r]*/, `$1B${id}-${n}`);
    const started = process.hrtime.bigint();
    socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(text), Buffer.from([0x1c, 0x0d])]));
    for (;;) {
      const end = buffer.indexOf(0x1c);
      if (end >= 0 && buffer.length > end + 1) {
        const ack = buffer.subarray(0, end).toString();
        buffer = buffer.subarray(end + 2);
        if (!/MSA\|(AA|CA)\|/.test(ack)) bad++;
        break;
      }
      await new Promise((r) => { wake = r; });
    }
    latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    n++;
  }
  socket.destroy();
  return { n, bad };
}

async function mllpRun(unsafe) {
  const port = await freePort();
  const config = tempFile('backworks.yaml', `
state_dir: ./state
plugins:
  hl7-fhir:
    type: external
    path: ${library}
    limits: {concurrency: 8}
    config:
      mllp: {listen: "127.0.0.1:${port}", max_connections: 1024}
      unsafe_ack_before_commit: ${unsafe}
`);
  const service = await startProcess([cliPath, 'run', '-c', config, '--port', '0', '--host', '127.0.0.1']);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const latencies = [];
    const until = Date.now() + SECONDS * 1000;
    const started = Date.now();
    const pids = { service: service.child.pid, host: pluginHostPid(service.child.pid), load: null };
    const before = cpuOf(pids);
    const results = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => sender(port, i, until, latencies)));
    const secs = (Date.now() - started) / 1000;
    const total = results.reduce((a, r) => a + r.n, 0);
    const after = cpuOf(pids);
    const cpu = Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] - before[k]) / total]));
    latencies.sort((a, b) => a - b);
    return { perSecond: total / secs, cpu, p50: latencies[Math.floor(latencies.length * 0.5)], p99: latencies[Math.floor(latencies.length * 0.99)], bad: results.reduce((a, r) => a + r.bad, 0) };
  } finally {
    await service.stop();
  }
}

/** The plugin host is the service's child process (taskset runs the service itself under its pid). */
function pluginHostPid(servicePid) {
  const children = (pid) => fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return children(servicePid).find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bw-plugin-host'));
}

/** CPU time (us) used so far by the service, its plugin host and this load generator. */
function cpuOf(pids) {
  const own = process.cpuUsage();
  return { service: cpuMicros(pids.service), host: pids.host ? cpuMicros(pids.host) : 0, load: own.user + own.system };
}

function jsParse() {
  const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
  const started = process.hrtime.bigint();
  let rounds = 0;
  while (Number(process.hrtime.bigint() - started) / 1e9 < 2) {
    for (const t of texts) new HL7(t).transform();
    rounds++;
  }
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  return (rounds * bytes) / 1e6 / secs;
}

const safe = await mllpRun(false);
const fast = await mllpRun(true);
execFileSync('cargo', ['build', '--release', '--quiet', '--example', 'parse_throughput', '--manifest-path',
  path.join(repoRoot, 'packs/healthcare/hl7/Cargo.toml'), '--target-dir', path.join(repoRoot, 'target')], { stdio: 'inherit' });
const rust = JSON.parse(execFileSync(path.join(repoRoot, 'target/release/examples/parse_throughput'), files, { encoding: 'utf8' }));
const js = jsParse();

const f = (n, d = 0) => n.toFixed(d);
console.log(`hl7 MLLP, ${CONNECTIONS} connections, ${SECONDS}s each, ${texts.length} fixtures (ADT/ORU 2.3-2.8):`);
console.log(`  commit-then-ACK        ${f(safe.perSecond)} msg/s   p50 ${f(safe.p50, 2)} ms   p99 ${f(safe.p99, 2)} ms   (goal >= 5000 msg/s, p99 <= 20 ms)${safe.bad ? `   ${safe.bad} non-AA` : ''}`);
console.log(`  ACK before commit      ${f(fast.perSecond)} msg/s   p50 ${f(fast.p50, 2)} ms   p99 ${f(fast.p99, 2)} ms   (UNSAFE baseline)`);
const cpu = (r) => `CPU per message: service ${f(r.cpu.service)} us, plugin host ${f(r.cpu.host)} us, load generator ${f(r.cpu.load)} us`;
console.log(`    commit-then-ACK      ${cpu(safe)}`);
console.log(`    ACK before commit    ${cpu(fast)}`);
console.log(`  ratio commit/unsafe    ${f(safe.perSecond / fast.perSecond, 2)}   (goal >= 0.5)`);
console.log(`hl7 parse: plugin ${f(rust.mb_per_s, 1)} MB/s, hl7-standard (JS) ${f(js, 1)} MB/s, ratio ${f(rust.mb_per_s / js, 1)}x`);

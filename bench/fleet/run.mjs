#!/usr/bin/env node
// bench/fleet: N simulated gateways (lightweight fleet links, a few processes, real MQTT
// connections) against a real Mosquitto, with `backworks fleet status --watch --json` watching.
// For each N (NS=50,200,500) it prints the messages/s through the broker, the broker's CPU (% of
// one core), the time until the console lists all N online, and the console's memory (RSS).
// Needs Debian's mosquitto and the compiled CLI (npm run build).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { cliPath, cpuMicros, freePort } from '../lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const NS = (process.env.NS ?? '50,200,500').split(',').map(Number);
const PROCESSES = Number(process.env.PROCESSES ?? 4);
const SECONDS = Number(process.env.SECONDS ?? 20);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backworks-bench-fleet-'));
const port = await freePort();
fs.writeFileSync(path.join(dir, 'mosquitto.conf'), [
  ...(process.getuid?.() === 0 ? ['user root'] : []),
  `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_connections -1',
  'sys_interval 1', 'log_dest stderr', 'log_type error', '',
].join('\n'));
const broker = spawn('/usr/sbin/mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
const url = `mqtt://127.0.0.1:${port}`;
await new Promise((r) => setTimeout(r, 500));

// $SYS counters of the broker, read before and after each measurement.
const sys = {};
const sysClient = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
sysClient.on('message', (topic, payload) => { sys[topic] = Number(payload.toString()); });
await sysClient.subscribeAsync(['$SYS/broker/messages/received', '$SYS/broker/messages/sent'], { qos: 0 });

const results = [];
for (const n of NS) {
  const site = `bench${n}`;
  const console_ = spawn(process.execPath, [cliPath, 'fleet', 'status', '--watch', '--json', '--url', url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let allSeenMs = null;
  let started = Infinity;
  readline.createInterface({ input: console_.stdout }).on('line', (line) => {
    if (allSeenMs !== null) return;
    const online = JSON.parse(line).gateways.filter((g) => g.site === site && g.state === 'online').length;
    if (online === n) allSeenMs = Date.now() - started;
    // (times are from the start of the link processes, node's own start-up included)
  });
  await new Promise((r) => setTimeout(r, 1000));
  started = Date.now();

  const per = Math.ceil(n / PROCESSES);
  const workers = [];
  for (let from = 0; from < n; from += per) {
    const w = spawn(process.execPath, [path.join(here, 'links.mjs')], { env: { ...process.env, URL: url, SITE: site, FROM: String(from), COUNT: String(Math.min(per, n - from)) }, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: w.stdout });
    w.next = (prefix) => new Promise((resolve) => { const on = (l) => { if (l.startsWith(prefix)) { lines.off('line', on); resolve(l.slice(prefix.length)); } }; lines.on('line', on); });
    workers.push(w);
  }
  await Promise.all(workers.map((w) => w.next('ready')));
  const connectedMs = Date.now() - started;
  while (allSeenMs === null && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 100));

  // Steady state: SECONDS of health and data from every link.
  await new Promise((r) => setTimeout(r, 2000));
  const in0 = sys['$SYS/broker/messages/received'], out0 = sys['$SYS/broker/messages/sent'];
  const cpu0 = cpuMicros(broker.pid), t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const seconds = (performance.now() - t0) / 1000;
  const brokerCpu = (cpuMicros(broker.pid) - cpu0) / 1e4 / seconds;
  const inRate = (sys['$SYS/broker/messages/received'] - in0) / seconds;
  const outRate = (sys['$SYS/broker/messages/sent'] - out0) / seconds;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${console_.pid}/status`, 'utf8'))[1]) * 1024;

  for (const w of workers) w.stdin.write('stop\n');
  await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
  console_.kill('SIGINT');
  await new Promise((r) => console_.once('exit', r));
  results.push({ n, connectedMs, allSeenMs, inRate, outRate, brokerCpu, rss });
  console.log(`N=${n}: all connected in ${connectedMs} ms; console lists all ${n} online after ${allSeenMs ?? 'never (60 s)'} ms; broker in ${inRate.toFixed(0)} msg/s, out ${outRate.toFixed(0)} msg/s, CPU ${brokerCpu.toFixed(1)}% of a core; console RSS ${(rss / 1e6).toFixed(1)} MB`);
}

console.log('\n| N | connected (ms) | console shows all (ms) | broker in msg/s | broker out msg/s | broker CPU % | console RSS MB |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.n} | ${r.connectedMs} | ${r.allSeenMs ?? '—'} | ${r.inRate.toFixed(0)} | ${r.outRate.toFixed(0)} | ${r.brokerCpu.toFixed(1)} | ${(r.rss / 1e6).toFixed(1)} |`);
await sysClient.endAsync();
broker.kill('SIGTERM');
fs.rmSync(dir, { recursive: true, force: true });

#!/usr/bin/env node
// FIX figures (npm run build first): NewOrderSingle echo round trips per second through one
// session of libfix_plugin.so in the real service (isolated plugin host), with sequence numbers,
// sent messages and the received orders committed to SQLite before each answer (persist: true),
// beside the same run's figure without persistence (persist: false) as the baseline.
// The client keeps WINDOW orders in flight; latency is send -> echo received. Goal: >= 20,000/s.
import net from 'node:net';
import path from 'node:path';
import { fmt, repoRoot, startService, tempFile } from '../lib.mjs';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5_000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 256);
const SOH = '\x01';
const library = path.join(repoRoot, 'packs/finance/fix/plugins/libfix_plugin.so');

function checksum(buf) {
  let sum = 0;
  for (const b of buf) sum += b;
  return String(sum % 256).padStart(3, '0');
}

function encode(fields) {
  const body = fields.join(SOH) + SOH;
  const head = `8=FIX.4.4${SOH}9=${Buffer.byteLength(body)}${SOH}`;
  const buf = Buffer.from(head + body);
  return Buffer.concat([buf, Buffer.from(`10=${checksum(buf)}${SOH}`)]);
}

const utc = () => new Date().toISOString().replace(/-/g, '').replace('T', '-').slice(0, 21);

async function gateway(persist) {
  const config = tempFile('backworks.yaml', [
    'state_dir: ./state',
    'plugins:',
    '  fix-protocol:',
    '    type: external',
    `    path: ${JSON.stringify(library)}`,
    `    config: ${JSON.stringify({ session_id: 'ISLD', target_comp_id: 'TW44', port: 0, reset_on_logon: true, application: 'echo', persist, fleet_readings: false })}`,
    'endpoints:',
    '  fix-session: { path: "/fix/:session", methods: [GET], plugin: fix-protocol, auth: none }',
    '',
  ].join('\n'));
  const service = await startService(config, { BACKWORKS_LOG_LEVEL: 'warn' });
  const port = (await (await fetch(`${service.url}/fix/ISLD`)).json()).port;
  return { service, port };
}

/** Logs on, then echoes `total` orders with `window` in flight; resolves with the timings. */
function run(port, total, window, seqStart = 2) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    const sentAt = new Float64Array(total);
    const latencies = new Float64Array(total);
    let sent = 0;
    let echoed = 0;
    let loggedOn = false;
    let pending = Buffer.alloc(0);
    let seq = seqStart;
    let started = 0;
    const sendMore = () => {
      const chunk = [];
      while (sent < total && sent - echoed < window) {
        const now = utc();
        chunk.push(encode([`35=D`, `34=${seq++}`, '49=TW44', `52=${now}`, '56=ISLD', `11=O${sent}`, '21=1', '38=100', '40=1', '54=1', '55=INTC', `60=${now.slice(0, 17)}`]));
        sentAt[sent++] = performance.now();
      }
      if (chunk.length) socket.write(Buffer.concat(chunk));
    };
    socket.on('error', reject);
    // A session the gateway ended (a host restart, a refused commit) must fail the run, not hang it.
    socket.on('close', () => { if (echoed < total) reject(new Error(`the gateway closed the session after ${echoed} of ${total} echoes`)); });
    socket.on('connect', () => socket.write(encode(['35=A', '34=1', '49=TW44', `52=${utc()}`, '56=ISLD', '98=0', '108=30'])));
    socket.on('data', (data) => {
      pending = pending.length ? Buffer.concat([pending, data]) : data;
      let at = 0;
      for (;;) {
        const end = pending.indexOf('\x0110=', at);
        if (end < 0 || pending.length < end + 8) break;
        const type = pending.toString('latin1', pending.indexOf('\x0135=', at) + 4, pending.indexOf('\x0135=', at) + 5);
        at = end + 8;
        if (type === 'A') { loggedOn = true; started = performance.now(); sendMore(); continue; }
        if (type !== 'D') continue;
        latencies[echoed] = performance.now() - sentAt[echoed];
        echoed++;
      }
      pending = pending.subarray(at);
      if (!loggedOn) return;
      if (echoed === total) {
        const seconds = (performance.now() - started) / 1000;
        socket.end(encode(['35=5', `34=${seq}`, '49=TW44', `52=${utc()}`, '56=ISLD']));
        latencies.sort();
        resolve({ perSecond: total / seconds, p50: latencies[Math.floor(total * 0.5)], p99: latencies[Math.floor(total * 0.99)] });
      } else {
        sendMore();
      }
    });
  });
}

async function measure(persist) {
  const { service, port } = await gateway(persist);
  try {
    await run(port, WARMUP, WINDOW);
    await new Promise((r) => setTimeout(r, 300)); // the warm-up session's logout settles
    return await run(port, MESSAGES, WINDOW);
  } finally {
    await service.stop();
  }
}

const durable = await measure(true);
const memory = await measure(false);
console.log(`\nFIX NewOrderSingle echo through one session (${fmt(MESSAGES)} orders, ${WINDOW} in flight)`);
const line = (label, r) => console.log(`  ${label.padEnd(34)} ${fmt(r.perSecond).padStart(8)} /s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms`);
line('durable (persist: true)', durable);
line('baseline, in memory (persist: false)', memory);
console.log(`  durable / baseline                 x${(durable.perSecond / memory.perSecond).toFixed(2)} throughput, p99 x${(durable.p99 / memory.p99).toFixed(1)}`);
console.log(`  goal: durable >= 20,000/s: ${durable.perSecond >= 20_000 ? 'met' : 'NOT met'}`);

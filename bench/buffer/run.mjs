#!/usr/bin/env node
// Two figures of the store-and-forward buffer, each as a ratio of a raw baseline in the same run:
//  1. ingest: readings/s through the service's group-commit writer (DataBuffer.emit, 100 readings
//     per call as a connector would) vs a raw better-sqlite3 loop inserting the same rows into the
//     same schema, 1,000 per transaction.
//  2. drain: readings/s of a 1,000,000-reading backlog sent to Mosquitto by the fleet link (read
//     and encoded by SQLite, QoS 1, cursor moved on PUBACK) vs raw `mqtt` publishes of the same
//     messages, encoded beforehand, with the same in-flight window.
// Needs `npm run build` (npm run bench does it) and /usr/sbin/mosquitto.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { fmt, freePort, median, repoRoot } from '../lib.mjs';

const dist = (p) => import(path.join(repoRoot, 'dist/service/src', p));
const { DataBuffer } = await dist('buffer/buffer.js');
const { MIGRATIONS } = await dist('buffer/migrations.js');
const { FleetLink } = await dist('uplink/fleet-link.js');
const { createLogger } = await dist('log.js');

const INGEST = Number(process.env.BENCH_INGEST ?? 1_000_000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 16);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-buffer-'));
const quiet = createLogger('error', new Writable({ write(_c, _e, cb) { cb(); } }));

function makeReadings(n) {
  const ts = Date.now();
  return Array.from({ length: n }, (_, i) => ({ device: `dev${i % 10}`, point: `p${(i >> 4) % 10}`, value: i * 0.5, quality: 'good', ts: ts + i }));
}

// ---- 1. ingest ----------------------------------------------------------------------------------

async function ingestThroughWriter(readings, file) {
  const buffer = new DataBuffer({ file, maxBytes: 64 * 1024 ** 3, maxAgeMs: 365 * 86_400_000, durability: 'normal', flushRows: BATCH, flushIntervalMs: 100 });
  const started = process.hrtime.bigint();
  let last;
  for (let i = 0; i < readings.length; i += 100) last = buffer.emit('bench', readings.slice(i, i + 100));
  await last;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  buffer.close();
  return readings.length / seconds;
}

function ingestRaw(readings, file) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  for (const m of MIGRATIONS) db.exec(m.sql);
  const insert = db.prepare('INSERT INTO readings (device, point, value, quality, ts) VALUES (?, ?, ?, ?, ?)');
  const batch = db.transaction((rows) => { for (const r of rows) insert.run(r.device, r.point, JSON.stringify(r.value), r.quality, r.ts); });
  const started = process.hrtime.bigint();
  for (let i = 0; i < readings.length; i += BATCH) batch(readings.slice(i, i + BATCH));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return readings.length / seconds;
}

const readings = makeReadings(INGEST);
const writerRates = [];
const rawRates = [];
for (let round = 0; round < ROUNDS; round++) {
  rawRates.push(ingestRaw(readings, path.join(tmp, `raw-${round}.db`)));
  writerRates.push(await ingestThroughWriter(readings, path.join(tmp, `writer-${round}.db`)));
  for (const f of fs.readdirSync(tmp)) fs.rmSync(path.join(tmp, f), { force: true });
}
const writer = median(writerRates);
const raw = median(rawRates);
console.log(`ingest: ${fmt(writer)} readings/s through the writer, ${fmt(raw)} readings/s raw better-sqlite3 (1,000/transaction); ratio ${fmt(writer / raw, 2)} (goal >= 0.70)`);

// ---- 2. drain -----------------------------------------------------------------------------------


const port = await freePort();
const conf = path.join(tmp, 'mosquitto.conf');
fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n`);
const pinned = spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' }).status === 0;
const broker = pinned ? spawn('taskset', ['-c', '0', '/usr/sbin/mosquitto', '-c', conf], { stdio: 'ignore' }) : spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
const url = `mqtt://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  const up = await new Promise((r) => { const s = net.connect(port, '127.0.0.1'); s.once('connect', () => { s.destroy(); r(true); }); s.once('error', () => r(false)); });
  if (up) break;
  if (i > 200) throw new Error('mosquitto did not start');
  await new Promise((r) => setTimeout(r, 25));
}

const control = { health: () => ({}), reload: async () => ({}), restartPlugin: async () => ({}), redactedConfig: () => ({}) };

async function fillBacklog(file) {
  const buffer = new DataBuffer({ file, maxBytes: 64 * 1024 ** 3, maxAgeMs: 365 * 86_400_000, durability: 'normal', flushRows: 10_000 });
  const all = makeReadings(BACKLOG);
  for (let i = 0; i < all.length; i += 10_000) await buffer.emit('bench', all.slice(i, i + 10_000));
  return buffer;
}

async function drainThroughLink(buffer, id) {
  const started = process.hrtime.bigint();
  const link = new FleetLink({
    gateway: { site: 'bench', id }, buffer, control, log: quiet, version: 'bench', configDir: tmp,
    fleet: { mqtt: { url }, health_interval: '1h', batch_size: BATCH, max_inflight: WINDOW },
  });
  const last = buffer.outboxBatch(0, 1).lastSeq + BACKLOG - 1;
  while (link.health().acked_seq < last) await new Promise((r) => setTimeout(r, 2));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await link.stop();
  return BACKLOG / seconds;
}

/** The same messages, pre-encoded, published by a bare client with the same window. */
async function drainRaw(messages) {
  const started = process.hrtime.bigint();
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `raw-${process.pid}` });
  await new Promise((resolve, reject) => {
    let next = 0;
    let inflight = 0;
    let done = 0;
    const pump = () => {
      while (inflight < WINDOW && next < messages.length) {
        const m = messages[next++];
        inflight++;
        client.publish(m.topic, m.payload, { qos: 1 }, (err) => {
          if (err) return reject(err);
          inflight--;
          if (++done === messages.length) resolve(); else pump();
        });
      }
    };
    pump();
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.endAsync();
  return BACKLOG / seconds;
}

const linkRates = [];
const rawDrainRates = [];
for (let round = 0; round < ROUNDS; round++) {
  const buffer = await fillBacklog(path.join(tmp, `drain-${round}.db`));
  const messages = [];
  for (let seq = 0; ;) {
    const batch = buffer.outboxBatch(seq, BATCH);
    if (!batch) break;
    seq = batch.lastSeq;
    for (const m of batch.messages) messages.push({ topic: `backworks/bench/raw/data/${m.device}`, payload: m.payload });
  }
  rawDrainRates.push(await drainRaw(messages));
  linkRates.push(await drainThroughLink(buffer, `gw${round}`));
  buffer.close();
  for (const f of fs.readdirSync(tmp)) if (f.startsWith('drain-')) fs.rmSync(path.join(tmp, f), { force: true });
}
broker.kill('SIGTERM');
const link = median(linkRates);
const rawDrain = median(rawDrainRates);
console.log(`drain: ${fmt(link)} readings/s from a ${fmt(BACKLOG)}-reading backlog through the fleet link (goal >= 100,000), ${fmt(rawDrain)} readings/s raw mqtt publishes of the same messages (window ${WINDOW}); ratio ${fmt(link / rawDrain, 2)}`);
fs.rmSync(tmp, { recursive: true, force: true });

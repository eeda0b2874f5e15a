#!/usr/bin/env node
// Two figures of the store-and-forward buffer, each as a ratio of a raw baseline in the same run:
//  1. ingest: readings/s through the service's group-commit writer (DataBuffer.emit, 100 readings
//     per call as a connector would), with 100 and with 100,000 distinct series (100 devices x
//     1,000 points), vs raw better-sqlite3 appending the same rows to a bare table keyed by seq
//     (integer point id, no secondary index), 1,000 per transaction; and the history of one point
//     over one hour in the 100,000-series file.
//  2. drain: readings/s of a 1,000,000-reading backlog sent to Mosquitto by the fleet link (read
//     and encoded by SQLite, QoS 1, cursor moved on PUBACK) vs raw `mqtt` publishes of the same
//     messages, encoded beforehand, with the same in-flight window.
// BENCH_PART=ingest stops after the ingest figures; BENCH_HISTORY_ROWS=N also times history in an
// N-row buffer. Needs `npm run build` (npm run bench does it) and /usr/sbin/mosquitto.
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

/** `series` distinct (device, point) pairs, 100 devices x series/100 points; every point once a second. */
function makeSeries(n, series, first = 0, t0 = Date.now() - Math.ceil(n / series) * 1000) {
  const perDevice = series / 100;
  return Array.from({ length: n }, (_, k) => {
    const i = first + k;
    const s = i % series;
    return { device: `dev${s % 100}`, point: `p${Math.floor(s / 100) % perDevice}`, value: i * 0.5, quality: 'good', ts: t0 + Math.floor(i / series) * 1000 };
  });
}

async function ingestThroughWriter(readings, file, keep = false) {
  const buffer = new DataBuffer({ file, maxBytes: 64 * 1024 ** 3, maxAgeMs: 365 * 86_400_000, durability: 'normal', flushRows: BATCH, flushIntervalMs: 100 });
  const started = process.hrtime.bigint();
  let last;
  for (let i = 0; i < readings.length; i += 100) last = buffer.emit('bench', readings.slice(i, i + 100));
  await last;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (keep) return { rate: readings.length / seconds, buffer };
  buffer.close();
  return { rate: readings.length / seconds };
}

/**
 * The baseline: what SQLite appends when nothing but the rows is written. An integer point id, the
 * seq as the table's key, no secondary index, 1,000 rows a transaction.
 */
function ingestRaw(readings, file) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE readings (seq INTEGER PRIMARY KEY, point_id INTEGER NOT NULL, value TEXT NOT NULL, quality TEXT NOT NULL, ts INTEGER NOT NULL)');
  const ids = new Map();
  const insert = db.prepare('INSERT INTO readings (seq, point_id, value, quality, ts) VALUES (?, ?, ?, ?, ?)');
  let seq = 0;
  const batch = db.transaction((rows) => {
    for (const r of rows) {
      const key = `${r.device}\0${r.point}`;
      let id = ids.get(key);
      if (id === undefined) { id = ids.size + 1; ids.set(key, id); }
      insert.run(++seq, id, JSON.stringify(r.value), r.quality, r.ts);
    }
  });
  const started = process.hrtime.bigint();
  for (let i = 0; i < readings.length; i += BATCH) batch(readings.slice(i, i + BATCH));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return readings.length / seconds;
}

/** Median ms of the history of one point over one hour, for several points. */
function historyMs(buffer, readings) {
  const times = [];
  const t0 = readings[0].ts;
  for (let k = 0; k < 21; k++) {
    const r = readings[(k * 7919) % readings.length];
    const started = process.hrtime.bigint();
    const rows = buffer.history({ device: r.device, point: r.point, from: t0, to: t0 + 3_600_000, limit: 10_000 });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (rows.length === 0) throw new Error(`no history for ${r.device}/${r.point}`);
  }
  return median(times);
}

const small = makeSeries(INGEST, 100);
const large = makeSeries(INGEST, 100_000);
const rawRates = [];
const smallRates = [];
const largeRates = [];
let history;
for (let round = 0; round < ROUNDS; round++) {
  rawRates.push(ingestRaw(large, path.join(tmp, `raw-${round}.db`)));
  smallRates.push((await ingestThroughWriter(small, path.join(tmp, `small-${round}.db`))).rate);
  const last = round === ROUNDS - 1;
  const run = await ingestThroughWriter(large, path.join(tmp, `large-${round}.db`), last);
  largeRates.push(run.rate);
  if (last) { history = historyMs(run.buffer, large); run.buffer.close(); }
  for (const f of fs.readdirSync(tmp)) fs.rmSync(path.join(tmp, f), { force: true });
}
const raw = median(rawRates);
console.log(`ingest of ${fmt(INGEST)} readings, ${fmt(BATCH)} per transaction (median of ${ROUNDS}):`);
console.log(`  raw better-sqlite3, append-only (integer point id, seq key, no index): ${fmt(raw)} readings/s`);
console.log(`  the writer, 100 series:     ${fmt(median(smallRates))} readings/s, ratio ${fmt(median(smallRates) / raw, 2)}`);
console.log(`  the writer, 100,000 series: ${fmt(median(largeRates))} readings/s, ratio ${fmt(median(largeRates) / raw, 2)} (goal >= 0.50)`);
console.log(`  history of one point over one hour, ${fmt(INGEST)} rows at 100,000 series: ${fmt(history, 2)} ms (median of 21 points)`);

// A bigger buffer for the history figure (BENCH_HISTORY_ROWS, e.g. 10000000), filled through the writer.
const HISTORY_ROWS = Number(process.env.BENCH_HISTORY_ROWS ?? 0);
if (HISTORY_ROWS > 0) {
  const buffer = new DataBuffer({ file: path.join(tmp, 'history.db'), maxBytes: 64 * 1024 ** 3, maxAgeMs: 365 * 86_400_000, durability: 'normal', flushRows: BATCH });
  const t0 = Date.now() - Math.ceil(HISTORY_ROWS / 100_000) * 1000;
  let chunk;
  for (let i = 0; i < HISTORY_ROWS; i += 100_000) {
    await buffer.emit('bench', chunk = makeSeries(Math.min(100_000, HISTORY_ROWS - i), 100_000, i, t0));
    await new Promise((resolve) => setImmediate(resolve)); // the buffer's maintenance (WAL checkpoints) runs between commits
  }
  chunk[0].ts = t0; // historyMs starts the hour at the first reading
  console.log(`  history of one point over one hour, ${fmt(HISTORY_ROWS)} rows at 100,000 series: ${fmt(historyMs(buffer, chunk), 2)} ms (median of 21 points)`);
  buffer.close();
  fs.rmSync(path.join(tmp, 'history.db'), { force: true });
}
if (process.env.BENCH_PART === 'ingest') { fs.rmSync(tmp, { recursive: true, force: true }); process.exit(0); }

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

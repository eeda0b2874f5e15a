#!/usr/bin/env node
// bench/edi: X12 parse throughput of libedi_plugin.so, inside the plugin (called through its C ABI
// by test/packs/logistics/edi-x12/abi-driver.c, the way the plugin host calls it) and end to end
// through the gateway's endpoints, each as a ratio of node-x12 parsing the same files in this run.
//
//   npm run build && node bench/edi/run.mjs
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X12Parser } from 'node-x12';
import { repoRoot, startService } from '../lib.mjs';

const library = path.join(repoRoot, 'packs/logistics/edi-x12/plugins/libedi_plugin.so');
const fixtures = path.join(repoRoot, 'test/fixtures/edi');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-edi-'));

// ---- documents: the fixtures' sets, scaled up -------------------------------------------------

function body(name) {
  const segs = fs.readFileSync(path.join(fixtures, name), 'utf8').split('~').map((s) => s.trim()).filter(Boolean);
  return segs.slice(segs.findIndex((s) => s.startsWith('ST*')) + 1, segs.findIndex((s) => s.startsWith('SE*')));
}

function interchange(groups) {
  const isa = 'ISA*00*          *00*          *ZZ*WALMART        *ZZ*BACKWORKS      *240301*0930*U*00401*000000777*0*P*>';
  const out = [isa];
  groups.forEach(([fid, sets], g) => {
    out.push(`GS*${fid}*WALMART*BACKWORKS*20240301*0930*${g + 1}*X*004010`);
    sets.forEach(([id, segs], i) => {
      const control = String(i + 1).padStart(4, '0');
      out.push(`ST*${id}*${control}`);
      for (const s of segs) out.push(s);
      out.push(`SE*${segs.length + 2}*${control}`);
    });
    out.push(`GE*${sets.length}*${g + 1}`);
  });
  out.push(`IEA*${groups.length}*000000777`);
  return `${out.join('~\n')}~\n`;
}

/** One 850 with `lines` PO1 loops. */
function bigPurchaseOrder(lines) {
  const base = body('850-4010.x12');
  const header = base.slice(0, base.findIndex((s) => s.startsWith('PO1*')));
  const segs = [...header];
  for (let i = 1; i <= lines; i++) {
    segs.push(`PO1*${i}*${(i % 90) + 10}*EA*${(i % 1000) / 10 + 1}**UP*0123456${String(i).padStart(5, '0')}*VN*WID-${i}`, `PID*F****WIDGET MODEL ${i} BLUE 12OZ`, 'PO4*12*12*OZ');
  }
  segs.push(`CTT*${lines}`);
  return interchange([['PO', [['850', segs]]]]);
}

/** One 856: a shipment with `orders` orders of 10 packs of 4 items each. */
function bigShipNotice(orders) {
  const segs = ['BSN*00*SH-BENCH*20240312*1415*0001', 'HL*1**S*1', 'TD1*CTN25*3****G*62.5*LB', 'N1*ST*WALMART DC 6094*UL*0078742000176'];
  let n = 1;
  for (let o = 0; o < orders; o++) {
    const order = ++n;
    segs.push(`HL*${order}*1*O*1`, `PRF*45000${o}`);
    for (let p = 0; p < 10; p++) {
      const pack = ++n;
      segs.push(`HL*${pack}*${order}*P*1`, `MAN*GM*0000012345${String(pack).padStart(10, '0')}`);
      for (let i = 0; i < 4; i++) segs.push(`HL*${++n}*${pack}*I*0`, `LIN**UP*0123456${String(n % 99999).padStart(5, '0')}`, 'SN1**12*EA');
    }
  }
  segs.push(`CTT*${n}`);
  return interchange([['SH', [['856', segs]]]]);
}

/** Many small 850s in one group, the usual shape of a busy day. */
function manyOrders(count) {
  const po = body('850-4010.x12');
  return interchange([['PO', Array.from({ length: count }, () => ['850', po])]]);
}

const documents = [
  ['850, 20,000 lines', bigPurchaseOrder(20_000)],
  ['856, 2,000 orders', bigShipNotice(2_000)],
  ['3,000 small 850s', manyOrders(3_000)],
].map(([name, text]) => {
  const file = path.join(dir, `${name.replace(/\W+/g, '-')}.x12`);
  fs.writeFileSync(file, text);
  return { name, file, text, bytes: Buffer.byteLength(text) };
});

// ---- measurements -------------------------------------------------------------------------------

/** Calls fn until `seconds` have passed (at least `min` times); MB/s of `bytes` per call. */
async function rate(bytes, fn, { seconds = 2, min = 3 } = {}) {
  await fn();
  const started = performance.now();
  let n = 0;
  while (n < min || performance.now() - started < seconds * 1000) { await fn(); n++; }
  return (bytes * n) / ((performance.now() - started) / 1000) / 1e6;
}

/** node-x12 in this process, by CPU time like the plugin figure (a shared box moves wall time). */
function nodeX12(doc) {
  const parser = new X12Parser(true);
  parser.parse(doc.text);
  const started = process.cpuUsage();
  let n = 0;
  let used = 0;
  while (n < 3 || used < 2e6) {
    parser.parse(doc.text);
    n++;
    const { user, system } = process.cpuUsage(started);
    used = user + system;
  }
  return (doc.bytes * n) / (used / 1e6) / 1e6;
}

const driver = path.join(dir, 'abi-driver');
const cc = spawnSync('gcc', ['-O2', `-I${path.join(repoRoot, 'sdk/c')}`, path.join(repoRoot, 'test/packs/logistics/edi-x12/abi-driver.c'), '-o', driver, '-ldl'], { stdio: 'inherit' });
if (cc.status !== 0) process.exit(1);

function inPlugin(doc, endpoint) {
  const iterations = Math.max(3, Math.round(200e6 / doc.bytes));
  const run = spawnSync(driver, ['bench', library, doc.file, String(iterations), endpoint], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`abi-driver: ${run.stderr}`);
  const { bytes, iterations: n, cpu_seconds: seconds } = JSON.parse(run.stdout);
  return (bytes * n) / seconds / 1e6;
}

const yaml = path.join(dir, 'backworks.yaml');
fs.writeFileSync(yaml, [
  `state_dir: ${JSON.stringify(path.join(dir, 'state'))}`,
  'server: { body_limit: 64MB }',
  'plugins:',
  '  edi-x12:',
  '    type: external',
  `    path: ${JSON.stringify(library)}`,
  '    timeout: 60s',
  '    config:',
  '      trading_partners: [{ id: WALMART, formats: ["850", "855", "856"] }, { id: AMAZON, formats: ["850", "997"] }]',
  '      interchange: { id: BACKWORKS }',
  'endpoints:',
  '  edi-inbound: { path: /edi/x12, methods: [POST], plugin: edi-x12, auth: none }',
  '  edi-parse: { path: /edi/x12/parse, methods: [POST], plugin: edi-x12, auth: none }',
  '  edi-validate: { path: /edi/x12/validate, methods: [POST], plugin: edi-x12, auth: none }',
  '',
].join('\n'));
const service = await startService(yaml);

async function endToEnd(doc, endpoint) {
  return rate(doc.bytes, async () => {
    const res = await fetch(`${service.url}${endpoint}`, { method: 'POST', body: doc.text });
    if (res.status !== 200) throw new Error(`${endpoint}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }, { seconds: 3 });
}

const fmt = (x) => x.toFixed(1).padStart(7);
const ratio = (x, base) => `${(x / base).toFixed(2)}x`.padStart(7);
const columns = [
  ['plugin: check', 'parse + envelope, structure and element checks (/edi/x12/validate), in the plugin through the C ABI, CPU time'],
  ['plugin: JSON', 'the same + the JSON of every transaction set (/edi/x12/parse), in the plugin through the C ABI, CPU time'],
  ['HTTP /validate', 'POST through the gateway and the isolated plugin host, wall time'],
  ['HTTP /edi/x12', 'POST: checked, stored in the buffer (committed) and answered with its 997, wall time'],
];
console.log('MB/s of X12 input; each ratio = that figure / node-x12 (X12Parser strict .parse, CPU time) on the same text in this run');
for (const [name, what] of columns) console.log(`  ${name.padEnd(15)} ${what}`);
console.log(`\n${'document'.padEnd(18)} ${'size'.padStart(6)} ${'node-x12'.padStart(8)} | ${columns.map(([n]) => `${n.padStart(14)} ${'ratio'.padStart(7)}`).join(' | ')}`);
const goal = [];
try {
  for (const doc of documents) {
    const base = nodeX12(doc);
    const figures = [
      inPlugin(doc, '/edi/x12/validate'),
      inPlugin(doc, '/edi/x12/parse'),
      await endToEnd(doc, '/edi/x12/validate'),
      await endToEnd(doc, '/edi/x12'),
    ];
    goal.push(figures[0]);
    console.log(`${doc.name.padEnd(18)} ${`${(doc.bytes / 1e6).toFixed(1)}MB`.padStart(6)} ${fmt(base).padStart(8)} | ${figures.map((f) => `${fmt(f).padStart(14)} ${ratio(f, base)}`).join(' | ')}`);
  }
  console.log(`\nparse + checks in the plugin: ${Math.min(...goal).toFixed(0)} to ${Math.max(...goal).toFixed(0)} MB/s (goal: >= 100 MB/s)`);
} finally {
  await service.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

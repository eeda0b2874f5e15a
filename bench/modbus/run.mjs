#!/usr/bin/env node
// bench/modbus: 10 devices x 10,000 points polled every second against a simulator in another
// process. Prints requests per cycle against the computed minimum, CPU % of one core and RSS,
// each beside the baseline measured in this run (the same process before polling started).
// Needs the compiled pack: npm run build (or npx tsc).
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const DEVICES = Number(process.env.DEVICES ?? 10);
const POINTS = Number(process.env.POINTS ?? 10_000);
const SECONDS = Number(process.env.SECONDS ?? 20);
const WARMUP = 5;
const MAX_REGISTERS = 125;

const { ModbusPlugin } = await import(path.join(repo, 'dist/packs/manufacturing/modbus/plugin.js'));

const sim = spawn(process.execPath, [path.join(here, 'simulator.mjs')], {
  env: { ...process.env, DEVICES: String(DEVICES), REGISTERS: String(POINTS) }, stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = readline.createInterface({ input: sim.stdout });
const nextLine = (prefix) => new Promise((resolve) => {
  const on = (line) => { if (line.startsWith(prefix)) { lines.off('line', on); resolve(line.slice(prefix.length)); } };
  lines.on('line', on);
});
const ports = (await nextLine('ready ')).split(',').map(Number);
const simRequests = async () => { sim.stdin.write('stats\n'); return Number(await nextLine('stats ')); };

// Baseline: this process with the pack loaded, before any device is polled.
global.gc?.();
const idleCpu0 = process.cpuUsage();
const idleT0 = performance.now();
await new Promise((r) => setTimeout(r, 2000));
const idleCpuPct = cpuPercent(process.cpuUsage(idleCpu0), performance.now() - idleT0);
const baselineRss = process.memoryUsage().rss;

let emitted = 0;
const host = {
  pluginName: 'bench', stateDir: '/tmp',
  log: () => undefined,
  emit: (readings) => { emitted += readings.length; },
  getState: async () => undefined, commit: () => Promise.reject(new Error('unused')),
};
const plugin = new ModbusPlugin(repo);
const points = Array.from({ length: POINTS }, (_, i) => ({ name: `p${i}`, table: 'holding', address: i }));
await plugin.initialize({
  devices: ports.map((port, d) => ({ name: `dev${d}`, address: `127.0.0.1:${port}`, interval: '1s', timeout: '2s', points })),
}, host);

await new Promise((r) => setTimeout(r, WARMUP * 1000));
const req0 = await simRequests();
const emitted0 = emitted;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let peakRss = 0;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 250);
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const wallMs = performance.now() - t0;
const cpuPct = cpuPercent(process.cpuUsage(cpu0), wallMs);
const requests = (await simRequests()) - req0;
clearInterval(sampler);
global.gc?.();
const liveHeap = process.memoryUsage().heapUsed;
const health = await plugin.healthCheck();
await plugin.shutdown();
sim.kill('SIGTERM');

const cycles = wallMs / 1000;
const minimum = DEVICES * Math.ceil(POINTS / MAX_REGISTERS);
const perCycle = requests / cycles;
const overruns = Object.values(health.details).reduce((n, d) => n + d.overruns, 0);
const fmt = (n, digits = 1) => n.toFixed(digits);
console.log(`${DEVICES} devices x ${POINTS} points, 1 s cycle, ${SECONDS} s measured after ${WARMUP} s warm-up (node ${process.version})`);
console.log(`requests per cycle   ${fmt(perCycle)}   computed minimum ${minimum}   ratio ${fmt(perCycle / minimum, 3)}   (goal 1.000)`);
console.log(`CPU, % of one core   ${fmt(cpuPct)} %   idle baseline ${fmt(idleCpuPct)} %   (goal < 30 %)`);
console.log(`RSS                  ${fmt(peakRss / 2 ** 20)} MB peak   baseline ${fmt(baselineRss / 2 ** 20)} MB before polling   ratio ${fmt(peakRss / baselineRss, 2)}   (goal < 250 MB)`);
console.log(`live heap after GC   ${global.gc ? fmt(liveHeap / 2 ** 20) + " MB" : "(run with --expose-gc)"}`);
console.log(`readings emitted     ${fmt((emitted - emitted0) / cycles, 0)} /s (report on change; the simulator changes 10 % of registers a second)`);
console.log(`cycle overruns       ${overruns}   health ${health.status}`);

function cpuPercent(usage, ms) {
  return ((usage.user + usage.system) / 1000 / ms) * 100;
}

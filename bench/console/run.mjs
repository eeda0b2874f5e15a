#!/usr/bin/env node
// The technician's console on the quickstart, in Debian's Chromium:
//  - page weight: every byte the browser received (compressed, as sent) from navigation to the
//    rendered overview, the API answers and the first stream event included; goal < 150 KB;
//  - time from navigation to a rendered overview (the plugins table filled from the live stream),
//    already logged in, median of RUNS; baseline in the same run: navigating to /health (one small
//    JSON answer from the same gateway, shown by the browser); goal < 500 ms;
//  - idle RSS of the gateway with one console open (page loaded, stream connected) against the
//    same gateway idle before any console was opened; goal: the console adds <= 5 MB.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { cliPath, fmt, median, repoRoot, startService, tempFile } from '../lib.mjs';

const RUNS = 7;
const IDLE_MS = 5_000;
const PASSWORD = 'a bench passphrase, long';
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** RSS moves by several MB with V8's collections: the median of samples over the idle period. */
async function idleRss(pid) {
  const samples = [];
  for (let t = 0; t < IDLE_MS; t += 250) { await sleep(250); samples.push(rssMb(pid)); }
  return median(samples);
}

const file = tempFile('backworks.yaml', fs.readFileSync(path.join(repoRoot, 'examples/quickstart/backworks.yaml'), 'utf8'));
const service = await startService(file);
const added = spawnSync(process.execPath, [cliPath, 'user', 'add', 'bench', '--role', 'viewer', '-c', file], { input: `${PASSWORD}\n` });
if (added.status !== 0) throw new Error(`user add failed: ${added.stderr}`);
// The service runs under taskset when available: its pid is the node child of that process.
const pid = Number(spawnSync('pgrep', ['-P', String(service.child.pid), '-f', 'cli.js run']).stdout.toString().trim()) || service.child.pid;

// Start-up garbage is collected within seconds; measure after it, as the footprint bench does.
await sleep(3 * IDLE_MS);
const idleBefore = await idleRss(pid);

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = browser.pages()[0] ?? await browser.newPage();
const cdp = await browser.newCDPSession(page);
await cdp.send('Network.enable');
await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
let received = 0;
cdp.on('Network.dataReceived', (e) => { received += e.encodedDataLength; });

// Log in once (the login page's own weight is part of the first visit).
received = 0;
await page.goto(`${service.url}/`);
await page.waitForSelector('#login-form');
const loginPage = received;
await page.fill('#login-user', 'bench');
await page.fill('#login-password', PASSWORD);
await page.click('#login-form button[type=submit]');
await page.waitForSelector('#plugins-table');

const console_ = [];
const baseline = [];
const weights = [];
for (let i = 0; i < RUNS; i++) {
  await page.goto('about:blank');
  received = 0;
  let started = Date.now();
  await page.goto(`${service.url}/console/#overview`);
  await page.waitForSelector('#plugins-table [data-plugin="machines"]');
  console_.push(Date.now() - started);
  weights.push(received);
  await page.goto('about:blank');
  started = Date.now();
  await page.goto(`${service.url}/health`);
  await page.waitForSelector('body');
  baseline.push(Date.now() - started);
}

// One console open, idle.
await page.goto(`${service.url}/console/#overview`);
await page.waitForSelector('#plugins-table');
await sleep(IDLE_MS);
const idleWith = await idleRss(pid);

await browser.close();
await service.stop();
fs.rmSync(profile, { recursive: true, force: true });

const weightKb = median(weights) / 1024;
const ms = median(console_);
const base = median(baseline);
console.log(`console: first load (login page) ${fmt(loginPage / 1024, 1)} KB; overview load ${fmt(weightKb, 1)} KB as sent (median of ${RUNS}); goal < 150 KB: ${weightKb < 150 ? 'met' : 'NOT met'}`);
console.log(`console: navigation to rendered overview ${fmt(ms)} ms (median of ${RUNS}: ${console_.join(', ')}), baseline /health ${fmt(base)} ms, ratio ${fmt(ms / Math.max(base, 1), 2)}x; goal < 500 ms: ${ms < 500 ? 'met' : 'NOT met'}`);
console.log(`console: idle RSS ${fmt(idleBefore, 1)} MB before any console, ${fmt(idleWith, 1)} MB with one open (${idleWith >= idleBefore ? '+' : ''}${fmt(idleWith - idleBefore, 1)} MB); goal <= 5 MB: ${idleWith - idleBefore <= 5 ? 'met' : 'NOT met'}`);

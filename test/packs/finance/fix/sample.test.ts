import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { repoRoot, startService, type RunningService } from '../../../helpers/service.js';
import { tempDir } from '../../../helpers/tmp.js';
import { library } from './helpers.js';

const sample = path.join(repoRoot, 'packs/finance/fix/sample.yaml');
const check = (file: string) => spawnSync(process.execPath, [path.join(repoRoot, 'dist/service/src/cli.js'), 'check', '-c', file], { encoding: 'utf8' });
const running: RunningService[] = [];
afterAll(async () => { await Promise.all(running.map((s) => s.stop())); });

it('finance/fix sample.yaml is accepted by backworks check, its library is where it says', () => {
  const text = fs.readFileSync(sample, 'utf8');
  expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../../service/schema/backworks.schema.json');
  expect(text).toContain('path: "./plugins/libfix_plugin.so"');
  const r = check(sample);
  expect(r.stdout).toContain('valid');
  expect(r.status).toBe(0);
});

it('a mistake in the sample\'s sessions is named by key when the plugin starts, and the rest of the gateway runs', async () => {
  const dir = tempDir('bw-fix-sample-');
  const text = fs.readFileSync(sample, 'utf8')
    .replace('./plugins/libfix_plugin.so', library)
    .replace('port: 9876', 'port: 0')
    .replace('heartbeat_interval: 30s', 'heartbaet_interval: 30s');
  const file = path.join(dir, 'backworks.yaml');
  fs.writeFileSync(file, `state_dir: ./state\n${text}`);
  const service = await startService(file);
  running.push(service);
  const health = await (await fetch(`${service.url}/health`)).json() as any;
  const plugin = JSON.stringify(health.plugins['fix-protocol']);
  expect(plugin).toMatch(/sessions\[0\]\.heartbaet_interval: unknown key/);
});

it('passes the crate unit tests (cargo test: framing, dictionary, validation order, sent-message blocks)', () => {
  const run = spawnSync('cargo', ['test', '--release', '--quiet', '--manifest-path', path.join(repoRoot, 'packs/finance/fix/Cargo.toml'), '--target-dir', path.join(repoRoot, 'target')], {
    cwd: repoRoot, encoding: 'utf8', timeout: 300_000,
  });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  expect(run.stdout).toMatch(/test result: ok\. [1-9]\d* passed; 0 failed/);
}, 300_000);

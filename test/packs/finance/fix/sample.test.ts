import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot, startService } from '../../../helpers/service.js';
import { tempDir } from '../../../helpers/tmp.js';
import { library } from './helpers.js';

const sample = path.join(repoRoot, 'packs/finance/fix/sample.yaml');
const check = (file: string) => spawnSync(process.execPath, [path.join(repoRoot, 'dist/service/src/cli.js'), 'check', '-c', file], { encoding: 'utf8' });

it('finance/fix sample.yaml is accepted by backworks check, its library is where it says', () => {
  const text = fs.readFileSync(sample, 'utf8');
  expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../../service/schema/backworks.schema.json');
  expect(text).toContain('path: "./plugins/libfix_plugin.so"');
  const r = check(sample);
  expect(r.stdout).toContain('valid');
  expect(r.status).toBe(0);
});

it('a mistake in the sample\'s sessions is refused by check at its line and column, against the schema in the library\'s descriptor, and fails that plugin alone in run', async () => {
  const dir = tempDir('bw-fix-sample-');
  const text = fs.readFileSync(sample, 'utf8')
    .replace('./plugins/libfix_plugin.so', library)
    .replace('heartbeat_interval: 30s', 'heartbaet_interval: 30s');
  const file = path.join(dir, 'backworks.yaml');
  fs.writeFileSync(file, text);
  const line = text.split('\n').findIndex((l) => l.includes('heartbaet_interval')) + 1;
  const column = text.split('\n')[line - 1].indexOf('heartbaet_interval') + 1;
  const expected = `${file}:${line}:${column}: unknown key "heartbaet_interval"; did you mean "heartbeat_interval"?`;
  const checked = check(file);
  expect(checked.status).toBe(1);
  expect(checked.stderr).toContain(expected);
  // `run` starts the rest of the gateway; the FIX plugin alone is failed, with the same words.
  const service = await startService(file);
  try {
    const report = await (await service.fetch('/health')).json() as { plugins: Record<string, { state: string; message?: string }> };
    expect(report.plugins['fix-protocol']!.state).toBe('failed');
    expect(report.plugins['fix-protocol']!.message).toContain(expected);
  } finally {
    await service.stop();
  }
});


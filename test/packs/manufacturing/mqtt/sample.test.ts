import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { writeTemp } from '../../../helpers/tmp.js';
import fs from 'node:fs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const check = (file: string) => spawnSync(process.execPath, [path.join(repo, 'dist/service/src/cli.js'), 'check', '-c', file], { encoding: 'utf8' });
const sample = path.join(repo, 'packs/manufacturing/mqtt/sample.yaml');

it('manufacturing/mqtt sample.yaml is accepted by backworks check, and a bad path is located', () => {
  const ok = check(sample);
  expect(ok.stdout).toContain('valid');
  expect(ok.status).toBe(0);
  const text = fs.readFileSync(sample, 'utf8').replace('path: $.sensors.temp,', 'path: $.sensors..temp,');
  const bad = writeTemp('backworks.yaml', text);
  const r = check(bad);
  expect(r.status).toBe(1);
  const line = text.split('\n').findIndex((l) => l.includes('$.sensors..temp')) + 1;
  expect(r.stderr).toContain(`${bad}:${line}:`);
  expect(r.stderr).toContain('path "$.sensors..temp": expected a name after "."');
});

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { writeTemp } from '../../../helpers/tmp.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const check = (file: string) => spawnSync(process.execPath, [path.join(repo, 'dist/service/src/cli.js'), 'check', '-c', file], { encoding: 'utf8' });
const sample = path.join(repo, 'packs/manufacturing/opcua/sample.yaml');

it('manufacturing/opcua sample.yaml is accepted by backworks check, and a NodeId without its form (ns=..;s=..) is located', () => {
  const ok = check(sample);
  expect(ok.stdout).toContain('valid');
  expect(ok.status).toBe(0);
  const text = fs.readFileSync(sample, 'utf8')
    .replace('node: "ns=3;s=Line1.GoodCount"', 'node: "Line1.GoodCount"');
  const bad = writeTemp('backworks.yaml', text);
  const r = check(bad);
  expect(r.status).toBe(1);
  const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
  expect(r.stderr).toContain(`${bad}:${lineOf('"Line1.GoodCount"')}:`);
  expect(r.stderr).toContain('"node" must be of the form NodeId, e.g. ns=2;s=Machine.Temperature or ns=3;i=1001, got "Line1.GoodCount"');
});

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from '../helpers/service.js';

/** Every pack folder is complete on its own: a README and a sample backworks.yaml that `check` accepts. */
const packs = fs.readdirSync(path.join(repoRoot, 'packs'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((industry) => fs.readdirSync(path.join(repoRoot, 'packs', industry.name), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `${industry.name}/${d.name}`));

describe('packs', () => {
  it('there are packs to check', () => expect(packs.length).toBeGreaterThanOrEqual(8));

  it.each(packs)('%s has a README and a sample.yaml that backworks check accepts', (pack) => {
    const dir = path.join(repoRoot, 'packs', pack);
    expect(fs.existsSync(path.join(dir, 'README.md'))).toBe(true);
    const sample = path.join(dir, 'sample.yaml');
    expect(fs.readFileSync(sample, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../../../service/schema/backworks.schema.json');
    const r = spawnSync(process.execPath, [cliPath, 'check', '-c', sample], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

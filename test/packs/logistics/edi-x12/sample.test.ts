import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from '../../../helpers/service.js';

/** `backworks check` (the compiled CLI) on the pack's sample.yaml, which loads the built library. */

const sample = path.join(repoRoot, 'packs/logistics/edi-x12/sample.yaml');

function check(file: string) {
  const r = spawnSync(process.execPath, [cliPath, 'check', '-c', file], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('logistics/edi-x12 sample.yaml', () => {
  it('keeps the seed configuration and is accepted by backworks check', () => {
    const text = fs.readFileSync(sample, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../../service/schema/backworks.schema.json');
    expect(text).toContain('path: "./plugins/libedi_plugin.so"');
    expect(text).toContain('- id: "WALMART"\n          formats: ["850", "855", "856"]');
    expect(text).toContain('- id: "AMAZON"\n          formats: ["850", "997"]');
    expect(fs.existsSync(path.join(path.dirname(sample), 'plugins/libedi_plugin.so'))).toBe(true);
    const { status, out } = check(sample);
    expect(out).toContain('valid');
    expect(status).toBe(0);
  });
});

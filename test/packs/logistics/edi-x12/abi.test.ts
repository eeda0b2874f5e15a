import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../helpers/service.js';
import { tempDir } from '../../../helpers/tmp.js';
import { fixtures, library } from './helpers.js';

/**
 * The plugin through its C ABI, the way the plugin host calls it (abi-driver.c dlopens the real
 * libedi_plugin.so and uses the descriptor's call table), and the crate's own unit tests.
 */

const crate = path.join(repoRoot, 'packs/logistics/edi-x12');

function buildDriver(): string {
  const out = path.join(tempDir('bw-edi-abi-'), 'abi-driver');
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', `-I${path.join(repoRoot, 'sdk/c')}`,
    path.join(repoRoot, 'test/packs/logistics/edi-x12/abi-driver.c'), '-o', out, '-ldl'], { encoding: 'utf8' });
  expect(cc.status, cc.stderr).toBe(0);
  return out;
}

describe('logistics/edi-x12 through the ABI', () => {
  it('survives 100,000 random and mutated inputs without a crash or a panic', () => {
    const driver = buildDriver();
    const seed = String(Date.now());
    const inputs = fs.readdirSync(fixtures).filter((f) => f.endsWith('.x12')).map((f) => path.join(fixtures, f));
    const run = spawnSync(driver, ['fuzz', library, '100000', seed, ...inputs], { encoding: 'utf8', timeout: 120_000 });
    expect(run.signal, `seed ${seed}: ${run.stderr}`).toBeNull();
    expect(run.status, `seed ${seed}: ${run.stderr}`).toBe(0);
    const summary = JSON.parse(run.stdout) as { inputs: number; ok: number; client_errors: number; server_errors: number; stored: number };
    expect(summary.inputs).toBeGreaterThanOrEqual(100_000);
    // A panic caught by the SDK answers 500: there must be none, only answers and 4xx refusals.
    expect(summary.server_errors, `seed ${seed}`).toBe(0);
    expect(summary.ok).toBeGreaterThan(0);
    expect(summary.client_errors).toBeGreaterThan(0);
    expect(summary.stored).toBeGreaterThan(0);
  });

});

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/service.js';
import { tempDir } from '../../helpers/tmp.js';

const run = promisify(execFile);

describe('healthcare/hl7 fuzzed through the C ABI', () => {
  it('120,000 random and mutated inputs to /hl7/parse and /hl7/fhir: no crash, no panic, every answer OK or a 4xx with a message', async () => {
    const harness = path.join(tempDir('bw-hl7-fuzz-'), 'fuzz');
    await run('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', `-I${path.join(repoRoot, 'sdk/c')}`,
      path.join(repoRoot, 'test/packs/healthcare/fuzz.c'), '-o', harness, '-ldl']);
    const fixtures = path.join(repoRoot, 'test/fixtures/hl7');
    const files = fs.readdirSync(fixtures).filter((f) => f.endsWith('.hl7')).map((f) => path.join(fixtures, f));
    const seed = String(Date.now() % 1_000_000);
    const { stdout } = await run(harness, [path.join(repoRoot, 'target/release/libhl7_plugin.so'), '120000', seed, ...files],
      { maxBuffer: 1 << 20 }).catch((err: { stderr?: string; signal?: string; code?: number }) => {
      throw new Error(`fuzz seed ${seed} failed (signal ${err.signal}, code ${err.code}): ${err.stderr}`);
    });
    const result = JSON.parse(stdout) as { runs: number; ok: number; errors: number };
    expect(result.runs).toBe(120_000);
    expect(result.ok + result.errors).toBe(120_000);
    // Mutations keep many messages valid: both paths are exercised.
    expect(result.ok).toBeGreaterThan(10_000);
    expect(result.errors).toBeGreaterThan(10_000);
  }, 60_000);
});

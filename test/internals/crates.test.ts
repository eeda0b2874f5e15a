import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without type declarations
import { discoverCrates } from '../../deploy/build/discover.mjs';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const crates: string[] = discoverCrates(repoRoot, ['sdk', 'packs', 'examples/plugins', 'test/fixtures/plugins']);

// Every crate's own unit tests, run from this one place, the same way for each (release, the
// build's target folder, so the libraries `npm run build` compiled are reused).
describe('the Rust crates\' unit tests (cargo test)', () => {
  it('finds the SDK and every Rust pack', () => {
    const names = crates.map((dir) => path.relative(repoRoot, dir));
    for (const crate of ['sdk/rust/backworks-plugin-sdk', 'packs/finance/fix', 'packs/healthcare/hl7', 'packs/logistics/edi-x12', 'examples/plugins/my-plugin']) {
      expect(names).toContain(crate);
    }
  });

  for (const dir of crates) {
    it(path.relative(repoRoot, dir), () => {
      const run = spawnSync('cargo', ['test', '--release', '--quiet', '--manifest-path', path.join(dir, 'Cargo.toml'), '--target-dir', path.join(repoRoot, 'target')], {
        cwd: repoRoot, encoding: 'utf8', timeout: 400_000,
      });
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      const results = [...run.stdout.matchAll(/test result: (\w+)\. (\d+) passed; (\d+) failed/g)];
      expect(results.length).toBeGreaterThan(0);
      for (const [, outcome, , failed] of results) expect({ outcome, failed }).toEqual({ outcome: 'ok', failed: '0' });
    }, 400_000);
  }
});

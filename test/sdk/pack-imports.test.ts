/**
 * Packs are written on the SDK alone: no file under packs/ imports from service/ (a third party
 * has no service source to import from). Packs still being moved are listed by name, and the test
 * fails as soon as one of them is clean, so the list only shrinks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

const MOVING = ['manufacturing/modbus'];
const packsRoot = path.join(repoRoot, 'packs');
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

function* sources(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'target' || entry.name === 'dist') continue;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(file);
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) yield file;
  }
}

/** "file: specifier" for every import under `dir` that resolves into service/. */
function serviceImports(dir: string): string[] {
  const found: string[] = [];
  for (const file of sources(dir)) {
    for (const [, specifier] of fs.readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (!specifier.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), specifier);
      if (!path.relative(path.join(repoRoot, 'service'), target).startsWith('..')) found.push(`${path.relative(repoRoot, file)}: ${specifier}`);
    }
  }
  return found;
}

const packs = fs.readdirSync(packsRoot).flatMap((industry) =>
  fs.statSync(path.join(packsRoot, industry)).isDirectory() ? fs.readdirSync(path.join(packsRoot, industry)).map((name) => `${industry}/${name}`) : []);

describe('packs import only the SDK', () => {
  it('finds the packs', () => {
    expect(packs).toEqual(expect.arrayContaining(['general/http-ingest', 'manufacturing/mqtt', 'manufacturing/simulator', ...MOVING]));
  });

  for (const pack of packs.filter((p) => !MOVING.includes(p))) {
    it(`${pack} imports nothing from service/`, () => {
      expect(serviceImports(path.join(packsRoot, pack))).toEqual([]);
    });
  }

  for (const pack of MOVING) {
    it(`${pack} is still listed as moving only while it imports from service/`, () => {
      expect(serviceImports(path.join(packsRoot, pack)).length).toBeGreaterThan(0);
    });
  }

  it('the service imports no pack either: pack CLI commands are discovered, not imported', () => {
    const intoPacks: string[] = [];
    for (const file of sources(path.join(repoRoot, 'service/src'))) {
      for (const [, specifier] of fs.readFileSync(file, 'utf8').matchAll(IMPORT)) {
        if (specifier.startsWith('.') && !path.relative(packsRoot, path.resolve(path.dirname(file), specifier)).startsWith('..')) intoPacks.push(`${path.relative(repoRoot, file)}: ${specifier}`);
      }
    }
    expect(intoPacks).toEqual([]);
  });

  it('the check sees an import into service/ (it can fail)', () => {
    const dir = tempDir();
    const specifier = path.relative(dir, path.join(repoRoot, 'service/src/config/units.js'));
    fs.writeFileSync(path.join(dir, 'x.ts'), `import { parseDuration } from '${specifier}';\n`);
    expect(serviceImports(dir)).toEqual([`${path.relative(repoRoot, dir)}/x.ts: ${specifier}`]);
  });
});

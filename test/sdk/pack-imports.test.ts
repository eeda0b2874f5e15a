/**
 * Packs are written on the SDK alone: no file under packs/ imports from service/ (a third party
 * has no service source to import from).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

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
    expect(packs).toEqual(expect.arrayContaining(['general/http-ingest', 'manufacturing/mqtt', 'manufacturing/simulator', 'manufacturing/modbus']));
  });

  for (const pack of packs) {
    it(`${pack} imports nothing from service/`, () => {
      expect(serviceImports(path.join(packsRoot, pack))).toEqual([]);
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
    const specifier = path.relative(dir, path.join(repoRoot, 'service/src/paths.js'));
    fs.writeFileSync(path.join(dir, 'x.ts'), `import { parseDuration } from '${specifier}';\n`);
    expect(serviceImports(dir)).toEqual([`${path.relative(repoRoot, dir)}/x.ts: ${specifier}`]);
  });
});

// Where the native plugins of the repository are: every Rust crate whose crate-type has "cdylib",
// and every folder of .c files (one folder = one library), below the given roots. The build
// (deploy/build/native.mjs) and the packaging (deploy/package/native.mjs) find them the same way.
import fs from 'node:fs';
import path from 'node:path';

const skip = new Set(['node_modules', 'target', 'dist', '.git', 'plugins']);

function* walk(dir) {
  let entries;
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
  yield [dir, entries];
  for (const e of entries) if (e.isDirectory() && !skip.has(e.name)) yield* walk(path.join(dir, e.name));
}

export function discoverNative(root, roots) {
  const crates = [];
  const cFolders = [];
  for (const base of roots) {
    for (const [dir, entries] of walk(path.join(root, base))) {
      const names = entries.filter((e) => e.isFile()).map((e) => e.name);
      if (names.includes('Cargo.toml')) {
        const manifest = fs.readFileSync(path.join(dir, 'Cargo.toml'), 'utf8');
        if (/crate-type\s*=\s*\[[^\]]*"cdylib"/.test(manifest)) crates.push(dir);
      } else if (names.some((n) => n.endsWith('.c')) && !dir.includes(`${path.sep}src${path.sep}`)) {
        cFolders.push(dir);
      }
    }
  }
  return { crates, cFolders };
}

/** Every Rust crate below the given roots, libraries and plugins alike (for `cargo test`). */
export function discoverCrates(root, roots) {
  const crates = [];
  for (const base of roots) {
    for (const [dir, entries] of walk(path.join(root, base))) {
      if (entries.some((e) => e.isFile() && e.name === 'Cargo.toml')) crates.push(dir);
    }
  }
  return crates;
}

/** The .c files of a folder, in name order (one folder is one program or library). */
export const cSources = (dir) => fs.readdirSync(dir).filter((n) => n.endsWith('.c')).sort().map((n) => path.join(dir, n));

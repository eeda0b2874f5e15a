#!/usr/bin/env node
// Builds every native part of the repository: the plugin host (C), every Rust plugin crate
// (a Cargo.toml whose crate-type has "cdylib") and every C plugin folder (one folder of .c files =
// one library) found under the plugin roots, then puts the seed example's library where
// examples/seed/backworks.yaml expects it. New crates and folders are found, never listed here.
//
//   node deploy/build/native.mjs            build everything (release)
//   BW_NATIVE_ONLY=host node deploy/...     only the plugin host
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cSources, discoverNative } from './discover.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pluginRoots = ['packs', 'examples/plugins', 'test/fixtures/plugins'];
const sdkInclude = path.join(root, 'sdk/c');
const targetDir = path.join(root, 'target');

function run(cmd, args, cwd = root) {
  const started = Date.now();
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  return Date.now() - started;
}

const discover = () => discoverNative(root, pluginRoots);

/** The plugin host is every .c file of its folder (main.c and the files beside it). */
function buildHost() {
  const out = path.join(root, 'dist/native/bw-plugin-host');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const ms = run('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', `-I${sdkInclude}`,
    ...cSources(path.join(root, 'service/src/plugins/native/host')), '-o', out, '-ldl']);
  console.log(`native: plugin host -> ${path.relative(root, out)} (${ms} ms)`);
}

function buildCrate(dir) {
  const ms = run('cargo', ['build', '--release', '--quiet', '--manifest-path', path.join(dir, 'Cargo.toml'),
    '--target-dir', targetDir]);
  console.log(`native: crate ${path.relative(root, dir)} (${ms} ms)`);
  copyLibrary(dir);
}

/**
 * A crate whose Cargo.toml says `[package.metadata.backworks] copy_to = "plugins"` gets its library
 * copied into that folder (relative to the crate), where its sample.yaml's `path:` points.
 */
function copyLibrary(dir) {
  const manifest = fs.readFileSync(path.join(dir, 'Cargo.toml'), 'utf8');
  const copyTo = /\[package\.metadata\.backworks\][^[]*?copy_to\s*=\s*"([^"]+)"/.exec(manifest)?.[1];
  if (!copyTo) return;
  const libName = /\[lib\][^[]*?name\s*=\s*"([^"]+)"/.exec(manifest)?.[1]
    ?? /\[package\][^[]*?name\s*=\s*"([^"]+)"/.exec(manifest)[1].replace(/-/g, '_');
  const dest = path.join(dir, copyTo, `lib${libName}.so`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(path.join(targetDir, 'release', `lib${libName}.so`), dest);
  console.log(`native: ${path.relative(root, dest)}`);
}

/** One folder of .c files is one library, lib<folder>.so in the folder's target/ (gitignored). */
function buildCFolder(dir) {
  const name = path.basename(dir).replace(/-/g, '_');
  const sources = cSources(dir);
  const out = path.join(dir, 'target', `lib${name}.so`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const ms = run('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-pthread', `-I${sdkInclude}`, ...sources, '-o', out]);
  console.log(`native: C plugin ${path.relative(root, out)} (${ms} ms)`);
}

function placeSeedPlugin() {
  const from = path.join(targetDir, 'release/libmy_plugin.so');
  const dest = path.join(root, 'examples/seed/plugins/libmy_plugin.so');
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(from, dest);
  console.log(`native: ${path.relative(root, dest)}`);
}

/**
 * A crate whose sample.yaml loads `./plugins/libX.so` gets that library copied there (gitignored),
 * so the sample runs as written.
 */
function placeSampleLibraries(crates) {
  for (const dir of crates) {
    let sample;
    try { sample = fs.readFileSync(path.join(dir, 'sample.yaml'), 'utf8'); } catch { continue; }
    for (const [, name] of sample.matchAll(/path:\s*["']?\.\/plugins\/(lib[\w-]+\.so)/g)) {
      const from = path.join(targetDir, 'release', name);
      if (!fs.existsSync(from)) continue;
      const dest = path.join(dir, 'plugins', name);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(from, dest);
      console.log(`native: ${path.relative(root, dest)}`);
    }
  }
}

buildHost();
if (process.env.BW_NATIVE_ONLY !== 'host') {
  const { crates, cFolders } = discover();
  for (const dir of cFolders) buildCFolder(dir);
  for (const dir of crates) buildCrate(dir);
  placeSeedPlugin();
  placeSampleLibraries(crates);
}

// The native parts for one architecture: the plugin host, and the plugin libraries of packs/ and
// examples/plugins/ (C folders and Rust cdylib crates, found the way deploy/build/native.mjs finds
// them; test fixtures are not shipped). C is cross-compiled with the GNU cross compiler; Rust only
// when the target's standard library is installed (`rustup target add`), otherwise those plugins
// are left out of that architecture's package and reported.
import fs from 'node:fs';
import path from 'node:path';
import { ARCHES, cc, HOST_ARCH, runQuiet, rustCanTarget } from './arch.mjs';
import { cSources, discoverNative } from '../build/discover.mjs';

const roots = ['packs', 'examples/plugins'];
const discover = (root) => discoverNative(root, roots);

function crateLibrary(dir) {
  const manifest = fs.readFileSync(path.join(dir, 'Cargo.toml'), 'utf8');
  const name = /\[lib\][^[]*?name\s*=\s*"([^"]+)"/.exec(manifest)?.[1]
    ?? /\[package\][^[]*?name\s*=\s*"([^"]+)"/.exec(manifest)[1].replace(/-/g, '_');
  return `lib${name}.so`;
}

/**
 * Builds into `out` (bw-plugin-host and plugins/*.so) for `arch`; returns what was left out and why.
 */
export function buildNative(root, arch, out) {
  const sdk = path.join(root, 'sdk/c');
  const compiler = cc(arch);
  fs.mkdirSync(path.join(out, 'plugins'), { recursive: true });
  runQuiet(compiler, ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', `-I${sdk}`,
    ...cSources(path.join(root, 'service/src/plugins/native/host')), '-o', path.join(out, 'bw-plugin-host'), '-ldl']);

  const { crates, cFolders } = discover(root);
  for (const dir of cFolders) {
    const sources = cSources(dir);
    const lib = `lib${path.basename(dir).replace(/-/g, '_')}.so`;
    runQuiet(compiler, ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-pthread', `-I${sdk}`, ...sources, '-o', path.join(out, 'plugins', lib)]);
  }

  const omitted = [];
  const rust = rustCanTarget(arch);
  for (const dir of crates) {
    const lib = crateLibrary(dir);
    if (!rust) {
      omitted.push({ plugin: path.relative(root, dir), reason: `no Rust standard library for ${ARCHES[arch].rust} on this machine` });
      continue;
    }
    const crossArgs = arch === HOST_ARCH ? [] : ['--target', ARCHES[arch].rust];
    const env = { ...process.env, [`CARGO_TARGET_${ARCHES[arch].rust.toUpperCase().replace(/-/g, '_')}_LINKER`]: compiler };
    runQuiet('cargo', ['build', '--release', '--quiet', '--manifest-path', path.join(dir, 'Cargo.toml'),
      '--target-dir', path.join(root, 'target'), ...crossArgs], { cwd: root, env });
    const built = path.join(root, 'target', ...(crossArgs.length ? [ARCHES[arch].rust] : []), 'release', lib);
    fs.copyFileSync(built, path.join(out, 'plugins', lib));
  }
  return omitted;
}

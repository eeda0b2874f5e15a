// The native parts for one architecture: the plugin host, and the plugin libraries of packs/ and
// examples/plugins/ (C folders and Rust cdylib crates, found the way deploy/build/native.mjs finds
// them; test fixtures are not shipped). C is cross-compiled with the GNU cross compiler; Rust with
// the first toolchain that has the target's standard library (rustup's, else Debian's rustc-web
// with libstd-rust-web-dev:arm64; arch.mjs, rustToolchain), otherwise those plugins are left out
// of that architecture's package and reported.
import fs from 'node:fs';
import path from 'node:path';
import { ARCHES, cc, HOST_ARCH, runQuiet, rustToolchain } from './arch.mjs';
import { cSources, discoverNative } from '../build/discover.mjs';

const roots = ['packs', 'examples/plugins'];
const discover = (root) => discoverNative(root, roots);

function crateLibrary(dir) {
  const manifest = fs.readFileSync(path.join(dir, 'Cargo.toml'), 'utf8');
  const name = /\[lib\][^[]*?name\s*=\s*"([^"]+)"/.exec(manifest)?.[1]
    ?? /\[package\][^[]*?name\s*=\s*"([^"]+)"/.exec(manifest)[1].replace(/-/g, '_');
  return `lib${name}.so`;
}

/** The Rust plugins every package should carry: each crate's folder and the library it builds. */
export function rustPlugins(root) {
  return discover(root).crates.map((dir) => ({ dir, lib: crateLibrary(dir) }));
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

  for (const dir of discover(root).cFolders) {
    const sources = cSources(dir);
    const lib = `lib${path.basename(dir).replace(/-/g, '_')}.so`;
    runQuiet(compiler, ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-pthread', `-I${sdk}`, ...sources, '-o', path.join(out, 'plugins', lib)]);
  }

  const omitted = [];
  const rust = rustToolchain(arch);
  const target = ARCHES[arch].rust;
  const envTarget = target.replace(/-/g, '_'); // as cargo and the cc crate spell it in variable names
  for (const { dir, lib } of rustPlugins(root)) {
    if (!rust) {
      omitted.push({ plugin: path.relative(root, dir), reason: `no Rust standard library for ${target} on this machine (apt-get install rustc-web cargo-web libstd-rust-web-dev:${arch})` });
      continue;
    }
    const cross = arch !== HOST_ARCH;
    const targetDir = path.join(root, rust.targetDir);
    // Cross: the linker, and the C compiler and archiver of crates that build C for the target (ring).
    const env = { ...process.env, RUSTC: rust.rustc, [`CARGO_TARGET_${envTarget.toUpperCase()}_LINKER`]: compiler,
      ...(cross ? { [`CC_${envTarget}`]: compiler, [`AR_${envTarget}`]: `${ARCHES[arch].gnu}-ar` } : {}) };
    runQuiet(rust.cargo, ['build', '--release', '--quiet', '--manifest-path', path.join(dir, 'Cargo.toml'),
      '--target-dir', targetDir, ...(cross ? ['--target', target] : [])], { cwd: root, env });
    const built = path.join(targetDir, ...(cross ? [target] : []), 'release', lib);
    fs.copyFileSync(built, path.join(out, 'plugins', lib));
  }
  return omitted;
}

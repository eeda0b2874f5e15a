// The two architectures the .deb is built for, and each one's name in every toolchain involved.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ARCHES = {
  amd64: { node: 'x64', koffi: 'linux_x64', gnu: 'x86_64-linux-gnu', rust: 'x86_64-unknown-linux-gnu', elf: 'x86-64' },
  arm64: { node: 'arm64', koffi: 'linux_arm64', gnu: 'aarch64-linux-gnu', rust: 'aarch64-unknown-linux-gnu', elf: 'ARM aarch64' },
};

/** The machine building the package, as a Debian architecture. */
export const HOST_ARCH = execFileSync('dpkg', ['--print-architecture']).toString().trim();

/** Downloads and built addons are kept here between runs, outside the repository. */
export const CACHE = process.env.BACKWORKS_CACHE ?? path.join(os.homedir(), '.cache/backworks');

/** The C compiler for `arch`: gcc on the host's own architecture, the GNU cross compiler otherwise. */
export function cc(arch) {
  return arch === HOST_ARCH ? 'gcc' : `${ARCHES[arch].gnu}-gcc`;
}

export function cxx(arch) {
  return arch === HOST_ARCH ? 'g++' : `${ARCHES[arch].gnu}-g++`;
}

/**
 * The Rust toolchain that can build for `arch` here, or null: the default one (rustup's, on PATH)
 * when its standard library for that target is installed, else Debian's rustc-web/cargo-web
 * (/usr/bin/rustc and /usr/bin/cargo, with libstd-rust-web-dev:ARCH for a foreign architecture).
 * `targetDir` keeps each toolchain's build output apart: the two compilers' artefacts do not mix.
 */
export function rustToolchain(arch) {
  const candidates = [
    { cargo: 'cargo', rustc: 'rustc', targetDir: 'target' },
    { cargo: '/usr/bin/cargo', rustc: '/usr/bin/rustc', targetDir: 'target/debian-rustc' },
  ];
  return candidates.find(({ rustc }) => hasStd(rustc, ARCHES[arch].rust)) ?? null;
}

function hasStd(rustc, target) {
  try {
    const dir = execFileSync(rustc, ['--print', 'target-libdir', '--target', target], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return fs.existsSync(dir) && fs.readdirSync(dir).some((n) => n.startsWith('libstd-'));
  } catch {
    return false;
  }
}

export function run(cmd, args, options = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

/** Runs a noisy build step: its output is shown only when it fails. */
export function runQuiet(cmd, args, options = {}) {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...options });
  } catch (err) {
    process.stderr.write(`${err.stdout ?? ''}${err.stderr ?? ''}`);
    throw new Error(`${cmd} ${args.join(' ')} failed (output above)`);
  }
}

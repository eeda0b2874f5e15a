#!/usr/bin/env node
// Makes sure the Debian packages the tests need are installed (test/debian-packages.txt, and with
// --packaging also test/debian-packages-packaging.txt).
// As root it installs what is missing; otherwise it prints the one command to run and fails.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const lists = ['./debian-packages.txt', ...(process.argv.includes('--packaging') ? ['./debian-packages-packaging.txt'] : [])];
const wanted = lists.flatMap((list) => fs.readFileSync(new URL(list, import.meta.url), 'utf8')
  .split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean));

const installed = (pkg) => {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().includes('install ok installed');
  } catch { return false; }
};

if (!fs.existsSync('/usr/bin/dpkg-query')) {
  console.error('preflight: not a Debian system; install the equivalents of test/debian-packages.txt yourself');
  process.exit(0);
}
const missing = wanted.filter((p) => !installed(p));
const hasCargo = (() => { try { execFileSync('cargo', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
if (!hasCargo) missing.push('cargo');
if (!missing.length) process.exit(0);

if (process.getuid?.() !== 0) {
  console.error(`preflight: the tests need these Debian packages: ${missing.join(' ')}\nrun: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.log(`preflight: installing ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });

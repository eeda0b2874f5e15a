#!/usr/bin/env node
// Makes sure the Debian packages the tests need are installed (test/debian-packages.txt, and with
// --packaging also test/debian-packages-packaging.txt).
// As root it installs what is missing; otherwise it prints the one command to run and fails.
// A `name:arch` line (only in the packaging list: `libstd-rust-web-dev:arm64`) is a package of a
// foreign architecture: when one is missing, that architecture is added to dpkg first.
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

// Foreign architectures the missing packages need and dpkg does not know yet.
const known = execFileSync('dpkg', ['--print-foreign-architectures']).toString().split('\n').map((a) => a.trim()).filter(Boolean);
known.push(execFileSync('dpkg', ['--print-architecture']).toString().trim());
const addArches = [...new Set(missing.map((p) => p.split(':')[1]).filter((a) => a && !known.includes(a)))];

if (process.getuid?.() !== 0) {
  const add = addArches.map((a) => `sudo dpkg --add-architecture ${a} && `).join('');
  console.error(`preflight: the tests need these Debian packages: ${missing.join(' ')}\nrun: ${add}sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.log(`preflight: installing ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const arch of addArches) {
  console.log(`preflight: dpkg --add-architecture ${arch}`);
  execFileSync('dpkg', ['--add-architecture', arch], { stdio: 'inherit' });
}
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });

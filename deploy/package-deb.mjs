#!/usr/bin/env node
// Builds dist/backworks_VERSION_ARCH.deb for amd64 and arm64, each self-contained: the Node.js
// runtime, the compiled service, production node_modules with addons built for that runtime and
// architecture, the plugin host and native plugins, the systemd unit and the shipped config.
//
//   npm run package:deb                  both architectures (after npm run build:ts)
//   npm run package:deb -- amd64         one
//
// Downloads and compiled addons are cached in ~/.cache/backworks (BACKWORKS_CACHE), outside git.
// xz level 1 by default (40 s instead of 3 min for 20% more bytes); BACKWORKS_XZ_LEVEL=9 for a release.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { ARCHES, HOST_ARCH, run } from './package/arch.mjs';
import { buildNative } from './package/native.mjs';
import { productionModules } from './package/node-modules.mjs';
import { NODE_VERSION, nodeRuntime } from './package/runtime.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const debian = path.join(root, 'deploy/debian');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const LIB = 'usr/lib/backworks';
const SHARE = 'usr/share/backworks';

const arches = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(ARCHES);
for (const arch of arches) if (!ARCHES[arch]) throw new Error(`unknown architecture "${arch}"; known: ${Object.keys(ARCHES).join(', ')}`);
if (!fs.existsSync(path.join(root, 'dist/service/src/cli.js'))) throw new Error('dist/ is missing: run "npm run build:ts" first');

for (const arch of arches) {
  const started = Date.now();
  const stage = path.join(root, 'dist/deb', arch);
  fs.rmSync(stage, { recursive: true, force: true });
  const omitted = stageTree(stage, arch);
  writeControl(stage, arch);
  normalizeModes(stage);
  const deb = path.join(root, 'dist', `backworks_${pkg.version}_${arch}.deb`);
  run('dpkg-deb', ['--root-owner-group', '-Zxz', `-z${process.env.BACKWORKS_XZ_LEVEL ?? 1}`, '--build', stage, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  const mb = (fs.statSync(deb).size / 1e6).toFixed(1);
  console.log(`package: ${path.relative(root, deb)} (${mb} MB, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  for (const o of omitted) console.log(`  left out of ${arch}: ${o.plugin} (${o.reason})`);
}

function stageTree(stage, arch) {
  const lib = path.join(stage, LIB);
  const share = path.join(stage, SHARE);
  const copy = (from, to, filter) => fs.cpSync(path.join(root, from), to, { recursive: true, filter: filter ?? (() => true) });
  const noBuildOutput = (src) => !/(^|\/)(target|node_modules)(\/|$)/.test(path.relative(root, src)) && !src.endsWith('.map');

  // The service: package.json (the version, "type": "module") and the compiled JavaScript.
  const { devDependencies: _dev, scripts: _scripts, ...manifest } = pkg;
  fs.mkdirSync(lib, { recursive: true });
  fs.writeFileSync(path.join(lib, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const part of ['service', 'packs', 'sdk']) copy(`dist/${part}`, path.join(lib, 'dist', part), (src) => !src.endsWith('.map'));
  // The console's page: plain files, served from where the service finds them (paths.ts).
  copy('service/src/console/static', path.join(lib, 'service/src/console/static'));

  const runtime = nodeRuntime(arch);
  fs.mkdirSync(path.join(lib, 'node/bin'), { recursive: true });
  fs.copyFileSync(path.join(runtime, 'bin/node'), path.join(lib, 'node/bin/node'));
  fs.copyFileSync(path.join(runtime, 'LICENSE'), path.join(lib, 'node/LICENSE'));
  productionModules(root, arch, path.join(lib, 'node_modules'));

  const native = path.join(root, 'dist/deb', `${arch}-native`);
  fs.rmSync(native, { recursive: true, force: true });
  const omitted = buildNative(root, arch, native);
  fs.mkdirSync(path.join(lib, 'dist/native'), { recursive: true });
  fs.copyFileSync(path.join(native, 'bw-plugin-host'), path.join(lib, 'dist/native/bw-plugin-host'));
  fs.cpSync(path.join(native, 'plugins'), path.join(lib, 'plugins'), { recursive: true });
  strip(arch, [path.join(lib, 'dist/native/bw-plugin-host'), path.join(lib, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'),
    path.join(lib, 'node_modules/koffi/build/koffi', ARCHES[arch].koffi, 'koffi.node'),
    ...fs.readdirSync(path.join(lib, 'plugins')).map((n) => path.join(lib, 'plugins', n))]);

  // Architecture-independent data in /usr/share, where the service finds it through symlinks.
  copy('firmware-profiles', path.join(share, 'firmware-profiles'));
  copy('sdk', path.join(share, 'sdk'), noBuildOutput);
  fs.symlinkSync(`../../share/backworks/firmware-profiles`, path.join(lib, 'firmware-profiles'));
  fs.symlinkSync(`../../share/backworks/sdk`, path.join(lib, 'sdk'));
  const examples = path.join(share, 'examples');
  copy('examples', examples, (src) => noBuildOutput(src) && !/examples\/seed\/plugins/.test(src));
  fs.symlinkSync('../../../../lib/backworks/plugins', path.join(examples, 'seed/plugins'));
  for (const industry of fs.readdirSync(path.join(root, 'packs'))) {
    for (const name of fs.readdirSync(path.join(root, 'packs', industry))) {
      for (const file of ['README.md', 'sample.yaml']) {
        const from = path.join(root, 'packs', industry, name, file);
        if (!fs.existsSync(from)) continue;
        fs.mkdirSync(path.join(examples, 'packs', industry, name), { recursive: true });
        fs.copyFileSync(from, path.join(examples, 'packs', industry, name, file));
      }
    }
  }

  install('deploy/debian/backworks.wrapper', path.join(stage, 'usr/bin/backworks'));
  install('deploy/systemd/backworks.service', path.join(stage, 'lib/systemd/system/backworks.service'));
  install('deploy/debian/backworks.yaml', path.join(stage, 'etc/backworks/backworks.yaml'));
  const doc = path.join(stage, 'usr/share/doc/backworks');
  install('deploy/debian/copyright', path.join(doc, 'copyright'));
  install('deploy/README.md', path.join(doc, 'README.md'));
  fs.writeFileSync(path.join(doc, 'changelog.gz'), zlib.gzipSync(changelog(), { level: 9 }));
  install('deploy/debian/lintian-overrides', path.join(stage, 'usr/share/lintian/overrides/backworks'));
  return omitted;
}

function install(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(root, from), to);
}

/** Strips debug symbols from what this build compiled (the official node binary stays as published). */
function strip(arch, files) {
  const tool = arch === HOST_ARCH ? 'strip' : `${ARCHES[arch].gnu}-strip`;
  run(tool, ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', ...files]);
}

/** A native package's changelog: one entry for this version (the git history holds the detail). */
function changelog() {
  let date;
  try { date = execFileSync('git', ['log', '-1', '--format=%aD'], { cwd: root }).toString().trim(); } catch { date = new Date().toUTCString(); }
  return `backworks (${pkg.version}) unstable; urgency=medium\n\n  * Release ${pkg.version}, with Node.js ${NODE_VERSION}.\n\n -- Backworks maintainers <maintainers@backworks.invalid>  ${date.replace('GMT', '+0000')}\n`;
}

function writeControl(stage, arch) {
  const control = path.join(stage, 'DEBIAN');
  fs.mkdirSync(control, { recursive: true });
  const installedKb = Math.ceil(duBytes(stage) / 1024);
  fs.writeFileSync(path.join(control, 'control'), fs.readFileSync(path.join(debian, 'control.in'), 'utf8')
    .replace('@VERSION@', pkg.version).replace('@ARCH@', arch).replace('@INSTALLED_SIZE@', String(installedKb))
    .replace('@NODE_VERSION@', NODE_VERSION));
  for (const file of ['conffiles', 'postinst', 'prerm', 'postrm']) fs.copyFileSync(path.join(debian, file), path.join(control, file));
  const sums = [];
  for (const file of walkFiles(stage)) {
    const rel = path.relative(stage, file);
    if (rel.startsWith('DEBIAN/') || rel.startsWith('etc/')) continue;
    sums.push(`${createHash('md5').update(fs.readFileSync(file)).digest('hex')}  ${rel}`);
  }
  fs.writeFileSync(path.join(control, 'md5sums'), `${sums.sort().join('\n')}\n`);
}

/**
 * 0755 for folders and ELF executables, 0644 for the rest, the maintainer scripts and
 * /usr/bin/backworks executable. npm's bin scripts stay plain files: the bundled node runs them.
 */
function normalizeModes(stage) {
  for (const entry of walkAll(stage)) {
    const st = fs.lstatSync(entry);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) fs.chmodSync(entry, 0o755);
    else fs.chmodSync(entry, isExecutable(entry, st) ? 0o755 : 0o644);
  }
}

function isExecutable(file, st) {
  const rel = file.split(`${path.sep}DEBIAN${path.sep}`)[1];
  if (rel) return ['postinst', 'prerm', 'postrm'].includes(rel);
  if (file.endsWith(`${path.sep}usr${path.sep}bin${path.sep}backworks`)) return true;
  if (!(st.mode & 0o111)) return false;
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
}

function* walkAll(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    yield p;
    if (e.isDirectory()) yield* walkAll(p);
  }
}

function* walkFiles(dir) {
  for (const p of walkAll(dir)) if (fs.lstatSync(p).isFile()) yield p;
}

function duBytes(dir) {
  let total = 0;
  for (const p of walkAll(dir)) total += fs.lstatSync(p).isFile() ? fs.lstatSync(p).size : 0;
  return total;
}

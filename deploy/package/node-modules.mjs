// Production node_modules for one architecture: `npm ci --omit=dev` for that CPU, then every native
// addon made right for the bundled runtime: better-sqlite3 compiled against its headers (cross-compiled
// for arm64), koffi and serialport reduced to their prebuilt binary for the architecture.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ARCHES, CACHE, cc, cxx, HOST_ARCH, run, runQuiet } from './arch.mjs';
import { NODE_VERSION, nodeRuntime } from './runtime.mjs';

const nodeGyp = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');

/** Copies a ready node_modules for `arch` into `dest` (built once per lock file, then cached). */
export function productionModules(root, arch, dest) {
  const lock = fs.readFileSync(path.join(root, 'package-lock.json'));
  // The recipe (this file) is part of the key: a changed build step must not reuse an old cache.
  const key = createHash('sha256').update(lock).update(NODE_VERSION).update(fs.readFileSync(new URL(import.meta.url))).digest('hex').slice(0, 16);
  const cached = path.join(CACHE, 'node_modules', `${key}-${arch}`);
  if (!fs.existsSync(path.join(cached, '.complete'))) build(root, arch, cached);
  fs.cpSync(path.join(cached, 'node_modules'), dest, { recursive: true, verbatimSymlinks: true });
  prune(dest);
}

/** Folders and files of npm packages that only serve their authors (tests, docs, tool configs). */
// Never 'doc' or 'lib'-like names: yaml keeps code in dist/doc. Test folders are not imported at run time.
const PRUNED_DIRS = new Set(['test', 'tests', '__tests__', '.github', '.vscode']);
const PRUNED_FILES = /^(\.eslintrc.*|\.npmignore|\.gitattributes|\.gitignore|\.editorconfig|\.travis\.yml|\.prettierrc.*|\.nycrc.*|\.taprc|tsconfig.*\.json|.*\.py|.*\.sh|.*\.html)$/;

function prune(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (PRUNED_DIRS.has(entry.name)) fs.rmSync(p, { recursive: true, force: true });
      else prune(p);
    } else if (PRUNED_FILES.test(entry.name)) {
      fs.rmSync(p);
    }
  }
}

function build(root, arch, out) {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(root, file), path.join(out, file));
  // --ignore-scripts: no install script may download or compile for the build machine; the
  // addons are made below for the target. --cpu/--os pick the optional packages of the target.
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error',
    `--cpu=${ARCHES[arch].node}`, '--os=linux', '--libc=glibc'], { cwd: out });
  const modules = path.join(out, 'node_modules');
  buildBetterSqlite3(path.join(modules, 'better-sqlite3'), arch);
  keepOnly(path.join(modules, 'koffi/build/koffi'), [ARCHES[arch].koffi]);
  keepOnly(path.join(modules, '@serialport/bindings-cpp/prebuilds'), [`linux-${ARCHES[arch].node}`]);
  for (const dir of fs.readdirSync(path.join(modules, '@serialport/bindings-cpp/prebuilds'))) {
    for (const file of fs.readdirSync(path.join(modules, '@serialport/bindings-cpp/prebuilds', dir))) {
      if (file.includes('musl')) fs.rmSync(path.join(modules, '@serialport/bindings-cpp/prebuilds', dir, file));
    }
  }
  // Sources and build trees of addons are not needed at run time (koffi's src is 20 MB).
  for (const dir of ['koffi/src', 'koffi/vendor', 'koffi/doc', 'koffi/lib', '@serialport/bindings-cpp/src']) {
    fs.rmSync(path.join(modules, dir), { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(out, '.complete'), new Date().toISOString());
}

/**
 * Compiles better-sqlite3 (its bundled SQLite) against the bundled runtime's headers, for `arch`,
 * with ObjectWrap as addonHeaders() gives it; on the build machine's own architecture the addon is
 * then loaded under the bundled node.
 */
function buildBetterSqlite3(dir, arch) {
  const runtime = addonHeaders(nodeRuntime(arch));
  const env = { ...process.env, CC: cc(arch), CXX: cxx(arch), LINK: cxx(arch) };
  // `npm run` exports the user's npm config (a machine may set nodedir=/usr); node-gyp would take
  // those headers over --nodedir and build for the build machine's Node instead of the runtime.
  for (const key of Object.keys(env)) if (/^npm_config_(nodedir|target|arch|runtime|dist_url|devdir)$/i.test(key)) delete env[key];
  if (arch !== HOST_ARCH) Object.assign(env, { AR: `${ARCHES[arch].gnu}-ar`, CC_host: 'gcc', CXX_host: 'g++' });
  runQuiet(process.execPath, [nodeGyp, 'rebuild', '--release', `--nodedir=${runtime}`, `--arch=${ARCHES[arch].node}`, '--jobs=2'], { cwd: dir, env });
  const addon = path.join(dir, 'build/Release/better_sqlite3.node');
  if (!fs.existsSync(addon)) throw new Error(`better-sqlite3 did not build for ${arch}`);
  const keep = fs.readFileSync(addon);
  if (keep.includes('RemoveEnvironmentCleanupHook')) throw new Error(`better-sqlite3 for ${arch} still removes ObjectWrap cleanup hooks (see addonHeaders)`);
  // Keep the addon, drop the 9 MB SQLite amalgamation and the object files.
  fs.rmSync(path.join(dir, 'build'), { recursive: true, force: true });
  fs.rmSync(path.join(dir, 'deps'), { recursive: true, force: true });
  fs.rmSync(path.join(dir, 'src'), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'build/Release'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'build/Release/better_sqlite3.node'), keep);
  if (arch === HOST_ARCH) runQuiet(path.join(nodeRuntime(arch), 'bin/node'), ['-e', LOAD_CHECK], { cwd: path.dirname(dir) });
}

/**
 * Node 24's node_object_wrap.h registers an environment cleanup hook for every ObjectWrap and
 * removes it in the destructor. V8 runs that destructor from a GC weak callback outside any
 * context, where node finds no Environment and aborts the process (`RemoveEnvironmentCleanupHook:
 * Assertion (env) != nullptr`): better-sqlite3's collected statements did this within seconds.
 * Addons are compiled against a copy of the runtime's headers whose ObjectWrap has no hook, as
 * in Node 22: a wrapper still alive at exit is released with the process. Throws when the header
 * calls the hooks in a way this patch does not recognise.
 */
function addonHeaders(runtime) {
  const dir = `${runtime}-addon-headers`;
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(path.join(runtime, 'include'), path.join(dir, 'include'), { recursive: true });
  const header = path.join(dir, 'include/node/node_object_wrap.h');
  const text = fs.readFileSync(header, 'utf8');
  const patched = text.replace(/(ObjectWrap\(\) \{\s*refs_ = 0;)\s*AddCleanupHook\(\);/, '$1')
    .replace(/(virtual ~ObjectWrap\(\) \{)\s*RemoveCleanupHook\(\);/, '$1');
  if ((patched.match(/CleanupHook\(\);/g) ?? []).length !== 0) throw new Error(`${header}: ObjectWrap no longer looks as expected; check whether the runtime still needs addonHeaders()`);
  fs.writeFileSync(header, patched);
  fs.writeFileSync(path.join(dir, '.complete'), '');
  return dir;
}

/** Loads the addon under the bundled node: a build against the wrong headers fails here, not on a gateway. */
const LOAD_CHECK = "require('./better-sqlite3')(':memory:').prepare('SELECT 1').get()";

function keepOnly(dir, names) {
  if (!fs.existsSync(dir)) throw new Error(`${dir} is missing: has the package changed its layout?`);
  for (const name of fs.readdirSync(dir)) if (!names.includes(name)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  for (const name of names) if (!fs.existsSync(path.join(dir, name))) throw new Error(`${dir} has no ${name}`);
}

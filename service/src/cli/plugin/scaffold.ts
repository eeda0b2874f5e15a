import fs from 'node:fs';
import path from 'node:path';
import { BackworksError } from '../../errors.js';
import { packageRoot } from '../../paths.js';

/**
 * Plugin templates live in sdk/templates/<lang>/{common,<template>}/ as FILE.tmpl (so no build,
 * test runner or cargo ever mistakes a template for a real plugin); `{{placeholder}}`s are
 * filled in and `.tmpl` dropped. A TypeScript plugin in packs/<industry>/<name>/ is a pack, found by
 * its folder; one anywhere else is a standalone npm project (the `standalone` layer) built against
 * the SDK package and loaded with `type: typescript`.
 */
export const LANGS = ['rust', 'c', 'ts'] as const;
export const TEMPLATES = ['endpoint', 'connector', 'hook'] as const;
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export interface ScaffoldOptions {
  name: string;
  lang: string;
  template: string;
  dir?: string;
  industry?: string;
  description?: string;
}

export const templatesRoot = path.join(packageRoot, 'sdk/templates');

function* walk(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(file);
    else if (entry.name.endsWith('.tmpl')) yield file;
  }
}

/** Relative path for a source import ("./x" style, forward slashes). */
function importPath(from: string, to: string): string {
  const rel = path.relative(from, to).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

export function scaffoldPlugin(options: ScaffoldOptions): { dir: string; files: string[]; next: string[] } {
  const { name, lang, template } = options;
  if (!NAME.test(name)) throw new BackworksError('BW_ERR_CONFIG_INVALID', `plugin name "${name}": use lowercase letters, digits and dashes, starting with a letter (e.g. line-counter)`);
  if (!(LANGS as readonly string[]).includes(lang)) throw new BackworksError('BW_ERR_CONFIG_INVALID', `--lang ${lang}: choose one of ${LANGS.join(', ')}`);
  if (!(TEMPLATES as readonly string[]).includes(template)) throw new BackworksError('BW_ERR_CONFIG_INVALID', `--template ${template}: choose one of ${TEMPLATES.join(', ')}`);
  const industry = options.industry ?? 'general';
  if (lang === 'ts' && !/^[a-z0-9-]+$/.test(industry)) throw new BackworksError('BW_ERR_CONFIG_INVALID', `--industry ${industry}: lowercase letters, digits and dashes`);
  const dir = path.resolve(options.dir ?? (lang === 'ts' ? path.join('packs', industry, name) : name));
  if (fs.existsSync(dir) && fs.readdirSync(dir).length) throw new BackworksError('BW_ERR_CONFIG_INVALID', `${dir} exists and is not empty; choose another --dir`);

  // A TypeScript plugin outside a packs/<industry>/ folder is its own npm project built against the SDK package.
  const standalone = lang === 'ts' && path.basename(path.dirname(path.dirname(dir))) !== 'packs';
  const ident = name.replace(/-/g, '_');
  const values: Record<string, string> = {
    name, ident, industry, template,
    Class: name.split('-').map((p) => p[0].toUpperCase() + p.slice(1)).join(''),
    description: (options.description ?? `${name}: a Backworks ${template} plugin`).replace(/["\\]/g, ''),
    sdk_rust: path.join(packageRoot, 'sdk/rust/backworks-plugin-sdk'),
    sdk_include: path.join(packageRoot, 'sdk/c'),
    sdk_ts: standalone ? '@backworks/plugin-sdk' : importPath(dir, path.join(packageRoot, 'sdk/typescript/index.js')),
  };
  const fill = (text: string) => text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);

  const files: string[] = [];
  for (const layer of ['common', template, ...(standalone ? ['standalone'] : [])]) {
    const base = path.join(templatesRoot, lang, layer);
    if (!fs.existsSync(base)) continue;
    for (const source of walk(base)) {
      const relative = fill(path.relative(base, source).slice(0, -'.tmpl'.length));
      const target = path.join(dir, relative);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, fill(fs.readFileSync(source, 'utf8')));
      files.push(relative);
    }
  }
  const next = {
    rust: ['cargo test', 'cargo build --release', `backworks plugin inspect target/release/lib${ident}.so`],
    c: ['make test', `backworks plugin inspect lib${ident}.so`],
    ts: standalone
      ? [`cd ${dir}`, 'npm install @backworks/plugin-sdk && npm install --save-dev typescript @types/node', 'npm run build', `add to backworks.yaml: plugins: {${name}: {type: typescript, module: ${path.join(dir, 'dist/index.js')}}}`]
      : [`npx vitest run ${path.relative(process.cwd(), dir) || '.'}`, `add to backworks.yaml: plugins: {${name}: {type: builtin, pack: ${industry}/${name}}}`],
  }[lang as (typeof LANGS)[number]];
  return { dir, files: files.sort(), next };
}

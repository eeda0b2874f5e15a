import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PluginModule } from '../../../sdk/typescript/index.js';
import { moduleExtension, packsRoot } from '../paths.js';

/** Every pack as "INDUSTRY/NAME", from the folders that hold an index module. */
export function listPacks(): string[] {
  const packs: string[] = [];
  for (const industry of safeReaddir(packsRoot)) {
    for (const name of safeReaddir(path.join(packsRoot, industry))) {
      if (fs.existsSync(path.join(packsRoot, industry, name, `index${moduleExtension}`))) packs.push(`${industry}/${name}`);
    }
  }
  return packs.sort();
}

export function importPack(pack: string): Promise<PluginModule> {
  return importPluginModule(path.join(packsRoot, pack, `index${moduleExtension}`));
}

/** A TypeScript plugin module, first-party (a pack) or built elsewhere against the SDK package. */
export async function importPluginModule(file: string): Promise<PluginModule> {
  const mod = (await import(pathToFileURL(file).href)) as PluginModule;
  if (typeof mod.default !== 'function') throw new Error(`${file} has no default export returning a plugin (export default function create(): BackworksPlugin)`);
  return mod;
}

function safeReaddir(dir: string): string[] {
  try { return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name); } catch { return []; }
}

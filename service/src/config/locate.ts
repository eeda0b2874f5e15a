import fs from 'node:fs';
import path from 'node:path';

export const DEFAULT_CONFIG_PATHS = ['./backworks.yaml', '/etc/backworks/backworks.yaml'];

/** `-c FILE` when given; else ./backworks.yaml, then /etc/backworks/backworks.yaml. */
export function locateConfig(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  const found = DEFAULT_CONFIG_PATHS.find((p) => fs.existsSync(p));
  return path.resolve(found ?? DEFAULT_CONFIG_PATHS[0]);
}

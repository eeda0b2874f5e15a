import { YamlSource, type ConfigIssue } from '../../../sdk/typescript/yaml.js';

/** Largest backworks.yaml we read: a hand-edited file is a few KB; anything near this is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

// The console's editor names issues by this module; the type itself is the SDK's.
export type { ConfigIssue };

/** Reads backworks.yaml with the SDK's YamlSource, in the words of the CLI (-c FILE). */
export function readConfigSource(file: string): { source?: YamlSource; issues: ConfigIssue[] } {
  return YamlSource.read(file, {
    what: 'configuration file',
    maxBytes: MAX_CONFIG_BYTES,
    missingHint: 'create it or pass another with -c FILE',
    folderHint: (dir) => `pass the file itself, e.g. -c ${dir.replace(/\/$/, '')}/backworks.yaml`,
  });
}

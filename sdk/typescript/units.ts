/** Durations ("500ms", "2s", "5m", "1h", "7d") and sizes ("512KB", "64MB", "1GB") as written in backworks.yaml. */

export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$';
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?(B|KB|MB|GB|TB)$';

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_BYTES: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** Milliseconds in a duration string. Throws on anything the schema would refuse. */
export function parseDuration(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration; write e.g. 500ms, 2s, 5m, 1h or 7d`);
  return Math.round(Number(m[1]) * DURATION_MS[m[2]]);
}

/** Bytes in a size string. Throws on anything the schema would refuse. */
export function parseSize(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(B|KB|MB|GB|TB)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a size; write e.g. 512KB, 64MB or 1GB`);
  return Math.round(Number(m[1]) * SIZE_BYTES[m[2]]);
}

/** A device, point or item name as config files write it: starts with a letter or digit. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

/** JSON Schema of a duration key, for a plugin's `configSchema`; `def` is filled in when the key is absent. */
export function durationSchema(description: string, def?: string): { type: 'string'; pattern: string; description: string; default?: string } {
  return { type: 'string', pattern: DURATION_PATTERN, description: `${description} (e.g. 500ms, 2s, 5m)`, ...(def ? { default: def } : {}) };
}

/** JSON Schema of a size key, for a plugin's `configSchema`; `def` is filled in when the key is absent. */
export function sizeSchema(description: string, def?: string): { type: 'string'; pattern: string; description: string; default?: string } {
  return { type: 'string', pattern: SIZE_PATTERN, description: `${description} (e.g. 512KB, 64MB)`, ...(def ? { default: def } : {}) };
}

import { Type } from '@sinclair/typebox';
import { DURATION_PATTERN, SIZE_PATTERN } from '../units.js';

// Durations and sizes as the schema writes them; sections import these from here, not from
// schema.ts, to avoid an import cycle (schema.ts re-exports them for packs).
export const Duration = (description: string, def?: string) =>
  Type.String({ pattern: DURATION_PATTERN, description: `${description} (e.g. 500ms, 2s, 5m)`, ...(def ? { default: def } : {}) });
export const Size = (description: string, def?: string) =>
  Type.String({ pattern: SIZE_PATTERN, description: `${description} (e.g. 512KB, 64MB)`, ...(def ? { default: def } : {}) });

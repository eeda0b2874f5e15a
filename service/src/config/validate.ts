import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { ConfigSchema, PACK_PATTERN } from './schema.js';
import type { ConfigIssue, ConfigPath, YamlSource } from '../../../sdk/typescript/yaml.js';
import { validateAgainst as validateWithSdk } from '../../../sdk/typescript/validate.js';

/** Shared with deploy/build/config-validator.mjs, which compiles the config schema at build time. */
export { AJV_OPTIONS } from '../../../sdk/typescript/validate.js';
export const PRECOMPILED_FILE = 'config-validator.cjs';

/** Patterns of backworks.yaml's own schema, in words. */
const PATTERN_WORDS: Record<string, string> = {
  [PACK_PATTERN]: 'INDUSTRY/NAME in lower case, such as manufacturing/modbus',
  '^/': 'a path that starts with /, such as /readings',
  '^[^/+#]+$': 'one MQTT topic level: no /, + or #',
  '^[^+#$][^+#]*$': 'an MQTT topic prefix without + or # that does not start with $, such as backworks/_ops/',
};

/** The config schema's validator from the build when there is one (dist/); under the sources it is compiled. */
function precompiled(): ValidateFunction | undefined {
  const file = new URL(PRECOMPILED_FILE, import.meta.url);
  return fs.existsSync(file) ? createRequire(import.meta.url)(fileURLToPath(file)) as ValidateFunction : undefined;
}

/** The SDK's validation (the one packs use) with backworks.yaml's pattern words and precompiled schema. */
export function validateAgainst(schema: object, value: unknown, source: YamlSource, base: ConfigPath = []): ConfigIssue[] {
  return validateWithSdk(schema, value, source, base, { patternWords: PATTERN_WORDS, ...(schema === ConfigSchema ? { precompiled } : {}) });
}

import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ConfigSchema } from './schema.js';
import type { ConfigIssue, ConfigPath, YamlSource } from './source.js';
import { didYouMean } from './suggest.js';
import { DURATION_PATTERN, SIZE_PATTERN } from './units.js';

/** Shared with deploy/build/config-validator.mjs, which compiles the config schema at build time. */
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: false, verbose: true } as const;
export const PRECOMPILED_FILE = 'config-validator.cjs';

const ajv = new Ajv(AJV_OPTIONS);
const compiled = new WeakMap<object, ValidateFunction>();

/** The config schema's validator from the build when there is one (dist/), else compiled here (sources). */
function compile(schema: object): ValidateFunction {
  const precompiled = new URL(PRECOMPILED_FILE, import.meta.url);
  if (schema === ConfigSchema && fs.existsSync(precompiled)) return createRequire(import.meta.url)(fileURLToPath(precompiled)) as ValidateFunction;
  return ajv.compile(schema);
}

/**
 * Validates `value` (the part of the file at `base`) against a JSON Schema and turns every ajv
 * error into a message a technician understands, located at the offending key or value.
 */
export function validateAgainst(schema: object, value: unknown, source: YamlSource, base: ConfigPath = []): ConfigIssue[] {
  let validate = compiled.get(schema);
  if (!validate) { validate = compile(schema); compiled.set(schema, validate); }
  if (validate(value)) return [];
  return dedupe(validate.errors ?? []).map((e) => describe(e, source, base));
}

function describe(e: ErrorObject, source: YamlSource, base: ConfigPath): ConfigIssue {
  const path = [...base, ...pointerToPath(e.instancePath)];
  const name = path.length ? String(path[path.length - 1]) : 'the file';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      return source.issue([...path, key], `unknown key "${key}"${didYouMean(key, allowed)}${allowed.length && !didYouMean(key, allowed) ? `; allowed here: ${allowed.join(', ')}` : ''}`, 'key');
    }
    case 'required':
      return source.issue(path, `${path.length ? `"${name}"` : 'the file'} is missing the required key "${String(p.missingProperty)}"`, 'key');
    case 'type':
      return source.issue(path, `"${name}" must be ${article(String(p.type))}, got ${show(source, path)}`);
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum': {
      const s = e.parentSchema as { minimum?: number; maximum?: number };
      const range = s.minimum !== undefined && s.maximum !== undefined ? `between ${s.minimum} and ${s.maximum}` : `${e.keyword.includes('inimum') ? '>=' : '<='} ${String(p.limit)}`;
      return source.issue(path, `"${name}" must be ${range}, got ${show(source, path)}`);
    }
    case 'pattern': {
      const what = p.pattern === DURATION_PATTERN ? 'a duration such as 500ms, 2s, 5m, 1h or 7d'
        : p.pattern === SIZE_PATTERN ? 'a size such as 512KB, 64MB or 1GB'
        : `text matching ${String(p.pattern)}`;
      return source.issue(path, `"${name}" must be ${what}, got ${show(source, path)}`);
    }
    case 'anyOf': case 'enum': case 'const': {
      const options = literals(e.parentSchema);
      const got = source.node(path)?.toJSON?.() ?? '';
      return source.issue(path, `"${name}" must be one of ${options.join(', ')}; got ${show(source, path)}${didYouMean(String(got), options)}`);
    }
    case 'propertyNames':
      return source.issue(path, `invalid name "${String(p.propertyName)}"`, 'key');
    default:
      return source.issue(path, `"${name}" ${e.message ?? 'is invalid'}`);
  }
}

/** ajv reports a failed anyOf of literals once per branch, plus the anyOf itself: keep the anyOf. */
function dedupe(errors: ErrorObject[]): ErrorObject[] {
  const unions = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const seen = new Set<string>();
  return errors.filter((e) => {
    if (e.keyword !== 'anyOf' && unions.has(e.instancePath) && /\/anyOf\/\d+\//.test(e.schemaPath)) return false;
    if (e.keyword === 'propertyNames' || e.keyword === 'if') return e.keyword === 'propertyNames' && !seen.has(e.instancePath) && !!seen.add(e.instancePath);
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    return !seen.has(key) && !!seen.add(key);
  });
}

function literals(schema: unknown): string[] {
  const s = schema as { anyOf?: Array<{ const?: unknown }>; enum?: unknown[]; const?: unknown };
  if (s.anyOf) return s.anyOf.map((b) => String(b.const));
  if (s.enum) return s.enum.map(String);
  return [String(s.const)];
}

function pointerToPath(pointer: string): Array<string | number> {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function show(source: YamlSource, path: ConfigPath): string {
  const node = source.node(path);
  const value = node?.toJSON?.();
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a map';
  return JSON.stringify(value);
}

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ConfigIssue, ConfigPath, YamlSource } from './yaml.js';
import { didYouMean } from './suggest.js';
import { DURATION_PATTERN, NAME_PATTERN, SIZE_PATTERN } from './units.js';
import { hostProblem, parseHostPort } from './address.js';

/**
 * JSON Schema validation with messages a technician understands, each located at the offending
 * key or value of a YamlSource: the checker of backworks.yaml, offered to packs for their own
 * files. Needs the optional peer `ajv`. Defaults in the schema are filled into the value.
 */

/** The ajv options every validator uses (a build step that precompiles a schema uses them too). */
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: false, verbose: true } as const;

const ajv = new Ajv(AJV_OPTIONS);

/**
 * Formats a plugin's JSON Schema can give an address, so that a native plugin's host and
 * host:port keys are checked as the TypeScript packs check theirs: `"format": "host"` (a host name
 * or IP address) and `"format": "host-port"` ("host" or "host:port").
 */
const ADDRESS_FORMATS: Record<string, (text: string) => string | undefined> = {
  host: hostProblem,
  'host-port': (text) => { const parsed = parseHostPort(text, 0); return 'problem' in parsed ? parsed.problem : undefined; },
};
for (const [name, problem] of Object.entries(ADDRESS_FORMATS)) ajv.addFormat(name, { type: 'string', validate: (text: string) => problem(text) === undefined });
const compiled = new WeakMap<object, ValidateFunction>();

export interface ValidateOptions {
  /** A validator compiled ahead of time for this schema (with AJV_OPTIONS), used instead of compiling it. */
  precompiled?: () => ValidateFunction | undefined;
  /** Patterns of the schema in words, e.g. { '^/': 'a path that starts with /' }; a pattern's `description` serves too. */
  patternWords?: Record<string, string>;
}

/**
 * Validates `value` (the part of the file at `base`, [] for the whole file) against a JSON Schema
 * and returns every error located at the offending key or value (none when it is valid).
 */
export function validateAgainst(schema: object, value: unknown, source: YamlSource, base: ConfigPath = [], options: ValidateOptions = {}): ConfigIssue[] {
  let validate = compiled.get(schema);
  if (!validate) { validate = options.precompiled?.() ?? ajv.compile(schema); compiled.set(schema, validate); }
  if (validate(value)) return [];
  const words = options.patternWords ? { ...PATTERN_WORDS, ...options.patternWords } : PATTERN_WORDS;
  return dedupe(validate.errors ?? []).map((e) => describe(e, source, base, words));
}

function describe(e: ErrorObject, source: YamlSource, base: ConfigPath, words: Record<string, string>): ConfigIssue {
  const path = [...base, ...pointerToPath(e.instancePath)];
  const name = nameOf(path);
  const p = e.params as Record<string, unknown>;
  const parent = e.parentSchema as { pattern?: string; minimum?: number; maximum?: number; properties?: object } | undefined;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      if ((parent as { patternProperties?: object } | undefined)?.patternProperties) {
        return source.issue([...path, key], `invalid name "${key}": ${words[NAME_PATTERN]}`, 'key');
      }
      const allowed = Object.keys(parent?.properties ?? {});
      return source.issue([...path, key], `unknown key "${key}"${didYouMean(key, allowed)}${allowed.length && !didYouMean(key, allowed) ? `; allowed here: ${allowed.join(', ')}` : ''}`, 'key');
    }
    case 'required':
      return source.issue(path, `${path.length ? name : 'the file'} is missing the required key "${String(p.missingProperty)}"`, 'key');
    case 'type': {
      if (parent?.pattern === DURATION_PATTERN || parent?.pattern === SIZE_PATTERN) {
        const got = source.node(path)?.toJSON?.();
        const [kind, examples] = parent.pattern === DURATION_PATTERN ? ['duration', '500ms, 2s, 5m, 1h or 7d'] : ['size', '512KB, 64MB or 1GB'];
        const hint = typeof got !== 'number' ? '' : parent.pattern === DURATION_PATTERN ? `; write ${got}s for ${got} seconds` : `; write ${bytesAsSize(got)} for ${got} bytes`;
        return source.issue(path, `${name} must be a ${kind} with a unit, such as ${examples}; got ${show(source, path)}${hint}`);
      }
      return source.issue(path, `${name} must be ${article(String(p.type))}, got ${show(source, path)}`);
    }
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum': {
      const range = parent?.minimum !== undefined && parent.maximum !== undefined ? `between ${parent.minimum} and ${parent.maximum}` : `${e.keyword.includes('inimum') ? '>=' : '<='} ${String(p.limit)}`;
      return source.issue(path, `${name} must be ${range}, got ${show(source, path)}`);
    }
    case 'pattern': {
      const description = (parent as { description?: string } | undefined)?.description;
      const what = words[String(p.pattern)] ?? (description ? `of the form ${description}` : `text matching ${String(p.pattern)}`);
      return source.issue(path, `${name} must be ${what}, got ${show(source, path)}`);
    }
    case 'anyOf': case 'enum': case 'const': {
      const options = literals(e.parentSchema);
      const got = source.node(path)?.toJSON?.() ?? '';
      return source.issue(path, `${name} must be one of ${options.join(', ')}; got ${show(source, path)}${didYouMean(String(got), options)}`);
    }
    case 'minItems':
      return source.issue(path, Number(p.limit) === 1 ? `${name} needs at least one entry` : `${name} needs at least ${String(p.limit)} entries`);
    case 'maxItems':
      return source.issue(path, `${name} may have at most ${String(p.limit)} entries`);
    case 'uniqueItems':
      return source.issue([...path, Number(p.i)], `${name} lists ${show(source, [...path, Number(p.i)])} twice (entries ${Number(p.j) + 1} and ${Number(p.i) + 1}); remove one`);
    case 'minLength':
      return source.issue(path, Number(p.limit) === 1 ? `${name} must not be empty` : `${name} must be at least ${String(p.limit)} characters`);
    case 'maxLength':
      return source.issue(path, `${name} must be at most ${String(p.limit)} characters`);
    case 'format': {
      const problem = ADDRESS_FORMATS[String(p.format)]?.(String(e.data));
      if (problem) return source.issue(path, problem);
      return source.issue(path, `${name} must be ${article(String(p.format))}, got ${show(source, path)}`);
    }
    case 'propertyNames':
      return source.issue([...path, String(p.propertyName)], `invalid name "${String(p.propertyName)}": ${words[NAME_PATTERN]}`, 'key');
    default:
      return source.issue(path, `${name} ${e.message ?? 'is invalid'}`);
  }
}

/** What the patterns of the schema ask for, in words. */
const PATTERN_WORDS: Record<string, string> = {
  [DURATION_PATTERN]: 'a duration such as 500ms, 2s, 5m, 1h or 7d',
  [SIZE_PATTERN]: 'a size such as 512KB, 64MB or 1GB',
  [NAME_PATTERN]: 'a name of letters, digits, _, . and - that starts with a letter or digit',
};

/** `"port"`, or for an entry of a list `each entry of "methods"`: a list position means nothing to a technician. */
function nameOf(path: ConfigPath): string {
  const last = path[path.length - 1];
  if (typeof last !== 'number') return path.length ? `"${String(last)}"` : 'the file';
  const list = path.slice(0, -1).reverse().find((s) => typeof s === 'string');
  return list !== undefined ? `each entry of "${String(list)}"` : `entry ${last + 1}`;
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

/** 1048576 -> "1MB": the largest unit that divides the number exactly. */
function bytesAsSize(bytes: number): string {
  for (const [unit, n] of [['GB', 1024 ** 3], ['MB', 1024 ** 2], ['KB', 1024]] as const) if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  return `${bytes}B`;
}

/** JSON Schema's type names in the words of YAML. */
function article(type: string): string {
  if (type === 'object') return 'a map (key: value lines)';
  if (type === 'array') return 'a list ([a, b], or lines that start with -)';
  if (type === 'string') return 'text';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function show(source: YamlSource, path: ConfigPath): string {
  const node = source.node(path);
  const value = node?.toJSON?.();
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a map';
  return JSON.stringify(value);
}

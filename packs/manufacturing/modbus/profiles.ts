import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Duration } from '../../../sdk/typescript/typebox.js';
import { formatIssue, YamlSource } from '../../../sdk/typescript/yaml.js';
import { validateAgainst } from '../../../sdk/typescript/validate.js';
import { PointSchema } from './config.js';
import { registerCount } from './codec.js';

/**
 * Firmware profiles (firmware-profiles/*.yaml): the register map and protocol quirks of one device
 * model over a range of firmware versions. A device says `profile: VENDOR/MODEL@VERSION`; the
 * profile of that vendor and model whose `firmware` range contains VERSION is used.
 */

const Order = Type.Union([Type.Literal('big'), Type.Literal('little')]);

export const ProfileSchema = Type.Object({
  vendor: Type.String({ pattern: '^[a-z0-9_.-]+$', description: 'lower-case vendor id, e.g. eastron' }),
  model: Type.String({ pattern: '^[a-z0-9_.-]+$', description: 'lower-case model id, e.g. sdm630' }),
  firmware: Type.String({ minLength: 1, description: 'versions covered: "*", or comparators like ">=2.0 <3.0", alternatives joined by "||"' }),
  title: Type.Optional(Type.String()),
  document: Type.String({ minLength: 1, description: 'the maker\'s published register map this profile follows' }),
  notes: Type.Optional(Type.String()),
  quirks: Type.Optional(Type.Object({
    address_base: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)], { description: '1: addresses below are 1-based register numbers as the document prints them' })),
    max_registers: Type.Optional(Type.Integer({ minimum: 1, maximum: 125 })),
    max_bits: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000 })),
    byte_order: Type.Optional(Order),
    word_order: Type.Optional(Order),
    write_multiple: Type.Optional(Type.Boolean({ description: 'the device accepts writes only with FC15/FC16' })),
    min_interval: Type.Optional(Duration('the device cannot be polled faster than this')),
  }, { additionalProperties: false })),
  points: Type.Array(Type.Composite([PointSchema, Type.Object({
    table: Type.Union([Type.Literal('coil'), Type.Literal('discrete'), Type.Literal('input'), Type.Literal('holding')]),
    address: Type.Integer({ minimum: 0, maximum: 65536 }),
  })], { additionalProperties: false })),
}, { additionalProperties: false });

export type Profile = Static<typeof ProfileSchema>;

export interface LoadedProfile {
  profile: Profile;
  file: string;
}

/** A mistake in a profile file, already located as FILE:LINE:COL. */
export interface ProfileIssue {
  file: string;
  message: string;
}

export interface ProfileLibrary {
  profiles: LoadedProfile[];
  issues: ProfileIssue[];
}

const cache = new Map<string, ProfileLibrary>();

/** Reads and validates every *.yaml under `dir` (recursively). Cached per folder for one process. */
export function loadProfiles(dir: string, { fresh = false } = {}): ProfileLibrary {
  const hit = cache.get(dir);
  if (hit && !fresh) return hit;
  const library: ProfileLibrary = { profiles: [], issues: [] };
  for (const file of yamlFiles(dir)) {
    const { source, issues } = YamlSource.read(file, { what: 'firmware profile' });
    library.issues.push(...issues.map((i) => ({ file, message: formatIssue(i) })));
    if (!source) continue;
    const { value, issue } = source.toJS();
    if (issue) { library.issues.push({ file, message: formatIssue(issue) }); continue; }
    const problems = validateAgainst(ProfileSchema, value, source);
    const profile = value as Profile;
    if (!problems.length) problems.push(...semanticIssues(profile, source));
    if (problems.length) { library.issues.push(...problems.map((i) => ({ file, message: formatIssue(i) }))); continue; }
    library.profiles.push({ profile, file });
  }
  cache.set(dir, library);
  return library;
}

function semanticIssues(profile: Profile, source: YamlSource) {
  const issues = [];
  try { parseRange(profile.firmware); } catch (err) { issues.push(source.issue(['firmware'], (err as Error).message)); }
  const seen = new Set<string>();
  const base = profile.quirks?.address_base ?? 0;
  profile.points.forEach((p, i) => {
    if (seen.has(p.name)) issues.push(source.issue(['points', i, 'name'], `point "${p.name}" is defined twice`));
    seen.add(p.name);
    if (base === 1 && p.address === 0) issues.push(source.issue(['points', i, 'address'], 'address 0 does not exist with address_base 1 (register numbers start at 1)'));
    const type = p.type ?? (p.table === 'coil' || p.table === 'discrete' ? 'bool' : 'uint16');
    const max = profile.quirks?.max_registers ?? 125;
    if ((p.table === 'input' || p.table === 'holding') && registerCount({ type, length: p.length }) > max) {
      issues.push(source.issue(['points', i], `point "${p.name}" needs ${registerCount({ type, length: p.length })} registers but the device reads at most ${max} at once`));
    }
  });
  return issues;
}

function yamlFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return []; }
  return entries.flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(e.name) ? [full] : [];
  }).sort();
}

/** "vendor/model@1.2.3" -> its parts, or undefined when it is not of that form. */
export function parseProfileRef(ref: string): { vendor: string; model: string; version: string } | undefined {
  const m = /^([^/@]+)\/([^/@]+)@(.+)$/.exec(ref);
  return m ? { vendor: m[1].toLowerCase(), model: m[2].toLowerCase(), version: m[3] } : undefined;
}

/** Picks the one profile whose firmware range contains the version; explains any other outcome. */
export function resolveProfile(library: ProfileLibrary, ref: string): { found?: LoadedProfile; error?: string } {
  const parts = parseProfileRef(ref);
  if (!parts) return { error: `profile "${ref}" must be written VENDOR/MODEL@VERSION, e.g. eastron/sdm630@2.0` };
  const sameModel = library.profiles.filter((p) => p.profile.vendor === parts.vendor && p.profile.model === parts.model);
  if (!sameModel.length) {
    const known = [...new Set(library.profiles.map((p) => `${p.profile.vendor}/${p.profile.model}`))].sort();
    return { error: `no firmware profile for ${parts.vendor}/${parts.model}; known: ${known.join(', ') || 'none'}` };
  }
  const matching = sameModel.filter((p) => versionInRange(parts.version, p.profile.firmware));
  if (matching.length === 1) return { found: matching[0] };
  if (!matching.length) {
    return { error: `no ${parts.vendor}/${parts.model} profile covers firmware ${parts.version}; profiles cover: ${sameModel.map((p) => `"${p.profile.firmware}" (${path.basename(p.file)})`).join(', ')}` };
  }
  return { error: `firmware ${parts.version} of ${parts.vendor}/${parts.model} matches several profiles: ${matching.map((p) => path.basename(p.file)).join(', ')}; make their ranges disjoint` };
}

type Comparator = { op: '>=' | '>' | '<=' | '<' | '='; version: number[] };

/** "*" | comparator set ("||" separated alternatives of space separated comparators). */
export function parseRange(range: string): Comparator[][] {
  if (range.trim() === '*') return [[]];
  return range.split('||').map((alt) => {
    const parts = alt.trim().split(/\s+/).filter(Boolean);
    if (!parts.length) throw new Error(`firmware range "${range}" has an empty alternative`);
    return parts.map((part) => {
      const m = /^(>=|<=|>|<|=)?(\d+(?:\.\d+)*)$/.exec(part);
      if (!m) throw new Error(`firmware range "${range}": "${part}" is not a comparator like >=2.0, <3 or 1.4.2`);
      return { op: (m[1] ?? '=') as Comparator['op'], version: parseVersion(m[2])! };
    });
  });
}

function parseVersion(text: string): number[] | undefined {
  const m = /^v?(\d+(?:\.\d+)*)/.exec(text.trim());
  return m ? m[1].split('.').map(Number) : undefined;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

export function versionInRange(version: string, range: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  return parseRange(range).some((alt) => alt.every(({ op, version: c }) => {
    const d = compare(v, c);
    return op === '>=' ? d >= 0 : op === '>' ? d > 0 : op === '<=' ? d <= 0 : op === '<' ? d < 0 : d === 0;
  }));
}

/**
 * The SDK's YAML reader and schema check, as a pack uses them for its own data files: every
 * mistake at its FILE:LINE:COL, in the same words `backworks check` uses for backworks.yaml.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { formatIssue, YamlSource } from '../../sdk/typescript/yaml.js';
import { validateAgainst } from '../../sdk/typescript/validate.js';
import { Duration } from '../../sdk/typescript/typebox.js';
import { tempDir } from '../helpers/tmp.js';

const Schema = Type.Object({
  model: Type.String({ minLength: 1 }),
  every: Type.Optional(Duration('poll interval', '5s')),
}, { additionalProperties: false });

function check(text: string): { value?: unknown; issues: string[] } {
  const file = path.join(tempDir(), 'profile.yaml');
  fs.writeFileSync(file, text);
  const { source, issues } = YamlSource.read(file, { what: 'device profile' });
  if (!source) return { issues: issues.map(formatIssue) };
  const { value, issue } = source.toJS();
  if (issue) return { issues: [formatIssue(issue)] };
  return { value, issues: validateAgainst(Schema, value, source).map((i) => formatIssue(i).slice(file.length)) };
}

describe('a pack reads its own YAML files with the SDK', () => {
  it('fills the schema\'s defaults of a valid file', () => {
    expect(check('model: sdm630\n')).toEqual({ value: { model: 'sdm630', every: '5s' }, issues: [] });
  });

  it('locates a misspelt key, a bad duration and a syntax error', () => {
    expect(check('model: sdm630\nmodle: x\n').issues).toEqual([':2:1: unknown key "modle"; did you mean "model"?']);
    expect(check('model: sdm630\nevery: 5\n').issues).toEqual([':2:8: "every" must be a duration with a unit, such as 500ms, 2s, 5m, 1h or 7d; got 5; write 5s for 5 seconds']);
    expect(check('model: "sdm630\n').issues[0]).toMatch(/:1:8: this " is never closed/);
  });

  it('names the file for what it is when it cannot be read', () => {
    const dir = tempDir();
    expect(YamlSource.read(dir, { what: 'device profile' }).issues.map(formatIssue)).toEqual([`${dir}:1:1: ${dir} is a folder, not a device profile`]);
    expect(YamlSource.read(path.join(dir, 'none.yaml')).issues[0].message).toBe('file not found');
    const big = path.join(dir, 'big.yaml');
    fs.writeFileSync(big, 'a: 1\n'.repeat(10));
    expect(YamlSource.read(big, { what: 'device profile', maxBytes: 10 }).issues[0].message).toBe('device profile is 50 bytes; the limit is 10');
  });
});

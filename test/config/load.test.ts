import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../service/src/config/load.js';
import { REDACTED } from '../../service/src/config/redact.js';
import { YamlSource } from '../../sdk/typescript/yaml.js';
import { writeTemp } from '../helpers/tmp.js';

const seed = fs.readFileSync(new URL('../fixtures/seed/backworks-external-plugin-architecture.md', import.meta.url), 'utf8');
const seedYamls = [...seed.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('loading backworks.yaml', () => {
  it('interpolates ${VAR} and ${VAR:-default}, typing unquoted numbers', async () => {
    const file = writeTemp('backworks.yaml', 'server:\n  port: ${PORT:-8081}\n  host: "${HOST}"\nstate_dir: $${literal}\n');
    const { config } = await loadConfig(file, { env: { HOST: '127.0.0.1' } });
    expect(config.server).toEqual({ port: 8081, host: '127.0.0.1', body_limit: '1MB' });
    expect(config.state_dir).toBe('${literal}');
  });

  it('redacts secret keys and every value that came from the environment', async () => {
    const file = writeTemp('backworks.yaml', [
      'plugins:',
      '  in:',
      '    type: builtin',
      '    pack: general/http-ingest',
      'endpoints:',
      '  e:',
      '    path: /e',
      '    description: ${DESCRIPTION}',
      '',
    ].join('\n'));
    const loaded = await loadConfig(file, { env: { DESCRIPTION: 'from-env' } });
    const shown = JSON.stringify(loaded.redacted());
    expect(shown).not.toContain('from-env');
    expect((loaded.redacted() as { endpoints: { e: { description: string } } }).endpoints.e.description).toBe(REDACTED);
    expect(loaded.config.endpoints!.e.description).toBe('from-env');
  });

  it('resolves paths relative to the file, not the working directory', async () => {
    const file = writeTemp('backworks.yaml', 'plugins: {}\n');
    const loaded = await loadConfig(file);
    expect(loaded.dir).toBe(path.dirname(file));
  });

  it.each(seedYamls.map((yaml, i) => ({ i, yaml })))('parses the seed document\'s YAML #$i as written', async ({ yaml }) => {
    // The industry sample snippets name libraries that are built later and secrets set at deploy time:
    // parse and validate them (deep: false skips the files on disk), with the secret exported.
    const file = writeTemp('backworks.yaml', yaml);
    const { config } = await loadConfig(file, { env: { BLOOMBERG_API_KEY: 'k' }, deep: false });
    expect(Object.keys(config.plugins ?? {}).length).toBeGreaterThan(0);
    for (const plugin of Object.values(config.plugins ?? {})) expect(plugin.type).toBe('external');
  });

  it('keeps the seed secret out of the shown config', async () => {
    const yaml = seedYamls.find((y) => y.includes('BLOOMBERG_API_KEY'))!;
    const loaded = await loadConfig(writeTemp('backworks.yaml', yaml), { env: { BLOOMBERG_API_KEY: 'super-secret' }, deep: false });
    expect(JSON.stringify(loaded.redacted())).not.toContain('super-secret');
  });

  it('points at the key of a map entry for key errors and at the value otherwise', () => {
    const { source } = YamlSource.parse('f.yaml', 'a:\n  b: 1\n');
    expect(source!.issue(['a', 'b'], 'x', 'key')).toMatchObject({ line: 2, column: 3 });
    expect(source!.issue(['a', 'b'], 'x')).toMatchObject({ line: 2, column: 6 });
  });
});

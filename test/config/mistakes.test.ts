import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../service/src/config/load.js';
import { formatIssue } from '../../sdk/typescript/yaml.js';
import { listPacks } from '../../service/src/plugins/packs.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';

/**
 * The mistakes technicians make in backworks.yaml: each is a file in mistakes/ (read where it is,
 * so relative paths resolve against that folder as on a gateway) and CASE.expected holds every
 * line `check` must print for it, as LINE:COL: message. {dir} is the mistakes folder, {repo} the
 * repository, {packs} the list of packs.
 */
const repo = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const folder = path.join(repo, 'test/config/mistakes');
const cases = fs.readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({
  mistake: f.replace(/\.yaml$/, ''),
  file: path.join(folder, f),
  expected: fs.readFileSync(path.join(folder, f.replace(/\.yaml$/, '.expected')), 'utf8').trimEnd().split('\n')
    .map((l) => l.replaceAll('{dir}', folder).replaceAll('{repo}', repo).replaceAll('{packs}', listPacks().join(', '))),
}));

type ConfigModules = { loadConfig: typeof loadConfig; ConfigError: typeof ConfigError; formatIssue: typeof formatIssue };
const sources: ConfigModules = { loadConfig, ConfigError, formatIssue };

async function issuesOf(file: string, modules = sources): Promise<string[]> {
  try {
    await modules.loadConfig(file, { env: {} });
    return [];
  } catch (err) {
    if (!(err instanceof modules.ConfigError)) throw err;
    return err.issues.map(modules.formatIssue);
  }
}

describe('mistakes in backworks.yaml are reported as FILE:LINE:COL: message', () => {
  it('has at least 30 cases, each with its expected lines', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const c of cases) expect(c.expected.every((l) => /^\d+:\d+: \S/.test(l)), c.mistake).toBe(true);
  });

  it.each(cases)('$mistake', async ({ file, expected }) => {
    expect(await issuesOf(file)).toEqual(expected.map((l) => `${file}:${l}`));
  });

  it('refuses a file larger than 1 MiB without parsing it', async () => {
    const lines = await issuesOf(writeTemp('backworks.yaml', `# ${'x'.repeat(1024 * 1024)}\n`));
    expect(lines[0]).toMatch(/:1:1: configuration file is \d+ bytes; the limit is 1048576$/);
  });

  it('the build (dist/, the config validator compiled at build time) reports each mistake as the sources do', async () => {
    const dist = path.join(repo, 'dist/service/src/config');
    expect(fs.existsSync(path.join(dist, 'config-validator.cjs'))).toBe(true);
    const built: ConfigModules = { ...(await import(pathToFileURL(path.join(dist, 'load.js')).href)), ...(await import(pathToFileURL(path.join(repo, 'dist/sdk/typescript/yaml.js')).href)) };
    for (const { file } of cases) expect(await issuesOf(file, built)).toEqual(await issuesOf(file));
  });

  it('names a missing file and what to do', async () => {
    await expect(loadConfig('/nonexistent/backworks.yaml')).rejects.toThrow(
      '/nonexistent/backworks.yaml:1:1: file not found; create it or pass another with -c FILE');
  });

  it('says a folder is not a configuration file, and which file to pass', async () => {
    const dir = tempDir();
    expect(await issuesOf(dir)).toEqual([`${dir}:1:1: ${dir} is a folder, not a configuration file; pass the file itself, e.g. -c ${dir}/backworks.yaml`]);
  });

  it('says who cannot read the file and how to let them (backworks check run as another user)', () => {
    const dir = tempDir();
    const file = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(file, 'server:\n  port: 8080\n');
    fs.chmodSync(file, 0o600);
    fs.chmodSync(dir, 0o755);
    let stderr = '';
    try {
      execFileSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, path.join(repo, 'dist/service/src/cli.js'), 'check', '-c', file], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) { stderr = (err as { stderr: string }).stderr; }
    expect(stderr.split('\n')[0]).toBe(`${file}:1:1: the configuration file ${file} cannot be read: permission denied; let the user the service runs as (backworks) read it, e.g. chgrp backworks ${file} && chmod g+r ${file}`);
  });
});

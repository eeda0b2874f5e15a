/**
 * A pack written the way a third party writes one: scaffolded outside the repository, built
 * against the SDK installed from its packed tarball (no registry, no Backworks source), loaded by a
 * real gateway with `type: typescript` and served like a first-party pack, auth included.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot, startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

const exec = promisify(execFile);
const running: RunningService[] = [];
afterAll(async () => { for (const service of running) await service.stop(); });

describe('a pack outside the repository, on the SDK package alone', () => {
  it('installs the SDK from its tarball, compiles, passes check and serves its endpoint in a gateway', async () => {
    const root = tempDir('backworks-external-');
    expect(path.relative(repoRoot, root).startsWith('..')).toBe(true);

    await exec('npm', ['pack', '--pack-destination', root, '--silent'], { cwd: path.join(repoRoot, 'sdk/typescript') });
    const tarball = fs.readdirSync(root).find((f) => f.endsWith('.tgz'));
    expect(tarball).toMatch(/^backworks-plugin-sdk-.*\.tgz$/);

    const dir = path.join(root, 'greeter');
    const created = await exec(process.execPath, [cliPath, 'plugin', 'new', 'greeter', '--lang', 'ts', '--template', 'endpoint', '--dir', dir]);
    expect(created.stdout).toContain('type: typescript');
    // The author's own code: a value imported from the SDK at run time, not only its types.
    const source = path.join(dir, 'index.ts');
    const edited = fs.readFileSync(source, 'utf8')
      .replace(/^/, "import { parseDuration } from '@backworks/plugin-sdk';\n")
      .replace("message: 'hello' }", "message: 'hello', every_ms: parseDuration('2s') }");
    fs.writeFileSync(source, edited);
    expect(edited).not.toContain(repoRoot);

    await exec('npm', ['install', '--offline', '--no-audit', '--no-fund', `../${tarball}`], { cwd: dir });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies).toHaveProperty('@backworks/plugin-sdk');
    // The compiler comes from the repo (the registry is not used); the types from the installed SDK.
    await exec(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--typeRoots', path.join(repoRoot, 'node_modules/@types')], { cwd: dir });
    expect(fs.existsSync(path.join(dir, 'dist/index.js'))).toBe(true);

    const configFile = path.join(root, 'backworks.yaml');
    fs.writeFileSync(configFile, [
      'plugins:',
      '  greeter:',
      '    type: typescript',
      '    module: greeter/dist/index.js',
      'endpoints:',
      '  hello:',
      '    path: /greeter',
      '    plugin: greeter',
      '',
    ].join('\n'));
    await exec(process.execPath, [cliPath, 'check', '-c', configFile]);

    const service = await startService(configFile);
    running.push(service);
    const answer = await service.fetch('/greeter');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('application/json');
    expect(await answer.json()).toEqual({ plugin: 'greeter', method: 'GET', message: 'hello', every_ms: 2000 });
    expect((await fetch(`${service.url}/greeter`)).status).toBe(401);
    const health = await (await service.fetch('/health')).json() as { plugins: Record<string, { status: string }> };
    expect(health.plugins.greeter.status).toBe('healthy');
  }, 120_000);

  it('refuses a module that is missing or exports no plugin, naming the key and what to do', async () => {
    const root = tempDir('backworks-external-');
    fs.writeFileSync(path.join(root, 'not-a-plugin.js'), 'export const x = 1;\n');
    const configFile = path.join(root, 'backworks.yaml');
    fs.writeFileSync(configFile, 'plugins:\n  a:\n    type: typescript\n    module: missing/dist/index.js\n  b:\n    type: typescript\n    module: not-a-plugin.js\n  c:\n    type: typescript\n');
    const failed = await exec(process.execPath, [cliPath, 'check', '-c', configFile]).catch((e: { code: number; stdout: string; stderr: string }) => e);
    const output = 'stdout' in failed ? `${failed.stdout}${failed.stderr}` : '';
    expect(failed).toMatchObject({ code: 1 });
    expect(output).toMatch(/:4:\d+.*missing\/dist\/index\.js.*npm run build/);
    expect(output).toMatch(/:7:\d+.*no default export returning a plugin/);
    expect(output).toMatch(/:9:\d+.*needs "module:"/);
  }, 60_000);
});

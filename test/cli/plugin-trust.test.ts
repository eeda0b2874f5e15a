/** `backworks plugin keygen|sign|verify|publish|install|list|update|remove` and `backworks check`, through the compiled CLI. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { buildPlugin, flipByte, serveFolder } from '../trust/helpers.js';

const exec = promisify(execFile);

async function cli(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cliPath, ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let keys: string;
let publicKey: string;

beforeAll(async () => {
  keys = tempDir();
  const made = await cli(['plugin', 'keygen', '--out', keys]);
  expect(made.code).toBe(0);
  publicKey = fs.readFileSync(path.join(keys, 'backworks-signing.pub'), 'utf8').trim();
  expect(made.stdout).toContain(`    - ${publicKey}`);
  expect(fs.statSync(path.join(keys, 'backworks-signing.key')).mode & 0o777).toBe(0o600);
});

describe('keygen, sign, verify', () => {
  it('never overwrites a private key', async () => {
    const again = await cli(['plugin', 'keygen', '--out', keys]);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('BW_ERR_TRUST_KEY') });
    expect(again.stderr).toContain('already exists; it is never overwritten');
  });

  it('signs, verifies, and refuses a tampered library with the reason', async () => {
    const lib = buildPlugin(tempDir());
    const signed = await cli(['plugin', 'sign', lib, '--key', path.join(keys, 'backworks-signing.key')]);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toMatch(/^signed hello-c 1\.0\.0 \(ABI 1\.\d+, linux-\w+-\w+, \d+ bytes, sha256 [0-9a-f]{64}\)/);
    const ok = await cli(['plugin', 'verify', lib, '--key', path.join(keys, 'backworks-signing.pub')]);
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/^verified hello-c 1\.0\.0 .* signed by key [0-9a-f]{16}/) });

    const noKeys = await cli(['plugin', 'verify', lib], tempDir());
    expect(noKeys).toMatchObject({ code: 1, stderr: expect.stringContaining('no trusted keys') });

    flipByte(lib);
    const bad = await cli(['plugin', 'verify', lib, '--key', publicKey, '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ valid: false, code: 'BW_ERR_TRUST_TAMPERED' });
  });
});

describe('backworks check with require_signed', () => {
  it('reports an unsigned and a tampered plugin at its path: line and column', async () => {
    const dir = tempDir();
    const unsigned = buildPlugin(fs.mkdtempSync(path.join(dir, 'u-')));
    const tampered = buildPlugin(fs.mkdtempSync(path.join(dir, 't-')));
    await cli(['plugin', 'sign', tampered, '--key', path.join(keys, 'backworks-signing.key')]);
    flipByte(tampered);
    const file = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(file, [
      'plugin_trust:',
      '  require_signed: true',
      '  keys:',
      `    - ${publicKey}`,
      'plugins:',
      '  first:',
      '    type: external',
      `    path: ${path.relative(dir, unsigned)}`,
      '  second:',
      '    type: external',
      `    path: ${path.relative(dir, tampered)}`,
      '',
    ].join('\n'));
    const checked = await cli(['check', '-c', file]);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toContain(`${file}:8:11: BW_ERR_TRUST_UNSIGNED: ${unsigned} is not signed`);
    expect(checked.stderr).toContain(`${file}:11:11: BW_ERR_TRUST_TAMPERED: ${tampered} does not match its signed manifest`);

    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('require_signed: true', 'require_signed: false').replace(/  second:[\s\S]*/, ''));
    expect(await cli(['check', '-c', file])).toMatchObject({ code: 0 });
  });
});

describe('a registry through the CLI', () => {
  let registry: Awaited<ReturnType<typeof serveFolder>>;
  const root = tempDir();
  beforeAll(async () => { registry = await serveFolder(root); });
  afterAll(async () => { await registry.close(); });

  it('publishes, installs with plain progress lines off a terminal, lists, updates and removes', async () => {
    const key = path.join(keys, 'backworks-signing.key');
    for (const version of ['0.1.0', '0.2.0']) {
      const dir = path.join(root, 'demo', version);
      fs.mkdirSync(dir, { recursive: true });
      expect((await cli(['plugin', 'sign', buildPlugin(dir, { name: 'demo', version }), '--key', key])).code).toBe(0);
      if (version === '0.1.0') expect((await cli(['plugin', 'publish', root, '--key', key, '--expires', '1d'])).stdout).toContain('version 1, 1 plugin versions');
    }
    const gateway = tempDir();
    const config = path.join(gateway, 'backworks.yaml');
    fs.writeFileSync(config, `plugin_trust:\n  require_signed: true\n  registry: ${registry.url}/index.json\n  keys: [${publicKey}]\n`);

    const installed = await cli(['plugin', 'install', 'demo', '-c', config]);
    expect(installed.code).toBe(0);
    expect(installed.stderr).toMatch(/^downloading demo@0\.1\.0 \(\d+\.\d KB\)\ndownloaded demo@0\.1\.0: \d+\.\d KB in \d+ ms\n$/);
    const link = path.join(gateway, '.state/plugin-store/installed/libdemo.so');
    expect(installed.stdout).toBe(`installed demo 0.1.0\n  path: ${link}\n`);

    const listed = await cli(['plugin', 'list', '-c', config]);
    expect(listed.stdout).toContain(`installed demo 0.1.0  ${link}`);
    expect(listed.stdout).toMatch(/ok {7}demo 0\.1\.0 {2}.*libdemo\.so/);

    // The configured path is the link: `backworks check` verifies it under require_signed.
    fs.appendFileSync(config, `plugins:\n  demo:\n    type: external\n    path: ${link}\n`);
    expect(await cli(['check', '-c', config])).toMatchObject({ code: 0 });

    expect((await cli(['plugin', 'publish', root, '--key', key])).stdout).toContain('version 2, 2 plugin versions');
    expect((await cli(['plugin', 'update', '-c', config])).stdout).toBe(`updated demo 0.1.0 -> 0.2.0\n  path: ${link}\n`);
    const downgrade = await cli(['plugin', 'install', 'demo@0.1.0', '-c', config]);
    expect(downgrade).toMatchObject({ code: 1, stderr: expect.stringContaining('BW_ERR_REGISTRY_ROLLBACK: demo 0.1.0 is older than the installed 0.2.0') });

    expect((await cli(['plugin', 'remove', 'demo', '-c', config])).stdout).toBe(`removed demo 0.2.0 (${link})\n`);
    expect(fs.existsSync(link)).toBe(false);
    const checkAfter = await cli(['check', '-c', config]);
    expect(checkAfter).toMatchObject({ code: 1, stderr: expect.stringContaining(`${config}:8:11: native library ${link} does not exist`) });
  });
  it('installs a library cargo named libmy_plugin.so as libmy-plugin.so, says so, and check points from the old name to it', async () => {
    const own = tempDir();
    const served = await serveFolder(own);
    try {
      const key = path.join(keys, 'backworks-signing.key');
      const dir = path.join(own, 'my-plugin', '1.0.0');
      fs.mkdirSync(dir, { recursive: true });
      const built = buildPlugin(dir, { name: 'my-plugin' });
      expect(path.basename(built)).toBe('libmy_plugin.so');
      expect((await cli(['plugin', 'sign', built, '--key', key])).code).toBe(0);
      expect((await cli(['plugin', 'publish', own, '--key', key])).code).toBe(0);
      const gateway = tempDir();
      const config = path.join(gateway, 'backworks.yaml');
      fs.writeFileSync(config, `plugin_trust:\n  require_signed: true\n  registry: ${served.url}/index.json\n  keys: [${publicKey}]\n`);

      const installed = await cli(['plugin', 'install', 'my-plugin', '-c', config]);
      const link = path.join(gateway, '.state/plugin-store/installed/libmy-plugin.so');
      expect(installed.stdout).toBe(`installed my-plugin 1.0.0\n  path: ${link}\n  note: the registry's file libmy_plugin.so is installed as libmy-plugin.so; in backworks.yaml write\n    path: ${link}\n`);

      fs.appendFileSync(config, `plugins:\n  mine:\n    type: external\n    path: ./.state/plugin-store/installed/libmy_plugin.so\n`);
      const checked = await cli(['check', '-c', config]);
      expect(checked.code).toBe(1);
      expect(checked.stderr).toContain(`${config}:8:11: native library ${path.dirname(link)}/libmy_plugin.so does not exist; there is libmy-plugin.so beside it: write path: ${link}`);
    } finally {
      await served.close();
    }
  });
});

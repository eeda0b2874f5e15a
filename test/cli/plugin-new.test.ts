/**
 * `backworks plugin new`: every template (rust, c, ts × endpoint, connector, hook) is scaffolded
 * through the CLI, built, passes its own test, and is loaded the way the gateway loads it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostContext, PluginRequest, Reading } from '../../sdk/typescript/index.js';
import { BuiltinDriver } from '../../service/src/plugins/builtin.js';
import type { PluginDriver } from '../../service/src/plugins/driver.js';
import { openNativePlugin } from '../../service/src/plugins/native/index.js';
import { cliPath, repoRoot } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { quietLog } from '../trust/helpers.js';

const exec = promisify(execFile);
const TEMPLATES = ['endpoint', 'connector', 'hook'] as const;
type Template = (typeof TEMPLATES)[number];

// Rust crates are scaffolded under the repository so its .cargo/config.toml (Debian's crates,
// offline) applies; one shared target folder builds the dependencies once for all three.
const rustRoot = path.join(repoRoot, 'target/template-tests');
const rustSources = path.join(rustRoot, `src-${process.pid}`);
const cargoTarget = path.join(rustRoot, 'cargo');
afterAll(() => fs.rmSync(rustSources, { recursive: true, force: true }));

async function scaffold(lang: string, template: Template, dir: string): Promise<string> {
  const name = `tpl-${template}`;
  const { stdout } = await exec(process.execPath, [cliPath, 'plugin', 'new', name, '--lang', lang, '--template', template, '--dir', dir]);
  expect(stdout).toContain(`created ${dir} (${lang} ${template})`);
  return name;
}

function host(emitted: Reading[]): HostContext {
  return {
    pluginName: 'tpl', stateDir: tempDir(), configDir: tempDir(), log() {},
    emit: async (r: Reading[]) => { emitted.push(...r); },
    getState: async () => undefined, commit: async () => [],
  } as unknown as HostContext;
}

const request = (headers: Record<string, string>): PluginRequest => ({ endpoint: 'e', method: 'GET', path: '/x', params: {}, query: {}, headers, body: '' });

/** The behaviour each template promises, checked through the driver the gateway would use. */
async function exercise(driver: PluginDriver, template: Template, name: string): Promise<void> {
  const emitted: Reading[] = [];
  expect(driver.metadata.name).toBe(name);
  await driver.initialize(template === 'connector' ? { interval_ms: 20 } : {}, host(emitted));
  try {
    if (template === 'endpoint') {
      // A string, or a reply (a Rust plugin answers through process_endpoint_data_v2, ABI 1.2).
      const answer = await driver.processEndpointData(`/${name}`, 'GET', Buffer.alloc(0), request({}));
      const text = typeof answer === 'string' ? answer : answer?.body.toString();
      expect(JSON.parse(String(text))).toMatchObject({ plugin: name, message: 'hello' });
      expect(await driver.processEndpointData('/other', 'GET', Buffer.alloc(0), request({}))).toBeNull();
    } else if (template === 'connector') {
      const deadline = Date.now() + 10_000;
      while (emitted.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(emitted.slice(0, 2)).toEqual([
        expect.objectContaining({ device: name, point: 'count', value: 1 }),
        expect.objectContaining({ device: name, point: 'count', value: 2 }),
      ]);
    } else {
      await expect(driver.beforeRequest(request({}))).rejects.toMatchObject({ statusCode: 400 });
      await driver.beforeRequest(request({ 'x-api-key': 'k' }));
      const response = { status: 200, headers: {} as Record<string, string>, body: '' };
      await driver.afterResponse(request({}), response);
      expect(response.headers[`x-${name}`]).toBe('seen');
    }
  } finally {
    await driver.shutdown();
  }
}

const native = (file: string, isolation: 'process' | 'none') => openNativePlugin('tpl', {
  path: file, isolation, timeoutMs: 5000, limits: {}, restart: { backoffMs: 100, maxBackoffMs: 1000, maxCrashes: 3, windowMs: 10_000 },
}, { log: quietLog, stateDir: tempDir() });

describe('backworks plugin new', () => {
  it.each(TEMPLATES)('c %s: builds, passes its own test, loads in its own host and in the service', async (template) => {
    const dir = path.join(tempDir(), 'plugin');
    const name = await scaffold('c', template, dir);
    const { stdout } = await exec('make', ['-s', '-C', dir, 'test']);
    expect(stdout).toContain(`${name}: ok`);
    for (const isolation of ['process', 'none'] as const) await exercise(await native(path.join(dir, `lib${name.replace(/-/g, '_')}.so`), isolation), template, name);
  }, 60_000);

  it.each(TEMPLATES)('rust %s: builds offline, passes its own test, loads in its own host and in the service', async (template) => {
    const dir = path.join(rustSources, template);
    const name = await scaffold('rust', template, dir);
    const env = { ...process.env, CARGO_TARGET_DIR: cargoTarget };
    const tested = await exec('cargo', ['test', '--quiet'], { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 });
    expect(tested.stdout).toMatch(/test result: ok\. [1-9]\d* passed; 0 failed/);
    await exec('cargo', ['build', '--quiet'], { cwd: dir, env });
    const library = path.join(cargoTarget, 'debug', `lib${name.replace(/-/g, '_')}.so`);
    for (const isolation of ['process', 'none'] as const) await exercise(await native(library, isolation), template, name);
  }, 600_000);

  it('ts: every template type-checks, passes its own test and loads as a builtin pack', async () => {
    const root = tempDir();
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'));
    const dirs = Object.fromEntries(TEMPLATES.map((t) => [t, path.join(root, 'packs/general', `tpl-${t}`)])) as Record<Template, string>;
    for (const t of TEMPLATES) await scaffold('ts', t, dirs[t]);
    await exec(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--target', 'ES2022', '--types', 'node', '--skipLibCheck', ...TEMPLATES.map((t) => path.join(dirs[t], 'index.ts'))], { cwd: root });
    const tested = await exec(process.execPath, [path.join(repoRoot, 'node_modules/vitest/vitest.mjs'), 'run', '--root', root], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    expect(tested.stdout).toMatch(/Tests\s+3 passed/);
    for (const t of TEMPLATES) {
      const mod = (await import(path.join(dirs[t], 'index.ts'))) as { default: () => import('../../sdk/typescript/index.js').BackworksPlugin };
      await exercise(new BuiltinDriver(mod.default()), t, `tpl-${t}`);
    }
  }, 120_000);

  it('refuses a bad name, language or template with the choices', async () => {
    const failed = await exec(process.execPath, [cliPath, 'plugin', 'new', 'Bad_Name', '--lang', 'go', '--dir', tempDir()]).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('plugin name "Bad_Name": use lowercase letters') });
    const lang = await exec(process.execPath, [cliPath, 'plugin', 'new', 'ok', '--lang', 'go', '--dir', tempDir()]).catch((e: { code: number; stderr: string }) => e);
    expect(lang).toMatchObject({ code: 1, stderr: expect.stringContaining('--lang go: choose one of rust, c, ts') });
  });
});

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { cliPath, startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { libs } from './native/helpers.js';

/**
 * "Drop plugin files and configure": a library only in a plugin_discovery folder is loaded when
 * backworks.yaml names it (by its descriptor's name, without `path`); `check` says which file it
 * resolved to; two libraries of one name are refused with both paths. And the plugin hosts are
 * named in ps: `bw-plugin-host NAME PATH`, never <defunct>.
 */

const exec = promisify(execFile);
const running: RunningService[] = [];
afterEach(async () => { while (running.length) await running.pop()!.stop('SIGKILL'); });

/** A gateway folder with plugins/ holding a copy of faulty-c (its descriptor's name is "faulty-c"). */
function gatewayFolder(): { dir: string; file: string; library: string } {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'plugins'));
  const library = path.join(dir, 'plugins', 'libfaulty_c.so');
  fs.copyFileSync(libs.faultyC, library);
  const file = path.join(dir, 'backworks.yaml');
  fs.writeFileSync(file, `
plugin_discovery:
  directories: [./plugins]
plugins:
  faulty-c:
    type: external
    config: { fault: none, marker: ${path.join(dir, 'count')} }
endpoints:
  ok: { path: /ok, plugin: faulty-c }
`);
  return { dir, file, library };
}

async function check(file: string, json = false): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cliPath, 'check', '-c', file, ...(json ? ['--json'] : [])]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('plugin discovery', { timeout: 60_000 }, () => {
  it('loads a plugin found only in a discovery folder, and check names the file', async () => {
    const { file, library } = gatewayFolder();
    const text = await check(file);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`plugin "faulty-c" is ${library} (found in plugin_discovery.directories)`);
    const json = await check(file, true);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, discovered: { 'faulty-c': library } });

    const service = await startService(file);
    running.push(service);
    const res = await service.fetch('/ok');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('refuses two libraries of one name with both paths; check fails, run fails that plugin alone', async () => {
    const { dir, file, library } = gatewayFolder();
    const other = path.join(dir, 'plugins', 'libfaulty_copy.so');
    fs.copyFileSync(libs.faultyC, other);
    const text = await check(file);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/backworks\.yaml:6:\d+: .*both name themselves "faulty-c"/);
    expect(text.stderr).toContain(library);
    expect(text.stderr).toContain(other);

    const service = await startService(file);
    running.push(service);
    const plugin = (await (await service.fetch('/health')).json() as { plugins: Record<string, { state: string; message: string }> }).plugins['faulty-c']!;
    expect(plugin.state).toBe('failed');
    expect(plugin.message).toContain(library);
    expect(plugin.message).toContain(other);
  });

  it('a name found nowhere is an error naming the folders and what they hold', async () => {
    const { file } = gatewayFolder();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('  faulty-c:\n', '  faulty:\n').replace('plugin: faulty-c', 'plugin: faulty'));
    const text = await check(file);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain('plugin "faulty" has no "path:" and no library in plugin_discovery.directories (./plugins) is named "faulty"; found there: faulty-c');
  });

  it('names each plugin host in ps (bw-plugin-host NAME PATH), also after a slow call took the reader role over', async () => {
    const { dir, file, library } = gatewayFolder();
    // One call that sleeps 300 ms: the host hands reading frames to another thread meanwhile.
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('fault: none', 'fault: sleep, delay_ms: 300, times: 1'));
    const service = await startService(file);
    running.push(service);
    expect((await service.fetch('/ok')).status).toBe(200);
    expect((await service.fetch('/ok')).status).toBe(200);
    const hosts = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(library));
    expect(hosts).toHaveLength(1);
    const [, stat, ...args] = hosts[0]!.trim().split(/\s+/);
    expect(stat).not.toMatch(/Z/);
    expect(args.join(' ')).toMatch(new RegExp(`bw-plugin-host faulty-c ${library.replace(/[.]/g, '\\.')}$`));
    expect(fs.existsSync(path.join(dir, 'count'))).toBe(true); // the slow call did happen
  });
});

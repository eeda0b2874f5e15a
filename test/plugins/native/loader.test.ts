/** The loader refuses what it cannot run, with the reason; and reads good descriptors without initializing. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { discoverNativePlugins, inspectNativePlugin } from '../../../service/src/plugins/native/index.js';
import { cliPath } from '../../helpers/service.js';
import { tempDir } from '../../helpers/tmp.js';
import { libs } from './helpers.js';

/** A copy of a real plugin with some header bytes changed. */
function patched(changes: Record<number, number>): string {
  const bytes = fs.readFileSync(libs.helloC);
  for (const [at, value] of Object.entries(changes)) bytes[Number(at)] = value;
  const file = path.join(tempDir(), 'libpatched.so');
  fs.writeFileSync(file, bytes);
  return file;
}

describe('inspectNativePlugin', () => {
  it('reads a C and a Rust descriptor', async () => {
    expect(await inspectNativePlugin(libs.helloC)).toMatchObject({
      name: 'hello-c', version: '1.0.0', abi: '1.2', capabilities: ['endpoint'], configSchema: { type: 'object' },
    });
    expect(await inspectNativePlugin(libs.myPlugin)).toMatchObject({
      name: 'my-plugin', version: '1.0.0', description: 'My awesome plugin', abi: '1.2', capabilities: ['endpoint'],
    });
  });

  it('refuses an ABI major it does not speak', async () => {
    await expect(inspectNativePlugin(libs.abiMismatch)).rejects.toMatchObject({
      code: 'BW_ERR_NATIVE_ABI_MISMATCH', message: expect.stringMatching(/built for ABI 2\.0; this host speaks 1\.2/),
    });
  });

  it('refuses a library without the descriptor symbol', async () => {
    await expect(inspectNativePlugin(libs.notAPlugin)).rejects.toMatchObject({
      code: 'BW_ERR_NATIVE_NOT_A_PLUGIN', message: expect.stringContaining('does not export bw_plugin_descriptor()'),
    });
  });

  it('refuses the wrong ELF class and the wrong architecture before any process opens it', async () => {
    await expect(inspectNativePlugin(patched({ 4: 1 }))).rejects.toMatchObject({
      code: 'BW_ERR_NATIVE_ELF', message: expect.stringContaining('ELF class is 32-bit, this service is 64-bit'),
    });
    const aarch64 = process.arch === 'arm64' ? 62 : 183;
    await expect(inspectNativePlugin(patched({ 18: aarch64, 19: 0 }))).rejects.toMatchObject({
      code: 'BW_ERR_NATIVE_ELF', message: expect.stringMatching(/built for (arm64|x64), this machine is/),
    });
    const text = path.join(tempDir(), 'libtext.so');
    fs.writeFileSync(text, 'not a library at all');
    await expect(inspectNativePlugin(text)).rejects.toMatchObject({ code: 'BW_ERR_NATIVE_ELF', message: expect.stringContaining('not an ELF') });
  });

  it('refuses a missing file and a folder by name', async () => {
    await expect(inspectNativePlugin('/nonexistent/libx.so')).rejects.toMatchObject({
      code: 'BW_ERR_NATIVE_FILE', message: 'cannot read plugin library /nonexistent/libx.so: no such file',
    });
    const dir = tempDir();
    await expect(inspectNativePlugin(dir)).rejects.toMatchObject({ code: 'BW_ERR_NATIVE_FILE', message: expect.stringContaining('not a regular file') });
  });
});

describe('discoverNativePlugins', () => {
  it('lists plugins, refuses bad libraries and both holders of a duplicate name', async () => {
    const dir = tempDir();
    fs.copyFileSync(libs.helloC, path.join(dir, 'liba.so'));
    fs.copyFileSync(libs.helloC, path.join(dir, 'libb.so'));
    fs.copyFileSync(libs.myPlugin, path.join(dir, 'libmy_plugin.so'));
    fs.copyFileSync(libs.abiMismatch, path.join(dir, 'libold.so'));
    fs.writeFileSync(path.join(dir, 'README.txt'), 'ignored');
    const found = await discoverNativePlugins([dir, path.join(dir, 'missing')]);
    const byFile = Object.fromEntries(found.map((p) => [path.basename(p.path), p]));
    expect(Object.keys(byFile).sort()).toEqual(['liba.so', 'libb.so', 'libmy_plugin.so', 'libold.so']);
    expect(byFile['libmy_plugin.so']!.error).toBeUndefined();
    expect(byFile['liba.so']!.error?.code).toBe('BW_ERR_NATIVE_DUPLICATE');
    expect(byFile['libb.so']!.error?.message).toBe(`plugin name "hello-c" is provided by both ${dir}/liba.so and ${dir}/libb.so`);
    expect(byFile['libold.so']!.error?.code).toBe('BW_ERR_NATIVE_ABI_MISMATCH');
  });
});

describe('backworks plugin inspect / list', () => {
  const run = promisify(execFile);

  it('exits 0 and describes a valid plugin', async () => {
    const { stdout } = await run(process.execPath, [cliPath, 'plugin', 'inspect', libs.myPlugin]);
    expect(stdout).toContain('my-plugin 1.0.0  (ABI 1.2)');
    expect(stdout).toContain('capabilities  endpoint');
  });

  it('exits 1 with the reason for a refused library', async () => {
    const failed = await run(process.execPath, [cliPath, 'plugin', 'inspect', libs.abiMismatch]).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('BW_ERR_NATIVE_ABI_MISMATCH') });
  });

  it('lists the libraries of plugin_discovery.directories', async () => {
    const dir = tempDir();
    fs.copyFileSync(libs.helloC, path.join(dir, 'libhello_c.so'));
    fs.writeFileSync(path.join(dir, 'backworks.yaml'), 'plugin_discovery:\n  directories: ["."]\n');
    const { stdout } = await run(process.execPath, [cliPath, 'plugin', 'list', '-c', path.join(dir, 'backworks.yaml'), '--json']);
    const listed = JSON.parse(stdout) as { plugins: Array<{ path: string; metadata?: { name: string } }> };
    expect(listed.plugins).toEqual([expect.objectContaining({ path: path.join(dir, 'libhello_c.so'), metadata: expect.objectContaining({ name: 'hello-c' }) })]);
  });
});

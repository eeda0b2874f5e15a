/** Install, update and remove against a registry served over real HTTP; rollback, expiry and tampering refused. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNativePlugin } from '../../service/src/plugins/native/index.js';
import { installPlugin, listInstalled, removePlugin, updatePlugins } from '../../service/src/trust/install.js';
import { parsePublicKeys } from '../../service/src/trust/keys.js';
import { signLibrary } from '../../service/src/trust/manifest.js';
import { silentProgress } from '../../service/src/trust/progress.js';
import { publishRegistry } from '../../service/src/trust/publish.js';
import { fetchIndex } from '../../service/src/trust/registry.js';
import { storeRoot } from '../../service/src/trust/store.js';
import { tempDir } from '../helpers/tmp.js';
import { buildPlugin, flipByte, newKeyPair, quietLog, serveFolder } from './helpers.js';

const publisher = newKeyPair();
const DAY = 86_400_000;
let registry: Awaited<ReturnType<typeof serveFolder>>;
let root: string;

/** Builds NAME@VERSION, signs it and places it where a publisher would: NAME/VERSION/lib.so. */
async function addVersion(name: string, version: string): Promise<string> {
  const dir = path.join(root, name, version);
  fs.mkdirSync(dir, { recursive: true });
  const lib = buildPlugin(dir, { name, version });
  await signLibrary(lib, publisher.signer);
  return lib;
}

const options = (stateDir: string, extra: Partial<Parameters<typeof installPlugin>[2]> = {}) => ({
  stateDir, registry: `${registry.url}/index.json`, keys: parsePublicKeys([publisher.publicKey]), progress: silentProgress, ...extra,
});

beforeAll(async () => {
  root = tempDir();
  registry = await serveFolder(root);
});
afterAll(async () => { await registry.close(); });

describe('a registry over HTTP', () => {
  it('installs, loads with require_signed, updates, refuses a downgrade, and removes', async () => {
    await addVersion('demo', '1.0.0');
    publishRegistry(root, { signer: publisher.signer, validForMs: DAY });
    const stateDir = tempDir();

    const first = await installPlugin('demo', undefined, options(stateDir));
    expect(first).toMatchObject({ action: 'installed', name: 'demo', version: '1.0.0' });
    const link = path.join(storeRoot(stateDir), 'installed', 'libdemo.so');
    expect(first.plugin.link).toBe(link);
    expect(fs.realpathSync(link)).toBe(first.plugin.file);
    expect(first.plugin.file).toBe(path.join(storeRoot(stateDir), first.plugin.sha256, 'libdemo.so'));
    expect(fs.statSync(first.plugin.file).mode & 0o777).toBe(0o444);
    expect(fs.readdirSync(storeRoot(stateDir)).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(registry.requests).toEqual(expect.arrayContaining(['/index.json', '/demo/1.0.0/libdemo.so', '/demo/1.0.0/libdemo.so.sig']));

    // What backworks.yaml names (the link) loads under require_signed, and answers.
    const driver = await openNativePlugin('demo', {
      path: link, isolation: 'none', timeoutMs: 2000, limits: {}, restart: { backoffMs: 100, maxBackoffMs: 1000, maxCrashes: 3, windowMs: 10_000 },
    }, { log: quietLog, stateDir: path.join(stateDir, 'plugins', 'demo'), trust: { config: { keys: [publisher.publicKey], require_signed: true }, stateDir } });
    expect(driver.metadata).toMatchObject({ name: 'demo', version: '1.0.0', path: first.plugin.file });

    expect(await installPlugin('demo', undefined, options(stateDir))).toMatchObject({ action: 'unchanged' });

    await addVersion('demo', '1.1.0');
    publishRegistry(root, { signer: publisher.signer, validForMs: DAY });
    const [updated] = await updatePlugins([], options(stateDir));
    expect(updated).toMatchObject({ action: 'updated', from: '1.0.0', version: '1.1.0' });
    expect(fs.realpathSync(link)).toBe(updated.plugin.file);
    expect(updated.plugin.previous).toEqual([first.plugin.sha256]);
    expect(fs.existsSync(first.plugin.file)).toBe(true); // a gateway still running 1.0.0 keeps its file

    await expect(installPlugin('demo', '1.0.0', options(stateDir))).rejects.toMatchObject({
      code: 'BW_ERR_REGISTRY_ROLLBACK', message: expect.stringContaining('demo 1.0.0 is older than the installed 1.1.0'),
    });
    expect(listInstalled(stateDir).demo.version).toBe('1.1.0');

    const removed = removePlugin('demo', stateDir);
    expect(removed.version).toBe('1.1.0');
    expect(fs.existsSync(link)).toBe(false);
    expect(fs.existsSync(path.dirname(updated.plugin.file))).toBe(false);
    expect(fs.existsSync(path.dirname(first.plugin.file))).toBe(false);
    expect(listInstalled(stateDir)).toEqual({});
    // After a deliberate remove, going back is allowed.
    expect(await installPlugin('demo', '1.0.0', options(stateDir))).toMatchObject({ action: 'installed', version: '1.0.0' });
  });

  it('refuses an index older than one already seen (rollback), and an expired one', async () => {
    await addVersion('demo', '1.0.0').catch(() => undefined);
    const stateDir = tempDir();
    publishRegistry(root, { signer: publisher.signer, validForMs: DAY });
    const newer = fs.readFileSync(path.join(root, 'index.json'), 'utf8');
    const seen = await fetchIndex(`${registry.url}/index.json`, parsePublicKeys([publisher.publicKey]), storeRoot(stateDir));

    // A mirror replays an older (validly signed, unexpired) index.
    const older = publishRegistry(tempDir(), { signer: publisher.signer, validForMs: DAY, version: seen.version - 1 });
    fs.copyFileSync(older.file, path.join(root, 'index.json'));
    await expect(installPlugin('demo', undefined, options(stateDir))).rejects.toMatchObject({
      code: 'BW_ERR_REGISTRY_ROLLBACK', message: expect.stringContaining(`is version ${seen.version - 1}, older than version ${seen.version} seen`),
    });
    fs.writeFileSync(path.join(root, 'index.json'), newer);

    await expect(installPlugin('demo', undefined, options(stateDir, { now: Date.now() + 2 * DAY }))).rejects.toMatchObject({
      code: 'BW_ERR_REGISTRY_EXPIRED', message: expect.stringContaining('expired at'),
    });
    expect(listInstalled(stateDir)).toEqual({});
  });

  it('refuses an index signed by another key, and a download that does not match', async () => {
    const stateDir = tempDir();
    const stranger = newKeyPair();
    await expect(installPlugin('demo', undefined, options(stateDir, { keys: parsePublicKeys([stranger.publicKey]) }))).rejects.toMatchObject({
      code: 'BW_ERR_REGISTRY_BAD_INDEX', message: expect.stringContaining('not in plugin_trust.keys'),
    });

    const lib = await addVersion('broken', '1.0.0');
    publishRegistry(root, { signer: publisher.signer, validForMs: DAY });
    flipByte(lib);
    await expect(installPlugin('broken', undefined, options(stateDir))).rejects.toMatchObject({ code: 'BW_ERR_TRUST_TAMPERED' });
    expect(listInstalled(stateDir)).toEqual({});
    // Nothing but the registry state was written: no temporary download left, no object stored.
    expect(fs.readdirSync(storeRoot(stateDir))).toEqual(['registry-state.json']);
    fs.rmSync(path.join(root, 'broken'), { recursive: true });
    publishRegistry(root, { signer: publisher.signer, validForMs: DAY });

    await expect(installPlugin('nothing', undefined, options(stateDir))).rejects.toMatchObject({
      code: 'BW_ERR_REGISTRY_NOT_FOUND', message: expect.stringContaining('the registry has no plugin "nothing"; it has: demo'),
    });
  });
});

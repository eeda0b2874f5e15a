/** Signatures: what is verified, what is refused with which reason, and that a refused library is never opened. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openNativePlugin } from '../../service/src/plugins/native/index.js';
import { seal } from '../../service/src/trust/envelope.js';
import { describeLibrary, signLibrary } from '../../service/src/trust/manifest.js';
import { parsePublicKeys } from '../../service/src/trust/keys.js';
import { currentPlatform } from '../../service/src/trust/platform.js';
import { verifyLibrary } from '../../service/src/trust/verify.js';
import { admitNativePlugin, beforeOpen } from '../../service/src/trust/admit.js';
import { tempDir } from '../helpers/tmp.js';
import { buildPlugin, flipByte, newKeyPair, quietLog } from './helpers.js';

const publisher = newKeyPair();
const stranger = newKeyPair();
const trusted = { keys: [publisher.publicKey], require_signed: true };
const policy = (requireSigned: boolean, key = publisher.publicKey) => ({ keys: parsePublicKeys([key]), requireSigned });

const nativeOptions = (file: string) => ({
  path: file, isolation: 'process' as const, timeoutMs: 2000, limits: {},
  restart: { backoffMs: 100, maxBackoffMs: 1000, maxCrashes: 3, windowMs: 10_000 },
});

async function signed(options: { marker?: string; version?: string } = {}): Promise<{ dir: string; lib: string }> {
  const dir = tempDir();
  const lib = buildPlugin(dir, options);
  await signLibrary(lib, publisher.signer);
  return { dir, lib };
}

/** Opens a plugin the way the manager does, with plugin_trust; returns the driver or the refusal. */
async function open(file: string, trust: { keys: string[]; require_signed: boolean } | undefined, stateDir = tempDir()) {
  const driver = await openNativePlugin('p', nativeOptions(file), { log: quietLog, stateDir: path.join(stateDir, 'plugins', 'p'), trust: { config: trust, stateDir } });
  return driver;
}

describe('sign and verify', () => {
  it('a signed library verifies, and the manifest binds name, version, ABI, platform, sha256 and length', async () => {
    const { lib } = await signed({ version: '2.3.4' });
    const verdict = await verifyLibrary(lib, policy(true));
    expect(verdict.state).toBe('verified');
    const bytes = fs.readFileSync(lib);
    expect(verdict.state === 'verified' && verdict.manifest).toEqual({
      name: 'hello-c', version: '2.3.4', abi: expect.stringMatching(/^1\.\d+$/), platform: currentPlatform(), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), length: bytes.length,
    });
    expect(currentPlatform()).toMatch(/^linux-(x64|arm64)-(gnu|musl)$/);
  });

  it('a single flipped byte is refused as tampered, whether or not signatures are required', async () => {
    const { lib } = await signed();
    flipByte(lib);
    for (const required of [true, false]) {
      await expect(verifyLibrary(lib, policy(required))).rejects.toMatchObject({
        code: 'BW_ERR_TRUST_TAMPERED', message: expect.stringMatching(/does not match its signed manifest: sha256 is [0-9a-f]{64}, signed [0-9a-f]{64}/),
      });
    }
    fs.appendFileSync(lib, 'x');
    await expect(verifyLibrary(lib, policy(true))).rejects.toMatchObject({ code: 'BW_ERR_TRUST_TAMPERED', message: expect.stringContaining('bytes, signed') });
  });

  it('a signature by a key that is not trusted is refused when required, and loaded as unsigned otherwise', async () => {
    const { lib } = await signed();
    await expect(verifyLibrary(lib, policy(true, stranger.publicKey))).rejects.toMatchObject({
      code: 'BW_ERR_TRUST_UNKNOWN_KEY', message: expect.stringContaining('which is not in plugin_trust.keys'),
    });
    expect((await verifyLibrary(lib, policy(false, stranger.publicKey))).state).toBe('untrusted');
  });

  it('an altered manifest (a newer version claimed) breaks the signature', async () => {
    const { lib } = await signed();
    const sig = JSON.parse(fs.readFileSync(`${lib}.sig`, 'utf8')) as { payload: string };
    sig.payload = sig.payload.replace('"1.0.0"', '"9.9.9"');
    fs.writeFileSync(`${lib}.sig`, JSON.stringify(sig));
    await expect(verifyLibrary(lib, policy(true))).rejects.toMatchObject({ code: 'BW_ERR_TRUST_BAD_SIGNATURE', message: expect.stringContaining('does not verify') });
  });

  it('an unsigned library is refused when signatures are required and passes otherwise', async () => {
    const lib = buildPlugin(tempDir());
    await expect(verifyLibrary(lib, policy(true))).rejects.toMatchObject({
      code: 'BW_ERR_TRUST_UNSIGNED', message: `${lib} is not signed (no ${lib}.sig); plugin_trust.require_signed refuses unsigned plugins`,
    });
    expect((await verifyLibrary(lib, policy(false))).state).toBe('unsigned');
  });

  it('a library signed for another platform is refused', async () => {
    const lib = buildPlugin(tempDir());
    const other = currentPlatform().includes('x64') ? 'linux-arm64-gnu' : 'linux-x64-gnu';
    await signLibrary(lib, publisher.signer, other);
    await expect(verifyLibrary(lib, policy(true))).rejects.toMatchObject({ code: 'BW_ERR_TRUST_MISMATCH', message: expect.stringContaining(`signed for platform ${other}`) });
  });
});

describe('the loader with plugin_trust', () => {
  it('refuses an unsigned, tampered or wrongly keyed library before any process opens it', async () => {
    const cases: Array<[string, (lib: string) => Promise<void>, string]> = [
      ['unsigned', async (lib) => { fs.rmSync(`${lib}.sig`); }, 'BW_ERR_TRUST_UNSIGNED'],
      ['tampered', async (lib) => { flipByte(lib, fs.statSync(lib).size - 8); }, 'BW_ERR_TRUST_TAMPERED'],
      ['wrong key', async (lib) => { await signLibrary(lib, stranger.signer); }, 'BW_ERR_TRUST_UNKNOWN_KEY'],
    ];
    for (const [what, spoil, code] of cases) {
      const marker = path.join(tempDir(), 'opened');
      const { lib } = await signed({ marker });
      await spoil(lib);
      fs.rmSync(marker, { force: true }); // signing read the descriptor in a throwaway host
      await expect(open(lib, trusted), what).rejects.toMatchObject({ code });
      expect(fs.existsSync(marker), `${what}: the library was opened`).toBe(false);
    }
  });

  it('opens a signed library from the read-only, hash-named store, and an unsigned one only without require_signed', async () => {
    const marker = path.join(tempDir(), 'opened');
    const { lib } = await signed({ marker });
    fs.rmSync(marker); // signing read the descriptor in a throwaway host
    const stateDir = tempDir();
    const driver = await open(lib, trusted, stateDir);
    const { sha256 } = await describeLibrary(lib);
    const stored = path.join(stateDir, 'plugin-store', sha256, 'libhello-c.so');
    expect((driver.metadata as { path: string }).path).toBe(stored);
    expect(fs.statSync(stored).mode & 0o777).toBe(0o444);
    expect(fs.statSync(path.dirname(stored)).mode & 0o777).toBe(0o555);
    expect(fs.readFileSync(marker, 'utf8')).toContain('opened');

    const unsigned = buildPlugin(tempDir(), { marker: path.join(tempDir(), 'unsigned-opened') });
    await expect(open(unsigned, trusted)).rejects.toMatchObject({ code: 'BW_ERR_TRUST_UNSIGNED' });
    const loose = await open(unsigned, { keys: [publisher.publicKey], require_signed: false });
    expect((loose.metadata as { path: string }).path).toBe(unsigned);
  });

  it('re-hashes the stored copy right before opening: a copy changed after verification is refused', async () => {
    const { lib } = await signed();
    const admission = await admitNativePlugin(lib, trusted, tempDir(), quietLog);
    // The configured file changing afterwards does not matter: the store copy is what is opened.
    flipByte(lib);
    expect(() => beforeOpen(admission, { name: 'hello-c', version: '1.0.0', abi: admission.manifest!.abi })).not.toThrow();
    fs.chmodSync(path.dirname(admission.path), 0o755);
    flipByte(admission.path);
    expect(() => beforeOpen(admission, { name: 'hello-c', version: '1.0.0', abi: admission.manifest!.abi })).toThrow(expect.objectContaining({ code: 'BW_ERR_TRUST_TAMPERED' }));
  });

  it('refuses a library whose descriptor is not what was signed', async () => {
    const dir = tempDir();
    const lib = buildPlugin(dir);
    const real = await describeLibrary(lib);
    fs.writeFileSync(`${lib}.sig`, JSON.stringify(seal('plugin-manifest', { ...real, name: 'modbus' }, publisher.signer)));
    await expect(open(lib, trusted)).rejects.toMatchObject({
      code: 'BW_ERR_TRUST_MISMATCH', message: expect.stringContaining('descriptor name is "hello-c", the signed manifest says "modbus"'),
    });
  });
});

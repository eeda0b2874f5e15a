import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { report, trustContext } from './context.js';

/** Reads --key values: a public key line, or a .pub file holding one. */
function keyTexts(values: readonly string[]): string[] {
  return values.map((v) => (v.startsWith('ed25519:') ? v : fs.readFileSync(v, 'utf8').trim()));
}

/** `backworks plugin keygen`, `sign` and `verify`. */
export function registerSigningCommands(plugin: Command): void {
  plugin.command('keygen')
    .description('create an Ed25519 signing key pair: NAME.key (private, mode 0600) and NAME.pub (the line for plugin_trust.keys)')
    .option('--out <dir>', 'folder for the two files', '.')
    .option('--name <name>', 'file name without extension', 'backworks-signing')
    .action(async (opts: { out: string; name: string }) => {
      const { generateKeyPair } = await import('../../trust/keys.js');
      try {
        const pair = generateKeyPair(path.resolve(opts.out), opts.name);
        process.stdout.write(`private key ${pair.privateKeyFile} (keep it secret; never on a gateway)\npublic key  ${pair.publicKeyFile} (id ${pair.id})\n\n`
          + `trust it in backworks.yaml:\n\nplugin_trust:\n  require_signed: true\n  keys:\n    - ${pair.publicKey}\n`);
      } catch (err) { report(err); }
    });

  plugin.command('sign')
    .description('sign a plugin library: writes FILE.sig over its name, version, ABI (from the descriptor), platform, sha256 and length')
    .argument('<file>', 'library (.so, .dylib, .dll)')
    .requiredOption('--key <file>', 'private key from backworks plugin keygen')
    .option('--platform <platform>', 'platform the library is built for (default: this machine, e.g. linux-x64-gnu)')
    .action(async (file: string, opts: { key: string; platform?: string }) => {
      const { readPrivateKey } = await import('../../trust/keys.js');
      const { signLibrary } = await import('../../trust/manifest.js');
      try {
        const { manifest, sigFile } = await signLibrary(path.resolve(file), readPrivateKey(opts.key), opts.platform);
        process.stdout.write(`signed ${manifest.name} ${manifest.version} (ABI ${manifest.abi}, ${manifest.platform}, ${manifest.length} bytes, sha256 ${manifest.sha256})\n  -> ${sigFile}\n`);
      } catch (err) { report(err); }
    });

  plugin.command('verify')
    .description('check a library against its FILE.sig and the trusted keys, without opening it; exit 0 verified, 1 refused with the reason')
    .argument('<file>', 'library (.so, .dylib, .dll)')
    .option('-c, --config <file>', 'configuration whose plugin_trust.keys are trusted')
    .option('--key <key...>', 'a trusted public key (ed25519:... or a .pub file), besides the configured ones')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: { config?: string; key?: string[]; json?: boolean }) => {
      const { parsePublicKeys } = await import('../../trust/keys.js');
      const { verifyLibrary } = await import('../../trust/verify.js');
      const absolute = path.resolve(file);
      try {
        const { trust } = await trustContext(opts);
        const keys = parsePublicKeys([...(trust?.keys ?? []), ...keyTexts(opts.key ?? [])]);
        if (!keys.length) throw Object.assign(new Error('no trusted keys: pass --key ed25519:... (or a .pub file) or set plugin_trust.keys in backworks.yaml'), { code: 'BW_ERR_TRUST_KEY' });
        const verdict = await verifyLibrary(absolute, { keys, requireSigned: true });
        if (verdict.state !== 'verified') throw new Error('unreachable: requireSigned verifies or throws');
        const m = verdict.manifest;
        if (opts.json) process.stdout.write(`${JSON.stringify({ valid: true, path: absolute, key: verdict.keyId, manifest: m })}\n`);
        else process.stdout.write(`verified ${m.name} ${m.version} (ABI ${m.abi}, ${m.platform}), sha256 ${m.sha256}, signed by key ${verdict.keyId}\n`);
      } catch (err) {
        if (opts.json && (err as { code?: string }).code) {
          process.stdout.write(`${JSON.stringify({ valid: false, path: absolute, code: (err as { code: string }).code, error: (err as Error).message })}\n`);
          process.exitCode = 1;
        } else report(err);
      }
    });
}

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { repoRoot } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { generateKeyPair, readPrivateKey, type SigningKey } from '../../service/src/trust/keys.js';

export const quietLog = pino({ level: 'silent' });

export interface KeyPair { signer: SigningKey; publicKey: string; dir: string }

export function newKeyPair(): KeyPair {
  const dir = tempDir();
  const pair = generateKeyPair(dir);
  return { signer: readPrivateKey(pair.privateKeyFile), publicKey: pair.publicKey, dir };
}

/**
 * Compiles a real plugin (examples/plugins/hello-c, renamed and versioned) whose library constructor
 * appends a line to `marker`: a marker file that exists proves some process opened the library.
 */
export function buildPlugin(dir: string, options: { name?: string; version?: string; marker?: string } = {}): string {
  const name = options.name ?? 'hello-c';
  const source = fs.readFileSync(path.join(repoRoot, 'examples/plugins/hello-c/hello.c'), 'utf8')
    .replace('.name = "hello-c"', `.name = "${name}"`)
    .replace('.version = "1.0.0"', `.version = "${options.version ?? '1.0.0'}"`);
  const marker = options.marker
    ? `#include <stdio.h>\n__attribute__((constructor)) static void opened(void) { FILE *f = fopen("${options.marker}", "a"); if (f) { fputs("opened\\n", f); fclose(f); } }\n`
    : '';
  const src = path.join(dir, `${name}-${options.version ?? '1.0.0'}.c`);
  fs.writeFileSync(src, `${source}\n${marker}`);
  const out = path.join(dir, `lib${name.replace(/-/g, '_')}.so`);
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', `-I${path.join(repoRoot, 'sdk/c')}`, src, '-o', out]);
  return out;
}

/** Flips one byte in the middle of a file (a real one-byte corruption). */
export function flipByte(file: string, at?: number): void {
  const bytes = fs.readFileSync(file);
  const i = at ?? Math.floor(bytes.length / 2);
  bytes[i] ^= 0xff;
  fs.chmodSync(file, 0o644);
  fs.writeFileSync(file, bytes);
}

/** A static file server on a free port (a registry is static files); `requests` counts what was asked. */
export async function serveFolder(root: string): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(rel);
    const file = path.join(root, rel);
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404).end('not found'); return; }
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

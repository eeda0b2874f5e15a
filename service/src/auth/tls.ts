import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.js';
import { writePrivateFile } from './credentials-file.js';

export interface TlsFiles { cert: Buffer; key: Buffer; fingerprint: string; certFile: string; generated: boolean }

/**
 * What the server listens with: the configured certificate, a self-signed one generated in the state
 * directory (when listening beyond loopback without one), or nothing (plain HTTP, loopback only).
 */
export function resolveTls(tls: { cert: string; key: string } | undefined, host: string, configDir: string, stateDir: string, log: Logger): TlsFiles | undefined {
  if (tls) {
    const certFile = path.resolve(configDir, tls.cert);
    const keyFile = path.resolve(configDir, tls.key);
    const cert = readOrExplain(certFile, 'server.tls.cert');
    return { cert, key: readOrExplain(keyFile, 'server.tls.key'), fingerprint: fingerprintOf(cert, certFile), certFile, generated: false };
  }
  if (isLoopbackHost(host)) return undefined;
  const files = selfSigned(path.join(stateDir, 'tls'), log);
  log.info({ cert: files.certFile, sha256: files.fingerprint }, `serving HTTPS with ${files.generated ? 'a newly generated' : 'the generated'} self-signed certificate; compare this fingerprint when a client asks to trust it (server.tls sets your own)`);
  return files;
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * A certificate for this box's names (host name, localhost, every interface address), made once with
 * Debian's openssl (node:crypto makes keys, not X.509 certificates). ECDSA P-256, ten years: it is
 * pinned by fingerprint, not checked against a CA, so a short life would only break clients.
 */
export function selfSigned(dir: string, log: Logger): TlsFiles {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  let generated = false;
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writePrivateFile(keyFile, keyPem);
    const names = boxNames();
    try {
      execFileSync('openssl', ['req', '-x509', '-new', '-key', keyFile, '-days', '3650', '-sha256', '-subj', `/CN=${names.host}/O=Backworks gateway`,
        '-addext', `subjectAltName=${names.san.join(',')}`, '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
        '-out', `${certFile}.tmp`], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      fs.rmSync(keyFile, { force: true });
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      throw new Error(missing
        ? 'cannot generate a TLS certificate: the openssl command is missing (apt-get install openssl), or set server.tls: {cert, key}, or listen on 127.0.0.1 for plain HTTP'
        : `openssl could not generate a certificate: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
    }
    fs.renameSync(`${certFile}.tmp`, certFile);
    generated = true;
    log.info({ cert: certFile, names: names.san }, 'generated a self-signed TLS certificate');
  }
  const cert = fs.readFileSync(certFile);
  return { cert, key: fs.readFileSync(keyFile), fingerprint: fingerprintOf(cert, certFile), certFile, generated };
}

function boxNames(): { host: string; san: string[] } {
  const host = os.hostname() || 'localhost';
  const dns = new Set([host, 'localhost']);
  const ips = new Set(['127.0.0.1', '::1']);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (!a.address.startsWith('fe80')) ips.add(a.address);
  return { host, san: [...[...dns].map((d) => `DNS:${d}`), ...[...ips].map((ip) => `IP:${ip}`)] };
}

function fingerprintOf(cert: Buffer, file: string): string {
  try {
    return new crypto.X509Certificate(cert).fingerprint256;
  } catch (err) {
    throw new Error(`${file} is not a PEM certificate: ${(err as Error).message}`);
  }
}

function readOrExplain(file: string, key: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the service user must be able to read it`);
  }
}

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetLink } from '../../service/src/uplink/fleet-link.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';
import { openBuffer, readings, tempDir } from '../buffer/helpers.js';
import { startLink } from './helpers.js';

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=backworks-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem');
  return { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

let broker: Broker;
let certs: { ca: string; cert: string; key: string };
const dir = tempDir();
beforeAll(async () => {
  certs = makeCertificates(dir);
  broker = await startMosquitto({ tls: { cafile: certs.ca, certfile: certs.cert, keyfile: certs.key }, users: { gateway: 's3cret' } });
});
afterAll(async () => {
  await broker.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('fleet link over TLS with a username and password', () => {
  it('connects with the CA and the right password, and delivers data', async () => {
    const buffer = openBuffer(path.join(dir, 'ok.db'));
    await buffer.emit('sim', readings('press', 10));
    let link: FleetLink | undefined;
    try {
      link = startLink(buffer, broker.url, { mqtt: { url: broker.url, ca: certs.ca, username: 'gateway', password: 's3cret' } }, 'gw-tls');
      await waitFor('the TLS link', () => link!.linkState === 'online', { timeoutMs: 20_000 });
      await waitFor('the 10 readings acknowledged', () => buffer.pending().fleet === 0, { timeoutMs: 20_000 });
    } finally {
      await link?.stop();
      buffer.close();
    }
  });

  it('stays offline, buffering, with a wrong password, and says why in health', async () => {
    const buffer = openBuffer(path.join(dir, 'bad.db'));
    await buffer.emit('sim', readings('press', 10));
    const link = startLink(buffer, broker.url, { mqtt: { url: broker.url, ca: certs.ca, username: 'gateway', password: 'wrong' } }, 'gw-badpw');
    try {
      await waitFor('the refusal in health', () => /not authorized|bad user name or password/i.test(String(link.health().last_error ?? '')), { timeoutMs: 20_000 });
      expect(link.linkState).not.toBe('online');
      expect(buffer.pending().fleet).toBe(10);
    } finally {
      await link.stop();
      buffer.close();
    }
  });

  it('refuses a broker whose certificate the configured CA did not sign', async () => {
    const buffer = openBuffer(path.join(dir, 'noca.db'));
    const link = startLink(buffer, broker.url, { mqtt: { url: broker.url, username: 'gateway', password: 's3cret' } }, 'gw-noca');
    try {
      await waitFor('a certificate error in health', () => /certificate/i.test(String(link.health().last_error ?? '')), { timeoutMs: 20_000 });
      expect(link.linkState).not.toBe('online');
    } finally {
      await link.stop();
      buffer.close();
    }
  });
});

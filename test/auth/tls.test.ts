import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

/** The certificate a TLS client sees, and the answer to GET path (trusting only `ca`). */
function get(port: number, route: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', servername: 'localhost', port, path: route, ca, headers, agent: false }, (res) => {
      const fingerprint = (res.socket as tls.TLSSocket).getPeerX509Certificate()!.fingerprint256;
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, body, fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS', () => {
  let service: RunningService | undefined;
  afterEach(async () => { await service?.stop(); service = undefined; });

  it('beyond loopback without server.tls: a generated self-signed certificate for the box, its fingerprint logged, HTTPS only', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'backworks.yaml'), 'state_dir: ./state\n');
    service = await startService(path.join(dir, 'backworks.yaml'), { args: ['--host', '0.0.0.0'] });
    expect(service.url).toMatch(/^https:/);
    const port = Number(new URL(service.url).port);
    const certFile = path.join(dir, 'state/tls/cert.pem');
    const cert = fs.readFileSync(certFile);
    const x509 = new crypto.X509Certificate(cert);
    expect(x509.subjectAltName).toContain('DNS:localhost');
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect((fs.statSync(path.join(dir, 'state/tls/key.pem')).mode & 0o777).toString(8)).toBe('600');
    const logged = service.logs.find((l) => typeof l.sha256 === 'string');
    expect(logged?.sha256).toBe(x509.fingerprint256);

    const health = await get(port, '/health', cert);
    expect(health).toMatchObject({ status: 200, fingerprint: x509.fingerprint256 });
    expect(JSON.parse(health.body)).toHaveProperty('status');
    expect((await get(port, '/api/plugins', cert)).status).toBe(401);
    expect((await get(port, '/api/plugins', cert, { authorization: `Bearer ${service.token}` })).status).toBe(200);
    // plain HTTP is not served on that address
    await expect(fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status)).rejects.toThrow();

    // a restart keeps the certificate: clients that pinned it keep working
    await service.stop();
    service = await startService(path.join(dir, 'backworks.yaml'), { args: ['--host', '0.0.0.0'] });
    expect(fs.readFileSync(certFile).equals(cert)).toBe(true);
  });

  it('server.tls: {cert, key} serves HTTPS with that certificate, also on loopback', async () => {
    const dir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    fs.writeFileSync(path.join(dir, 'backworks.yaml'), 'state_dir: ./state\nserver:\n  tls: { cert: cert.pem, key: key.pem }\n');
    service = await startService(path.join(dir, 'backworks.yaml'));
    expect(service.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    const answer = await get(Number(new URL(service.url).port), '/health', cert);
    expect(answer).toMatchObject({ status: 200, fingerprint: new crypto.X509Certificate(cert).fingerprint256 });
    expect(fs.existsSync(path.join(dir, 'state/tls'))).toBe(false);
  });
});

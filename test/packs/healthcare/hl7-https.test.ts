// The FHIR uplink over https: a real node:https FHIR server with certificates made by openssl for
// this run (a test hospital CA and server certificates it signs), the real gateway and plugin.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { authFetch, startService, type RunningService } from '../../helpers/service.js';
import { freePort } from '../../helpers/net.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { countDocuments, fixtureFiles, fixtures, library, message, msa, peer, RawClient, writeConfig } from './hl7-helpers.js';

const run = promisify(execFile);
const FAST_RETRIES = '      uplink: {max_attempts: 2, backoff: 50ms, max_backoff: 200ms, poll: 50ms}';
/** Health is read every 10 s by default; the tests watch it change. */
const FAST_HEALTH = 'health: {interval: 250ms}';

interface Certificates { ca: string; key: string; cert: string; otherKey: string; otherCert: string }

/** A CA, a server certificate it signs for localhost, and one it signs for another name. */
async function makeCertificates(dir: string): Promise<Certificates> {
  const file = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-subj', '/CN=Backworks test hospital CA']);
  const leaf = (name: string, key: string, cert: string, san: string) => run('openssl', ['req', '-x509', '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
    ...ec, '-keyout', file(key), '-out', file(cert), '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`, '-addext', 'basicConstraints=critical,CA:FALSE']);
  await leaf('localhost', 'server.key', 'server.pem', 'DNS:localhost,IP:127.0.0.1');
  await leaf('fhir.other.example', 'other.key', 'other.pem', 'DNS:fhir.other.example');
  return { ca: file('ca.pem'), key: file('server.key'), cert: file('server.pem'), otherKey: file('other.key'), otherCert: file('other.pem') };
}

interface FhirServer {
  base: string;
  /** Bundles accepted, in arrival order. */
  received: Array<{ path: string; contentType: string; bundle: any }>;
  /** Handshakes the server saw fail. */
  tlsErrors: string[];
  close(): Promise<void>;
}

/** An https FHIR server on a free port of 127.0.0.1 that accepts every transaction Bundle. */
async function startFhirServer(key: string, cert: string): Promise<FhirServer> {
  const received: FhirServer['received'] = [];
  const tlsErrors: string[] = [];
  const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      received.push({ path: req.url!, contentType: String(req.headers['content-type']), bundle: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify({ resourceType: 'Bundle', type: 'transaction-response' }));
    });
  });
  server.on('tlsClientError', (err) => tlsErrors.push(err.message));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    base: `https://localhost:${port}/fhir`,
    received,
    tlsErrors,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const uplinkConfig = (base: string, caFile?: string) =>
  `      base_url: "${base}"\n${caFile ? `      tls: {ca_file: "${caFile}"}\n` : ''}${FAST_RETRIES}`;

/** Each stored message's control id (MSH-10) and status, in the order received. */
function statuses(dir: string): Array<{ id: string; status: string }> {
  const db = new Database(path.join(dir, 'state/buffer.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT json_extract(meta, '$.control_id') AS id, status FROM documents ORDER BY id").all() as Array<{ id: string; status: string }>;
  } finally {
    db.close();
  }
}

async function pluginState(service: RunningService): Promise<any> {
  return (await authFetch(`${service.url}/api/plugins/hl7-fhir`)).json();
}

/** The uplink part of the plugin's last health check (`details.uplink`). */
async function uplinkHealth(service: RunningService): Promise<any> {
  return (await pluginState(service)).details?.uplink;
}

async function sendMessages(mllpPort: number, ids: string[]): Promise<void> {
  const client = await RawClient.open(mllpPort);
  for (const id of ids) {
    client.send(client.frame(message('2.5', id)));
    expect(msa(await client.ack())).toEqual(['AA', id]);
  }
  client.close();
}

describe('healthcare/hl7 FHIR uplink over https', () => {
  let certs: Certificates;

  beforeAll(async () => {
    expect(fs.existsSync(library), `${library} missing: run npm run build`).toBe(true);
    certs = await makeCertificates(tempDir('bw-hl7-certs-'));
  });

  it('delivers every Bundle to an https server whose CA tls.ca_file names (a path relative to backworks.yaml)', async () => {
    const fhir = await startFhirServer(certs.key, certs.cert);
    const dir = tempDir('bw-hl7-https-');
    fs.mkdirSync(path.join(dir, 'tls'));
    fs.copyFileSync(certs.ca, path.join(dir, 'tls/hospital-ca.pem'));
    const mllpPort = await freePort();
    const service = await startService(writeConfig(dir, mllpPort, uplinkConfig(fhir.base, 'tls/hospital-ca.pem'), FAST_HEALTH));
    try {
      const { stdout } = await run('/usr/bin/python3', [peer, '127.0.0.1', String(mllpPort), ...fixtureFiles.map((f) => path.join(fixtures, f))]);
      expect(stdout.trim().split('\n').map((l) => JSON.parse(l).msa1)).toEqual(fixtureFiles.map(() => expect.stringMatching(/^(AA|CA)$/)));
      await waitFor('every fixture delivered', () => fhir.received.length === fixtureFiles.length);
      const expected = fixtureFiles.map((f) => {
        const msh = fs.readFileSync(path.join(fixtures, f), 'utf8').split('\r')[0]!.split('|');
        return `${msh[2]}|${msh[3]}|${msh[9]}`;
      });
      expect(fhir.received.map((r) => r.bundle.identifier.value)).toEqual(expected);
      for (const r of fhir.received) {
        expect(r).toMatchObject({ path: '/fhir', contentType: 'application/fhir+json', bundle: { resourceType: 'Bundle', type: 'transaction' } });
      }
      await waitFor('every document marked sent', () => statuses(dir).every((s) => s.status === 'fhir_sent'), { intervalMs: 100 });
      expect(fhir.tlsErrors).toEqual([]);
      await waitFor('health counting them sent', async () => (await uplinkHealth(service))?.sent === fixtureFiles.length, { intervalMs: 100 });
    } finally {
      await service.stop();
      await fhir.close();
    }
  });

  it('an untrusted certificate: nothing delivered, health names the problem, nothing dead-lettered; after a restart that trusts the CA every message arrives once', async () => {
    const fhir = await startFhirServer(certs.key, certs.cert);
    const dir = tempDir('bw-hl7-untrusted-');
    const mllpPort = await freePort();
    const config = writeConfig(dir, mllpPort, uplinkConfig(fhir.base), FAST_HEALTH);
    let service = await startService(config);
    const ids = ['TLS-1', 'TLS-2', 'TLS-3', 'TLS-4', 'TLS-5'];
    try {
      await sendMessages(mllpPort, ids);
      // More attempts than max_attempts (2): a failed handshake never dead-letters a document.
      const uplink = await waitFor('four failed handshakes', async () => {
        const u = await uplinkHealth(service);
        return u?.attempts >= 4 && u;
      }, { intervalMs: 100 });
      expect(uplink.last_error).toMatch(/^TLS handshake with localhost:\d+ failed: .*UnknownIssuer/);
      expect(uplink.dead_letter).toBe(0);
      const health = await (await authFetch(`${service.url}/health`)).json();
      expect(JSON.stringify(health)).toMatch(/FHIR uplink retrying document \d+ \(attempt \d+\): TLS handshake with localhost:\d+ failed: .*UnknownIssuer/);
      expect(fhir.received).toEqual([]);
      expect(fhir.tlsErrors.length).toBeGreaterThan(0); // the server saw the attempts and the client's alert
      expect(statuses(dir)).toEqual(ids.map((id) => ({ id, status: 'received' })));

      await service.stop();
      fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(uplinkConfig(fhir.base), uplinkConfig(fhir.base, certs.ca)));
      service = await startService(config);
      await waitFor('every stored message delivered', () => fhir.received.length >= ids.length);
      await waitFor('every document marked sent', () => statuses(dir).every((s) => s.status === 'fhir_sent'), { intervalMs: 100 });
      expect(fhir.received.map((r) => r.bundle.identifier.value)).toEqual(ids.map((id) => `SRC|FAC|${id}`));
      expect(countDocuments(dir)).toBe(ids.length);
    } finally {
      await service.stop();
      await fhir.close();
    }
  });

  it('verifies the host name: a certificate from the trusted CA for another name is refused', async () => {
    const fhir = await startFhirServer(certs.otherKey, certs.otherCert);
    const dir = tempDir('bw-hl7-name-');
    const mllpPort = await freePort();
    const service = await startService(writeConfig(dir, mllpPort, uplinkConfig(fhir.base, certs.ca), FAST_HEALTH));
    try {
      await sendMessages(mllpPort, ['NAME-1']);
      const uplink = await waitFor('a failed handshake', async () => {
        const u = await uplinkHealth(service);
        return u?.last_error && u;
      }, { intervalMs: 100 });
      expect(uplink.last_error).toMatch(/^TLS handshake with localhost:\d+ failed: .*CertNotValidForName/);
      expect(fhir.received).toEqual([]);
      expect(statuses(dir)).toEqual([{ id: 'NAME-1', status: 'received' }]);
    } finally {
      await service.stop();
      await fhir.close();
    }
  });

  it('a tls.ca_file that is not a certificate is a config error naming the file and the problem', async () => {
    const dir = tempDir('bw-hl7-badca-');
    fs.writeFileSync(path.join(dir, 'not-a-cert.pem'), fs.readFileSync(certs.key)); // a key, not a certificate
    const mllpPort = await freePort();
    const service = await startService(writeConfig(dir, mllpPort, uplinkConfig('https://localhost:1/fhir', 'not-a-cert.pem')));
    try {
      const plugin = await pluginState(service);
      expect(plugin.state).toBe('failed');
      expect(JSON.stringify(plugin)).toContain('tls.ca_file not-a-cert.pem: no PEM certificate in it');
    } finally {
      await service.stop();
    }
  });
});


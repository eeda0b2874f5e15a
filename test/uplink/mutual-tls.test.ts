import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetLink } from '../../service/src/uplink/fleet-link.js';
import { openBuffer, tempDir } from '../buffer/helpers.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { repoRoot } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { startLink } from './helpers.js';

/**
 * Gateways that prove who they are with a client certificate (Mosquitto `require_certificate`,
 * `use_identity_as_username`): the certificate's CN is the dynamic-security client, so the same
 * per-gateway ACL applies as with passwords. A throwaway CA made with openssl.
 */
const DYNSEC = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
const dir = tempDir();
let broker: Broker;
const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });

function sign(name: string, subject: string, ext: string): void {
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
}

beforeAll(async () => {
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=backworks-fleet-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
  sign('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\n');
  sign('gw-m', '/CN=gw-plant-gw-m', 'extendedKeyUsage=clientAuth\n');
  const dynsec = path.join(dir, 'dynamic-security.json');
  execFileSync('mosquitto_ctrl', ['dynsec', 'init', dynsec, 'admin', 'admin-pw'], { stdio: 'ignore' });
  // Provisioned on a plain listener first (the admin has no certificate), then served with mutual TLS.
  const setup = await startMosquitto({ extra: [`plugin ${DYNSEC}`, `plugin_opt_config_file ${dynsec}`] });
  execFileSync('sh', [path.join(repoRoot, 'deploy/mqtt/fleet-acl.sh'), 'gateway', 'plant', 'gw-m', 'unused-with-certificates'], {
    env: { ...process.env, MOSQUITTO_CTRL: `-h 127.0.0.1 -p ${setup.port} -u admin -P admin-pw` }, stdio: 'pipe',
  });
  await setup.close();
  broker = await startMosquitto({
    tls: { cafile: path.join(dir, 'ca.pem'), certfile: path.join(dir, 'server.pem'), keyfile: path.join(dir, 'server.key') },
    extra: ['require_certificate true', 'use_identity_as_username true', `plugin ${DYNSEC}`, `plugin_opt_config_file ${dynsec}`],
  });
}, 60_000);
afterAll(async () => {
  await broker.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('fleet link with client certificates', () => {
  it('connects with its certificate, is refused without one, and its certificate is its ACL identity', async () => {
    const buffer = openBuffer(path.join(dir, 'm.db'));
    const file = (f: string) => path.join(dir, f);
    let link: FleetLink | undefined;
    let anonymous: FleetLink | undefined;
    try {
      link = startLink(buffer, broker.url, { mqtt: { url: broker.url, ca: file('ca.pem'), cert: file('gw-m.pem'), key: file('gw-m.key') } }, 'gw-m');
      await waitFor('the mutual-TLS link', () => link!.linkState === 'online', { timeoutMs: 20_000 });

      const other = openBuffer(path.join(dir, 'n.db'));
      anonymous = startLink(other, broker.url, { mqtt: { url: broker.url, ca: file('ca.pem') } }, 'gw-n');
      await waitFor('the refusal without a certificate', () => anonymous!.health().last_error !== undefined, { timeoutMs: 20_000 });
      expect(anonymous.linkState).not.toBe('online');
      await anonymous.stop();
      other.close();

      const rogue = await mqtt.connectAsync(broker.url, { protocolVersion: 5, ca: fs.readFileSync(file('ca.pem')), cert: fs.readFileSync(file('gw-m.pem')), key: fs.readFileSync(file('gw-m.key')), reconnectPeriod: 0 });
      const code = await rogue.publishAsync('backworks/plant/gw-b/status', '{}', { qos: 1 }).then(() => 0, (err: { code?: number }) => err.code);
      await rogue.endAsync(true);
      expect(code).toBe(0x87);
    } finally {
      await link?.stop();
      buffer.close();
    }
  }, 60_000);
});

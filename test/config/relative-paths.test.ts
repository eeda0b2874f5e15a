import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authFetch, repoRoot, startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Relative paths in any plugin's config mean the folder of backworks.yaml when the gateway runs,
 * as when `check` reads them, whatever the working directory (under systemd it is /): a pack's
 * own (Modbus profiles_dir) and a native plugin's loaded into the service (HL7 tls.ca_file with
 * isolation: none, opened by the plugin itself).
 */
const services: RunningService[] = [];
afterAll(async () => { for (const s of services) await s.stop(); });

describe('relative paths in plugin configs', () => {
  it('resolve against the folder of backworks.yaml when the gateway runs from /', async () => {
    const dir = tempDir('bw-relative-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.pem'), '-subj', '/CN=Backworks test CA'], { stdio: 'ignore' });
    fs.cpSync(path.join(repoRoot, 'test/packs/manufacturing/modbus/fixtures/profiles'), path.join(dir, 'my-profiles'), { recursive: true });
    const config = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(config, `
state_dir: ./state
health: {interval: 250ms}
plugins:
  plc:
    type: builtin
    pack: manufacturing/modbus
    config:
      profiles_dir: my-profiles
      devices:
        - {name: pump, address: "127.0.0.1:1", profile: acme/pump@1.0}
  hl7:
    type: external
    path: ${path.join(repoRoot, 'target/release/libhl7_plugin.so')}
    isolation: none
    config:
      base_url: https://fhir.example
      tls: {ca_file: ./ca.pem}
`);
    const service = await startService(config, { cwd: '/' });
    services.push(service);
    const health = await waitFor('both plugins settled', async () => {
      const body = await (await authFetch(`${service.url}/health`)).json() as { plugins: Record<string, { state: string; message?: string }> };
      return body.plugins.plc && body.plugins.hl7 ? body : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    expect({ plc: health.plugins.plc.state, hl7: health.plugins.hl7.state }, JSON.stringify(health.plugins)).toEqual({ plc: 'running', hl7: 'running' });
  });
});

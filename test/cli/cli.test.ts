import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot, startService, type RunningService } from '../helpers/service.js';
import { writeTemp } from '../helpers/tmp.js';

const exec = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cliPath, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const quickstart = path.join(repoRoot, 'examples/quickstart/backworks.yaml');

describe('backworks CLI', () => {
  it('check: exit 0 for a valid file, 1 with FILE:LINE:COL for an invalid one, 2 for a usage error', async () => {
    expect(await cli('check', '-c', quickstart)).toMatchObject({ code: 0, stdout: `${quickstart}: valid (2 plugins, 1 endpoints)\n` });
    const bad = writeTemp('backworks.yaml', 'server:\n  prot: 80\n');
    const invalid = await cli('check', '-c', bad);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain(`${bad}:2:3: unknown key "prot"; did you mean "port"?`);
    expect((await cli('check', '--no-such-option')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
  });

  it('check --json prints a machine-readable result', async () => {
    const bad = writeTemp('backworks.yaml', 'server:\n  port: 0\n');
    const { code, stdout } = await cli('check', '-c', bad, '--json');
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual({ valid: false, file: bad, errors: [{ file: bad, line: 2, column: 9, message: '"port" must be between 1 and 65535, got 0' }] });
  });

  it('schema prints the JSON Schema that is committed and referenced by every example', async () => {
    const { stdout } = await cli('schema');
    const committed = fs.readFileSync(path.join(repoRoot, 'service/schema/backworks.schema.json'), 'utf8');
    expect(JSON.parse(stdout)).toEqual(JSON.parse(committed));
    const examples = fs.readdirSync(path.join(repoRoot, 'examples'), { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name === 'backworks.yaml')
      .map((d) => path.join(d.parentPath, d.name));
    expect(examples.length).toBeGreaterThan(0);
    for (const file of examples) {
      const first = fs.readFileSync(file, 'utf8').split('\n')[0];
      const ref = /^# yaml-language-server: \$schema=(.+)$/.exec(first)?.[1];
      expect(ref, file).toBeDefined();
      expect(path.resolve(path.dirname(file), ref!)).toBe(path.join(repoRoot, 'service/schema/backworks.schema.json'));
    }
  });

  it('--version and --help', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(await cli('--version')).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    for (const command of ['run', 'check', 'schema', 'status']) {
      const help = await cli(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: backworks ${command}`);
    }
  });

  it('run refuses an invalid file with its errors and exit 1', async () => {
    const bad = writeTemp('backworks.yaml', 'endpoints:\n  m:\n    path: /metrics\n');
    const { code, stderr } = await cli('run', '-c', bad);
    expect(code).toBe(1);
    expect(stderr).toContain(`${bad}:3:11: "/metrics" is reserved`);
  });
});

describe('the quickstart gateway', () => {
  let service: RunningService;
  beforeAll(async () => { service = await startService(quickstart); });
  afterAll(async () => { expect(await service.stop()).toBe(0); });

  it('serves /health with each plugin', async () => {
    const res = await service.fetch('/health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; plugins: Record<string, { state: string }> };
    expect(body.status).toBe('healthy');
    expect(Object.keys(body.plugins)).toEqual(['machines', 'ingest']);
    expect(body.plugins.machines.state).toBe('running');
  });

  it('serves its configured endpoint (auth: none on loopback) and answers bad input with JSON {error, status}', async () => {
    const json = { 'content-type': 'application/json' };
    const ok = await fetch(`${service.url}/ingest`, { method: 'POST', headers: json, body: JSON.stringify([{ device: 'press-1', point: 'door', value: true }]) });
    expect(await ok.json()).toEqual({ accepted: 1 });
    const bad = await fetch(`${service.url}/ingest`, { method: 'POST', headers: json, body: '{"device": "press-1"' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ status: 400, error: expect.stringContaining('body is not JSON') });
    const big = await fetch(`${service.url}/ingest`, { method: 'POST', headers: json, body: 'x'.repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ status: 413, code: 'BW_ERR_HTTP_BODY_TOO_LARGE' });
    const missing = await service.fetch('/nowhere');
    expect(await missing.json()).toEqual({ error: 'no endpoint GET /nowhere', status: 404, code: 'BW_ERR_HTTP_NOT_FOUND' });
  });

  it('serves /metrics without a token to this machine (server.metrics.auth: loopback), with endpoint latency, plugin calls and breaker state', async () => {
    await fetch(`${service.url}/ingest`);
    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(text).toMatch(/backworks_http_request_duration_seconds_count\{endpoint="ingest",method="GET",status="200"\} [1-9]/);
    expect(text).toMatch(/backworks_plugin_calls_total\{plugin="ingest",call="process_endpoint_data"\} [1-9]/);
    expect(text).toContain('backworks_plugin_breaker_state{plugin="machines"} 0');
    expect(text).toMatch(/backworks_readings_emitted_total\{plugin="machines"\} [1-9]/);
  });

  it('status reads the health of the running gateway', async () => {
    const { code, stdout } = await cli('status', '--url', service.url, '--token', service.token, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'healthy', plugins: { ingest: { state: 'running' } } });
    const down = await cli('status', '--url', 'http://127.0.0.1:1');
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach http://127.0.0.1:1');
  });
});

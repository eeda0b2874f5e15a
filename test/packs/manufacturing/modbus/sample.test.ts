import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** `backworks check` (the compiled CLI) on the pack's sample and on mistakes in a copy of it. */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const cli = path.join(repo, 'dist/service/src/cli.js');
const sample = path.join(repo, 'packs/manufacturing/modbus/sample.yaml');

function check(file: string) {
  const r = spawnSync(process.execPath, [cli, 'check', '-c', file], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

describe('manufacturing/modbus sample.yaml', () => {
  it('is accepted by backworks check', () => {
    const { status, out } = check(sample);
    expect(out).toContain('valid');
    expect(status).toBe(0);
  });

  it('gets FILE:LINE:COL for mistakes in devices, points and profile versions', () => {
    const text = fs.readFileSync(sample, 'utf8')
      .replace('profile: schneider/pm5300@2.1', 'profile: schneider/pm9999@2.1')
      .replace('{ name: cycle_count, table: holding, address: 102, type: uint32 }', '{ name: cycle_count, table: input, address: 102, type: uint32, access: read_write }')
      .replace('serial: { path: /dev/ttyUSB0, baud: 19200, parity: even, data_bits: 8, stop_bits: 1 }\n          profile', 'serial: { path: /dev/ttyUSB0, baud: 9600, parity: even, data_bits: 8, stop_bits: 1 }\n          profile')
      .replace('address: "192.168.1.110:502"', 'address: "192.168.1.110:502"\n          bogus: 1');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-modbus-check-'));
    const file = path.join(dir, 'backworks.yaml');
    fs.writeFileSync(file, text);
    try {
      const schemaPass = check(file);
      expect(schemaPass.status).toBe(1);
      expect(schemaPass.out).toContain(`${file}:${lineOf(text, 'bogus: 1')}:11: unknown key "bogus"`);
      // with the schema mistake fixed, the pack's own check speaks
      fs.writeFileSync(file, text.replace('\n          bogus: 1', ''));
      const fixed = fs.readFileSync(file, 'utf8');
      const { status, out } = check(file);
      expect(status).toBe(1);
      expect(out).toContain(`${file}:${lineOf(fixed, 'schneider/pm9999')}:20: no firmware profile for schneider/pm9999; known: `);
      expect(out).toContain(`${file}:${lineOf(fixed, 'name: cycle_count')}:`);
      expect(out).toContain('input registers are read-only in Modbus');
      expect(out).toMatch(/\/dev\/ttyUSB0 is opened by device 4 with other settings/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

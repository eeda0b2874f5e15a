import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import createModbus, { checkConfig } from '../../../../packs/manufacturing/modbus/index.js';
import type { ModbusPlugin } from '../../../../packs/manufacturing/modbus/plugin.js';
import { loadProfiles, resolveProfile, versionInRange } from '../../../../packs/manufacturing/modbus/profiles.js';
import { profilesDir, resolveDevices } from '../../../../packs/manufacturing/modbus/resolve.js';
import { planReads } from '../../../../packs/manufacturing/modbus/planner.js';
import { repoRoot } from '../../../helpers/service.js';
import { tempDir } from '../../../helpers/tmp.js';
import { collectingHost } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures');

describe('firmware profiles', () => {
  it('ships at least five valid profiles, each naming its document, found without profiles_dir', () => {
    expect(profilesDir({}, '/elsewhere')).toBe(path.join(repoRoot, 'firmware-profiles'));
    const lib = loadProfiles(profilesDir({}, '/elsewhere'), { fresh: true });
    expect(lib.issues).toEqual([]);
    expect(lib.profiles.length).toBeGreaterThanOrEqual(5);
    for (const { profile } of lib.profiles) expect(profile.document.length).toBeGreaterThan(20);
    expect(lib.profiles.map((p) => `${p.profile.vendor}/${p.profile.model}`)).toContain('generic/sunspec');
  });

  it('picks the profile whose firmware range contains the version', () => {
    const lib = loadProfiles(path.join(fixtures, 'profiles'), { fresh: true });
    const pick = (v: string) => path.basename(resolveProfile(lib, `acme/pump@${v}`).found?.file ?? 'none');
    expect(pick('1.0')).toBe('pump-v1.yaml');
    expect(pick('1.4.9')).toBe('pump-v1.yaml');
    expect(pick('1.5')).toBe('pump-v2.yaml');
    expect(pick('1.7')).toBe('pump-v1.yaml');
    expect(pick('3.1')).toBe('pump-v2.yaml');
    expect(resolveProfile(lib, 'acme/pump@0.9').error).toMatch(/no acme\/pump profile covers firmware 0\.9; profiles cover: ">=1\.0 <1\.5 \|\| =1\.7" \(pump-v1\.yaml\)/);
    expect(resolveProfile(lib, 'acme/fan@1').error).toContain('no firmware profile for acme/fan; known: acme/pump');
    expect(versionInRange('v2.0.1', '>=2')).toBe(true);
    expect(versionInRange('1.10', '<1.9')).toBe(false); // numeric, not text, comparison
  });

  it('locates mistakes inside a profile file as FILE:LINE:COL', () => {
    const lib = loadProfiles(path.join(fixtures, 'broken-profiles'), { fresh: true });
    const messages = lib.issues.map((i) => i.message);
    const bad = path.join(fixtures, 'broken-profiles', 'bad.yaml');
    const range = path.join(fixtures, 'broken-profiles', 'range.yaml');
    expect(messages).toContainEqual(expect.stringMatching(new RegExp(`^${bad}:6:57: "type" must be one of bool, int16, .*; got "?float23"?`)));
    expect(messages).toContainEqual(`${range}:3:11: firmware range "from 1 to 2": "from" is not a comparator like >=2.0, <3 or 1.4.2`);
    // and `check` reports them where the device uses a profile
    const problems = checkConfig({ profiles_dir: 'fixtures/broken-profiles', devices: [{ address: '10.0.0.1', profile: 'acme/valve@1.2' }] }, { configDir: here });
    expect(problems[0].path).toEqual(['devices', 0, 'profile']);
    expect(problems[0].message).toContain('bad.yaml:6:57');
  });

  it('merges a profile with the device: quirks apply, points override by name and add', () => {
    const { devices, problems } = resolveDevices({
      profiles_dir: path.join(fixtures, 'profiles'),
      devices: [{
        address: '10.0.0.5:1502', unit_id: 3, profile: 'acme/pump@1.2',
        points: [
          { name: 'speed', scale: 0.5 },                                          // override one field
          { name: 'temp', table: 'input', address: 7, type: 'int16', unit: 'C' }, // add (0-based: the device's own base)
        ],
      }],
    }, here);
    expect(problems).toEqual([]);
    const d = devices[0];
    expect([d.name, d.host, d.port, d.unitId, d.maxRegisters]).toEqual(['10.0.0.5_1502-u3', '10.0.0.5', 1502, 3, 4]);
    const byName = Object.fromEntries(d.points.map((p) => [p.name, p]));
    expect(byName.speed).toMatchObject({ table: 'holding', address: 0, scale: 0.5, unit: 'rpm' }); // register 1 -> address 0
    expect(byName.flow).toMatchObject({ address: 1, wordOrder: 'little', scale: 0.01 });
    expect(byName.run).toMatchObject({ table: 'coil', address: 0, type: 'bool' });
    expect(byName.temp).toMatchObject({ table: 'input', address: 7 });
    expect(d.profile?.file).toMatch(/pump-v1\.yaml$/);
  });

  it('refuses a poll interval faster than the profile allows, and other device mistakes, with their paths', () => {
    const problems = checkConfig({
      profiles_dir: 'fixtures/profiles',
      devices: [
        { address: '10.0.0.5', profile: 'acme/pump@1.0', interval: '100ms' },
        { address: '10.0.0.6:99999', report: 'every_poll', report_every: '1m', points: [{ name: 'a', table: 'holding', address: 1 }] },
        { transport: 'rtu', points: [{ name: 'a', table: 'holding', address: 1 }] },
        { address: '10.0.0.7', points: [
          { name: 'w', table: 'input', address: 1, access: 'read_write' },
          { name: 'c', table: 'coil', address: 1, type: 'float32' },
          { name: 's', table: 'holding', address: 1, type: 'string' },
          { name: 'g', table: 'holding', address: 1, group: 'fast' },
          { name: 'e', table: 'holding', address: 65535, type: 'uint32' },
        ] },
        { address: '10.0.0.5', profile: 'acme/pump@0.5' },
        { address: '10.0.0.8', name: 'dup', points: [{ name: 'a', table: 'holding', address: 1 }] },
        { address: '10.0.0.9', name: 'dup', points: [{ name: 'a', table: 'holding', address: 1 }] },
      ],
    }, { configDir: here });
    const byPath = problems.map((p) => `${p.path.join('.')}: ${p.message}`);
    expect(byPath).toEqual([
      'devices.0.interval: poll group "default" every 100ms is faster than the profile allows (min_interval 500ms)',
      'devices.1.address: port "99999" must be a whole number from 1 to 65535',
      'devices.1.report_every: `report_every` applies to `report: change` only (every_poll reports every value anyway)',
      'devices.2: an rtu device needs `serial: {path, baud, parity, data_bits, stop_bits}`',
      'devices.3.points.0.access: point "w": input registers are read-only in Modbus; use table holding or coil to write',
      'devices.3.points.1.type: point "c": a coil holds one bit; its type must be bool, not float32',
      'devices.3.points.2: point "s": a string needs `length` (registers)',
      'devices.3.points.3.group: point "g": no poll group "fast"; declared: default',
      'devices.3.points.4.address: point "e" runs past the last address 65535',
      expect.stringContaining('devices.4.profile: no acme/pump profile covers firmware 0.5'),
      'devices.6.name: device name "dup" is already used by device 5; give one of them a distinct name',
    ]);
  });

  it('plans within a profile\'s max_registers (EM24: 11 registers per request)', () => {
    const { devices, problems } = resolveDevices({ devices: [{ address: '10.0.0.1', profile: 'carlo-gavazzi/em24@1' }] }, here);
    expect(problems).toEqual([]);
    const plan = planReads(devices[0].points, devices[0]);
    expect(plan.every((r) => r.count <= 11)).toBe(true);
    // every point is read exactly once
    expect(plan.flatMap((r) => r.points.map((p) => p.point.name)).sort()).toEqual(devices[0].points.map((p) => p.name).sort());
  });
  it('resolves profiles_dir against the folder of backworks.yaml when running, as check does, whatever the working directory', async () => {
    // Under systemd the working directory is /; here it is the repository, which has no my-profiles/.
    const configDir = tempDir();
    fs.cpSync(path.join(fixtures, 'profiles'), path.join(configDir, 'my-profiles'), { recursive: true });
    expect(fs.existsSync(path.resolve('my-profiles'))).toBe(false);
    const config = { profiles_dir: 'my-profiles', devices: [{ name: 'pump', address: '127.0.0.1:1', profile: 'acme/pump@1.0' }] };
    expect(checkConfig(config, { configDir })).toEqual([]);
    const plugin = createModbus() as ModbusPlugin;
    await plugin.initialize(config, { ...collectingHost(), configDir });
    try {
      expect(plugin.poller('pump')).toBeDefined();
    } finally {
      await plugin.shutdown();
    }
  });
});

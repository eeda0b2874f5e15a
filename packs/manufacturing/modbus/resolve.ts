import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHostPort } from '../../../sdk/typescript/address.js';
import { parseDuration } from '../../../sdk/typescript/units.js';
import type { Access, DataType, DeviceConfig, ModbusConfig, Order, PointConfig, Table } from './config.js';
import { registerCount } from './codec.js';
import { loadProfiles, resolveProfile, type LoadedProfile } from './profiles.js';

/**
 * A device as the poller uses it: every default applied, the firmware profile merged in, and every
 * address turned into a 0-based protocol address. `resolveDevices` also returns each mistake with
 * its path inside the plugin's `config:`, which is how `backworks check` reports them.
 */

export interface Point {
  name: string;
  table: Table;
  /** 0-based protocol address. */
  address: number;
  type: DataType;
  /** Registers (or bits) the point occupies. */
  count: number;
  bit?: number;
  length?: number;
  byteOrder: Order;
  wordOrder: Order;
  scale: number;
  offset: number;
  unit?: string;
  access: Access;
  group: string;
  deadband: number;
  min?: number;
  max?: number;
}

export interface SerialSettings {
  path: string;
  baud: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

export interface Device {
  name: string;
  transport: 'tcp' | 'rtu';
  host: string;
  port: number;
  unitId: number;
  serial?: SerialSettings;
  timeoutMs: number;
  retries: number;
  backoffMaxMs: number;
  maxRegisters: number;
  maxBits: number;
  maxGap: number;
  /** Unused coils/discrete inputs one request may read to merge two ranges. */
  maxGapBits: number;
  report: 'change' | 'every_poll';
  /** report: change — an unchanged value is emitted again (with a fresh ts) this often. */
  reportEveryMs: number;
  /** Write with FC15/FC16 even for a single coil or register. */
  writeMultiple: boolean;
  /** Poll group name -> interval in ms. */
  groups: Map<string, number>;
  points: Point[];
  profile?: { ref: string; file: string; document: string };
}

export interface ResolveProblem {
  path: Array<string | number>;
  message: string;
}

function isFolder(dir: string): boolean {
  try { return fs.statSync(dir).isDirectory(); } catch { return false; }
}

/**
 * The installed firmware-profiles/ folder: the nearest above this module, which is the checkout
 * (sources or dist/) or the package's root (the .deb links it there).
 */
const installedProfiles = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (isFolder(path.join(dir, 'firmware-profiles'))) return path.join(dir, 'firmware-profiles');
  }
  return path.join(here, 'firmware-profiles');
})();

export function profilesDir(config: Pick<ModbusConfig, 'profiles_dir'>, configDir: string): string {
  return config.profiles_dir ? path.resolve(configDir, config.profiles_dir) : installedProfiles;
}

export function resolveDevices(config: ModbusConfig, configDir: string): { devices: Device[]; problems: ResolveProblem[] } {
  const problems: ResolveProblem[] = [];
  const devices: Device[] = [];
  const dir = profilesDir(config, configDir);
  const dirMissing = config.profiles_dir !== undefined && !isFolder(dir);
  if (dirMissing) {
    problems.push({ path: ['profiles_dir'], message: `folder ${dir} does not exist (profiles_dir is relative to the folder of backworks.yaml, ${configDir})` });
  }
  const names = new Map<string, number>();
  let profileIssuesReported = false;
  config.devices.forEach((dc, i) => {
    const at = (...rest: Array<string | number>) => ['devices', i, ...rest];
    const before = problems.length;
    let loaded: LoadedProfile | undefined;
    if (dc.profile) {
      const library = loadProfiles(dir);
      // A broken profile file is reported once, at the first device that uses profiles, with its own FILE:LINE:COL.
      if (!profileIssuesReported) {
        profileIssuesReported = true;
        for (const issue of library.issues) problems.push({ path: at('profile'), message: `invalid firmware profile ${issue.message}` });
      }
      const { found, error } = resolveProfile(library, dc.profile);
      if (error && !dirMissing) problems.push({ path: at('profile'), message: error });
      loaded = found;
    }
    const device = resolveDevice(dc, i, loaded, problems);
    if (problems.length > before) return;
    const first = names.get(device.name);
    if (first !== undefined) {
      problems.push({ path: at(dc.name ? 'name' : 'address'), message: `device name "${device.name}" is already used by device ${first}; give one of them a distinct name` });
      return;
    }
    names.set(device.name, i);
    devices.push(device);
  });
  // Devices on one RS-485 bus share the port: they must agree on how it is opened.
  const buses = new Map<string, { settings: string; index: number }>();
  config.devices.forEach((dc, i) => {
    if ((dc.transport ?? 'tcp') !== 'rtu' || !dc.serial) return;
    const settings = JSON.stringify([dc.serial.baud ?? 9600, dc.serial.parity ?? 'none', dc.serial.data_bits ?? 8, dc.serial.stop_bits ?? 1]);
    const first = buses.get(dc.serial.path);
    if (!first) buses.set(dc.serial.path, { settings, index: i });
    else if (first.settings !== settings) {
      problems.push({ path: ['devices', i, 'serial'], message: `${dc.serial.path} is opened by device ${first.index} with other settings; devices on one bus must use the same baud, parity, data_bits and stop_bits` });
    }
  });
  return { devices, problems };
}

function resolveDevice(dc: DeviceConfig, index: number, loaded: LoadedProfile | undefined, problems: ResolveProblem[]): Device {
  const at = (...rest: Array<string | number>) => ['devices', index, ...rest];
  const quirks = loaded?.profile.quirks ?? {};
  const transport = dc.transport ?? 'tcp';
  let host = '';
  let port = 502;
  if (transport === 'tcp') {
    if (!dc.address) problems.push({ path: at(), message: 'a tcp device needs an `address` ("host" or "host:port")' });
    else {
      const parsed = parseHostPort(dc.address, 502);
      if ('problem' in parsed) problems.push({ path: at('address'), message: parsed.problem });
      else ({ host, port } = parsed);
    }
    if (dc.serial) problems.push({ path: at('serial'), message: '`serial` applies to transport rtu only' });
  } else if (!dc.serial) {
    problems.push({ path: at(), message: 'an rtu device needs `serial: {path, baud, parity, data_bits, stop_bits}`' });
  }
  if (dc.report === 'every_poll' && dc.report_every !== undefined) {
    problems.push({ path: at('report_every'), message: '`report_every` applies to `report: change` only (every_poll reports every value anyway)' });
  }
  // On a serial bus 0 is the broadcast address (no device answers it) and 248-255 are reserved.
  if (transport === 'rtu' && dc.unit_id !== undefined && (dc.unit_id < 1 || dc.unit_id > 247)) {
    problems.push({ path: at('unit_id'), message: `unit_id ${dc.unit_id} cannot be a device on a serial bus (0 is broadcast, 248-255 are reserved); write the device's address, 1 to 247` });
  }
  const unitId = dc.unit_id ?? 1;
  const name = dc.name ?? (transport === 'tcp' ? `${(dc.address ?? '').replace(/[^A-Za-z0-9_.-]/g, '_')}-u${unitId}` : `${path.basename(dc.serial?.path ?? 'serial')}-u${unitId}`);

  const groups = new Map<string, number>([['default', parseDuration(dc.interval ?? '1s')]]);
  for (const [g, pg] of Object.entries(dc.poll_groups ?? {})) groups.set(g, parseDuration(pg.interval ?? '1s'));
  const minInterval = quirks.min_interval ? parseDuration(quirks.min_interval) : 0;
  for (const [g, ms] of groups) {
    if (ms < minInterval) {
      problems.push({ path: g === 'default' ? at('interval') : at('poll_groups', g, 'interval'), message: `poll group "${g}" every ${ms}ms is faster than the profile allows (min_interval ${quirks.min_interval})` });
    }
  }

  const byteOrder = dc.byte_order ?? quirks.byte_order ?? 'big';
  const wordOrder = dc.word_order ?? quirks.word_order ?? 'big';
  const maxRegisters = dc.max_registers ?? quirks.max_registers ?? 125;
  const device: Device = {
    name, transport, host, port, unitId,
    serial: dc.serial && {
      path: dc.serial.path, baud: dc.serial.baud ?? 9600, parity: dc.serial.parity ?? 'none',
      dataBits: dc.serial.data_bits ?? 8, stopBits: dc.serial.stop_bits ?? 1,
    },
    timeoutMs: parseDuration(dc.timeout ?? '1s'),
    retries: dc.retries ?? 1,
    backoffMaxMs: parseDuration(dc.backoff_max ?? '30s'),
    maxRegisters,
    maxBits: dc.max_bits ?? quirks.max_bits ?? 2000,
    maxGap: dc.max_gap ?? 0,
    maxGapBits: dc.max_gap_bits ?? dc.max_gap ?? 0,
    report: dc.report ?? 'change',
    reportEveryMs: parseDuration(dc.report_every ?? '1m'),
    writeMultiple: dc.write_multiple ?? quirks.write_multiple ?? false,
    groups,
    points: [],
    profile: loaded && { ref: dc.profile!, file: loaded.file, document: loaded.profile.document },
  };

  // Profile points first, then the device's own: same name overrides (field by field), new names add.
  const merged = new Map<string, { pc: PointConfig; base: 0 | 1; from: Array<string | number> | undefined }>();
  for (const pc of loaded?.profile.points ?? []) merged.set(pc.name, { pc, base: quirks.address_base ?? 0, from: undefined });
  (dc.points ?? []).forEach((pc, j) => {
    const prior = merged.get(pc.name);
    const overridesAddress = pc.address !== undefined;
    merged.set(pc.name, {
      pc: { ...prior?.pc, ...pc },
      base: prior && !overridesAddress ? prior.base : (dc.address_base ?? 0),
      from: at('points', j),
    });
  });
  if (!merged.size && !dc.profile) problems.push({ path: at(), message: 'the device has no points: add `points:` or a `profile:`' });

  for (const { pc, base, from } of merged.values()) {
    const where = from ?? at('profile');
    if (pc.table === undefined || pc.address === undefined) {
      problems.push({ path: where, message: `point "${pc.name}" needs a table and an address (no profile point of that name to inherit them from)` });
      continue;
    }
    const bitTable = pc.table === 'coil' || pc.table === 'discrete';
    const type: DataType = pc.type ?? (bitTable ? 'bool' : 'uint16');
    if (bitTable && type !== 'bool') { problems.push({ path: [...where, 'type'], message: `point "${pc.name}": a ${pc.table} holds one bit; its type must be bool, not ${type}` }); continue; }
    if (!bitTable && type === 'bool') { problems.push({ path: [...where, 'type'], message: `point "${pc.name}": use type bit with \`bit:\` for one bit of a register, or uint16` }); continue; }
    if (type === 'string' && !pc.length) { problems.push({ path: where, message: `point "${pc.name}": a string needs \`length\` (registers)` }); continue; }
    if (type === 'bit' && pc.bit === undefined) { problems.push({ path: where, message: `point "${pc.name}": type bit needs \`bit\` (0-15)` }); continue; }
    const address = pc.address - base;
    if (address < 0) { problems.push({ path: [...where, 'address'], message: `point "${pc.name}": address 0 does not exist when addresses are 1-based` }); continue; }
    const count = registerCount({ type, length: pc.length });
    if (address + count > 65536) { problems.push({ path: [...where, 'address'], message: `point "${pc.name}" runs past the last address 65535` }); continue; }
    if (!bitTable && count > maxRegisters) { problems.push({ path: where, message: `point "${pc.name}" needs ${count} registers but the device reads at most ${maxRegisters} at once` }); continue; }
    const access: Access = pc.access ?? 'read';
    if (access !== 'read' && (pc.table === 'input' || pc.table === 'discrete')) {
      problems.push({ path: [...where, 'access'], message: `point "${pc.name}": ${pc.table === 'input' ? 'input registers' : 'discrete inputs'} are read-only in Modbus; use table holding or coil to write` });
      continue;
    }
    const group = pc.group ?? 'default';
    if (!groups.has(group)) { problems.push({ path: [...where, 'group'], message: `point "${pc.name}": no poll group "${group}"; declared: ${[...groups.keys()].join(', ')}` }); continue; }
    device.points.push({
      name: pc.name, table: pc.table, address, type, count, bit: pc.bit, length: pc.length,
      byteOrder: pc.byte_order ?? byteOrder, wordOrder: pc.word_order ?? wordOrder,
      scale: pc.scale ?? 1, offset: pc.offset ?? 0, unit: pc.unit, access, group,
      deadband: pc.deadband ?? 0, min: pc.min, max: pc.max,
    });
  }
  return device;
}

import net from 'node:net';
import { freePort } from '../../../helpers/net.js';
import { writeTemp } from '../../../helpers/tmp.js';
import type { HostContext, LogLevel, Reading } from '../../../../sdk/typescript/index.js';
import ModbusSerial from 'modbus-serial';
import createModbus from '../../../../packs/manufacturing/modbus/index.js';
import type { ModbusPlugin } from '../../../../packs/manufacturing/modbus/plugin.js';

/**
 * What the tests give the plugin: a real HostContext that keeps what the plugin emits and logs,
 * and the servers it talks to.
 */
export interface CollectingHost extends HostContext {
  readings: Reading[];
  logs: Array<{ level: LogLevel; message: string }>;
  /** The latest reading of device/point. */
  last(device: string, point: string): Reading | undefined;
  /** Resolves once `predicate` holds over the readings so far (checked on every emit). */
  until(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
}

export function collectingHost(): CollectingHost {
  const waiters = new Set<() => void>();
  const host: CollectingHost = {
    pluginName: 'plc',
    stateDir: '/nonexistent',
    readings: [],
    logs: [],
    log(level, message) { host.logs.push({ level, message }); },
    emit(readings) { host.readings.push(...readings); for (const w of [...waiters]) w(); },
    getState: () => Promise.resolve(undefined),
    commit: () => Promise.reject(new Error('the modbus pack stores no documents or state')),
    last(device, point) {
      for (let i = host.readings.length - 1; i >= 0; i--) {
        const r = host.readings[i];
        if (r.device === device && r.point === point) return r;
      }
      return undefined;
    },
    until(predicate, timeoutMs = 5000, what = 'condition') {
      // checked on every emit and every 10 ms: conditions may be about servers or logs, not readings
      return new Promise((resolve, reject) => {
        if (predicate()) return resolve();
        const done = (err?: Error) => { clearTimeout(timer); clearInterval(poll); waiters.delete(check); if (err) reject(err); else resolve(); };
        const check = () => { if (predicate()) done(); };
        const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)), timeoutMs);
        const poll = setInterval(check, 10);
        waiters.add(check);
      });
    },
  };
  return host;
}

export { freePort };

export interface RegisterMap {
  holding: Map<number, number>;
  input: Map<number, number>;
  coil: Map<number, boolean>;
  discrete: Map<number, boolean>;
}

/** A modbus plugin initialized with `config` on a collecting host; its shutdown is pushed onto `cleanups`. */
export async function startModbus(config: unknown, cleanups: Array<() => Promise<void> | void>): Promise<{ host: CollectingHost; plugin: ModbusPlugin }> {
  const host = collectingHost();
  const plugin = createModbus() as ModbusPlugin;
  await plugin.initialize(config, host);
  cleanups.push(() => plugin.shutdown());
  return { host, plugin };
}

/** A backworks.yaml whose one plugin, `plc`, is the modbus pack with these `devices:` lines (YAML, 8 spaces in). */
export function modbusGatewayFile(deviceLines: string[]): string {
  return writeTemp('backworks.yaml', [
    'plugins:',
    '  plc:',
    '    type: builtin',
    '    pack: manufacturing/modbus',
    '    config:',
    '      devices:',
    ...deviceLines,
    '',
  ].join('\n'));
}

export function registerMap(): RegisterMap {
  return { holding: new Map(), input: new Map(), coil: new Map(), discrete: new Map() };
}

export interface SimServer {
  port: number;
  map: RegisterMap;
  /** Register read requests served (FC3 + FC4), and every register write call. */
  reads: Array<{ table: 'holding' | 'input'; start: number; count: number }>;
  writes: Array<{ fn: 'setRegister' | 'setRegisterArray' | 'setCoil'; addr: number; value: unknown }>;
  /** Called before a register read is answered; may return a promise to delay or never answer. */
  onRead?: (table: 'holding' | 'input', start: number, count: number) => void | Promise<void>;
  /** Destroys every client connection, as a device that drops its sockets does. */
  dropClients(): void;
  close(): Promise<void>;
}

/** modbus-serial's own TCP server, serving a register map; addresses outside it answer exception 2. */
export async function startSimServer(map = registerMap(), unitId = 1): Promise<SimServer> {
  const port = await freePort();
  const illegal = () => ({ modbusErrorCode: 0x02, msg: 'illegal data address' });
  const sim: SimServer = {
    port, map, reads: [], writes: [],
    dropClients: () => { for (const sock of server.socks.keys()) sock.destroy(); },
    close: () => new Promise<void>((resolve) => { sim.dropClients(); server.close(() => resolve()); }),
  };
  // modbus-serial's server takes results of multi-register reads through a callback only (a
  // returned promise is not awaited); single registers go through getHoldingRegister/getInputRegister.
  const readRegs = (table: 'holding' | 'input', start: number, count: number, cb: (err: unknown, values?: number[]) => void) => {
    sim.reads.push({ table, start, count });
    void Promise.resolve(sim.onRead?.(table, start, count)).then(() => {
      const out: number[] = [];
      for (let a = start; a < start + count; a++) {
        const v = map[table].get(a);
        if (v === undefined) return cb(illegal());
        out.push(v);
      }
      cb(null, out);
    });
  };
  const readOne = (table: 'holding' | 'input', addr: number) =>
    new Promise<number>((resolve, reject) => readRegs(table, addr, 1, (err, values) => (err ? reject(err) : resolve(values![0]))));
  const vector = {
    getMultipleHoldingRegisters: (addr: number, length: number, _unit: number, cb: (err: unknown, values?: number[]) => void) => readRegs('holding', addr, length, cb),
    getMultipleInputRegisters: (addr: number, length: number, _unit: number, cb: (err: unknown, values?: number[]) => void) => readRegs('input', addr, length, cb),
    getHoldingRegister: (addr: number) => readOne('holding', addr),
    getInputRegister: (addr: number) => readOne('input', addr),
    getCoil: (addr: number) => { const v = map.coil.get(addr); if (v === undefined) throw illegal(); return v; },
    getDiscreteInput: (addr: number) => { const v = map.discrete.get(addr); if (v === undefined) throw illegal(); return v; },
    setRegister: (addr: number, value: number) => {
      if (!map.holding.has(addr)) throw illegal();
      sim.writes.push({ fn: 'setRegister', addr, value }); map.holding.set(addr, value);
    },
    setRegisterArray: (addr: number, values: number[]) => {
      values.forEach((_, i) => { if (!map.holding.has(addr + i)) throw illegal(); });
      sim.writes.push({ fn: 'setRegisterArray', addr, value: values });
      values.forEach((v, i) => map.holding.set(addr + i, v));
    },
    setCoil: (addr: number, value: boolean) => {
      if (!map.coil.has(addr)) throw illegal();
      sim.writes.push({ fn: 'setCoil', addr, value }); map.coil.set(addr, value);
    },
  };
  const server = new ModbusSerial.ServerTCP(vector, { host: '127.0.0.1', port, unitID: unitId });
  server.on('socketError', () => undefined);
  await new Promise<void>((resolve, reject) => { server.on('initialized', () => resolve()); server.on('serverError', reject); });
  return sim;
}

/** A TCP server that accepts connections and never answers: a device that hangs. */
export async function startSilentServer(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const srv = net.createServer((s) => { count++; sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    connections: () => count,
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); srv.close(() => resolve()); }),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Debian's python3-pymodbus (run by /usr/bin/python3, not a pyenv python) serving a map of register numbers. */
export async function startPymodbus(kind: 'tcp' | 'rtu', where: string | number, spec: Record<string, unknown>): Promise<{ stop(): Promise<void>; stderr: () => string }> {
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-pymodbus-'));
  const mapFile = path.join(dir, 'map.json');
  fs.writeFileSync(mapFile, JSON.stringify(spec));
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'pymodbus_server.py');
  const child = spawn('/usr/bin/python3', [script, kind, String(where), mapFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pymodbus did not start: ${err}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) { clearTimeout(timer); resolve(); } });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`pymodbus exited with ${code}: ${err}`)); });
  });
  // pymodbus' TCP server says ready before serve_forever() binds: wait until it accepts
  if (kind === 'tcp') {
    for (let i = 0; i < 200; i++) {
      const accepted = await new Promise<boolean>((resolve) => {
        const socket = net.connect(Number(where), '127.0.0.1', () => { socket.destroy(); resolve(true); });
        socket.once('error', () => resolve(false));
      });
      if (accepted) break;
      await sleep(25);
    }
  }
  return {
    stderr: () => err,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) { fs.rmSync(dir, { recursive: true, force: true }); return resolve(); }
      child.once('exit', () => { fs.rmSync(dir, { recursive: true, force: true }); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

/** Two connected pseudo-terminals from socat: what an RS-485 adapter pair looks like to both ends. */
export async function startPtyPair(): Promise<{ client: string; server: string; stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-pty-'));
  const client = path.join(dir, 'client');
  const server = path.join(dir, 'server');
  const child = spawn('socat', [`pty,raw,echo=0,link=${client}`, `pty,raw,echo=0,link=${server}`], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(fs.existsSync(client) && fs.existsSync(server)); i++) await sleep(20);
  if (!fs.existsSync(client)) throw new Error('socat did not create the pty pair');
  return {
    client, server,
    stop: () => new Promise<void>((resolve) => {
      const done = () => { fs.rmSync(dir, { recursive: true, force: true }); resolve(); };
      if (child.exitCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGTERM');
    }),
  };
}

/** A float32 as the two registers (high word first) a device would hold. */
export function float32Words(value: number): [number, number] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(value);
  return [b.readUInt16BE(0), b.readUInt16BE(2)];
}

/**
 * A Modbus TCP proxy in front of a real device that forwards every request but never forwards a
 * write (FC5, 6, 15, 16): a device that answers its polls but stalls on writes.
 */
export async function startWriteStallingProxy(upstreamPort: number): Promise<{ port: number; swallowed: () => number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let swallowed = 0;
  const srv = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client); sockets.add(upstream);
    for (const s of [client, upstream]) { s.on('error', () => undefined); s.on('close', () => { client.destroy(); upstream.destroy(); sockets.delete(s); }); }
    upstream.on('data', (d) => client.write(d));
    let pending = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      // MBAP header: transaction (2), protocol (2), length (2) of what follows: unit (1) + PDU
      while (pending.length >= 7 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const frame = pending.subarray(0, 6 + pending.readUInt16BE(4));
        pending = pending.subarray(frame.length);
        if ([5, 6, 15, 16].includes(frame[7])) swallowed++;
        else upstream.write(frame);
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    swallowed: () => swallowed,
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); srv.close(() => resolve()); }),
  };
}

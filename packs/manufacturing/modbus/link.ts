import net from 'node:net';
import modbusSerial from 'modbus-serial';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import type { SerialSettings } from './resolve.js';

/**
 * One connection to the field and the queue in front of it: a TCP socket for one device, or a
 * serial port shared by every device on that RS-485 bus (a bus carries one request at a time).
 * Requests run strictly one after the other; a dropped connection fails the request in flight at
 * once instead of letting it wait for its timeout.
 */

export type LinkTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'rtu'; serial: SerialSettings };

/** Why a request failed, as the poller needs to know it. */
export class LinkError extends Error {
  constructor(message: string, readonly kind: 'connect' | 'closed' | 'timeout' | 'exception' | 'other', readonly modbusCode?: number) {
    super(message);
    this.name = 'LinkError';
  }
}

export type Client = ModbusClient;
// modbus-serial is CommonJS (`module.exports = ModbusRTU`); its typings describe an ES default export.
const ModbusRTU = modbusSerial as unknown as typeof ModbusClient;

const EXCEPTIONS: Record<number, string> = {
  1: 'illegal function', 2: 'illegal data address', 3: 'illegal data value', 4: 'server device failure',
  5: 'acknowledge', 6: 'server device busy', 10: 'gateway path unavailable', 11: 'gateway target failed to respond',
};

export class Link {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private failInFlight: ((err: LinkError) => void) | undefined;
  private closed = false;
  /** Requests sent, for health details and the benchmark. */
  requests = 0;

  constructor(readonly target: LinkTarget, private readonly connectTimeoutMs: number) {}

  get label(): string {
    return this.target.kind === 'tcp' ? `${this.target.host}:${this.target.port}` : this.target.serial.path;
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Queues `fn` behind every earlier request on this link and runs it with the unit id and timeout. */
  run<T>(unitId: number, timeoutMs: number, fn: (client: Client) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.execute(unitId, timeoutMs, fn));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async execute<T>(unitId: number, timeoutMs: number, fn: (client: Client) => Promise<T>): Promise<T> {
    if (this.closed) throw new LinkError('link is shut down', 'closed');
    const client = await this.connect();
    client.setID(unitId);
    client.setTimeout(timeoutMs);
    this.requests++;
    return new Promise<T>((resolve, reject) => {
      this.failInFlight = reject;
      fn(client).then(resolve, (err) => reject(classify(err))).finally(() => { this.failInFlight = undefined; });
    });
  }

  private connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (this.target.kind === 'tcp' ? this.openTcp(this.target) : this.openRtu(this.target.serial))
      .then((client) => {
        this.client = client;
        client.on('close', () => this.dropped(client));
        client.on('error', () => this.dropped(client));
        return client;
      })
      .finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private openTcp(target: { host: string; port: number }): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = new net.Socket();
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new LinkError(`no connection to ${target.host}:${target.port} within ${this.connectTimeoutMs}ms`, 'connect'));
      }, this.connectTimeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new LinkError(`cannot connect to ${target.host}:${target.port}: ${err.code ?? err.message}`, 'connect'));
      });
      socket.connect({ host: target.host, port: target.port }, () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setKeepAlive(true, 10_000);
        const client = new ModbusRTU();
        client.linkTCP(socket, { port: target.port }).then(() => resolve(client), (err: Error) => {
          socket.destroy();
          reject(new LinkError(`cannot link to ${target.host}:${target.port}: ${err.message}`, 'connect'));
        });
      });
    });
  }

  private async openRtu(serial: SerialSettings): Promise<Client> {
    const client = new ModbusRTU();
    try {
      await client.connectRTUBuffered(serial.path, {
        baudRate: serial.baud, parity: serial.parity, dataBits: serial.dataBits, stopBits: serial.stopBits,
      });
    } catch (err) {
      throw new LinkError(`cannot open ${serial.path}: ${(err as Error).message}`, 'connect');
    }
    return client;
  }

  /** The device or the OS closed the connection: fail what is in flight, reconnect on the next request. */
  private dropped(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.failInFlight?.(new LinkError(`connection to ${this.label} closed`, 'closed'));
    void release(client, this.target.kind);
  }

  /** Closes the connection (after a device stopped answering) so the next request reconnects cleanly. */
  reset(): void {
    if (this.client) this.dropped(this.client);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failInFlight?.(new LinkError('link is shut down', 'closed'));
    const client = this.client ?? await this.connecting?.catch(() => undefined);
    this.client = undefined;
    if (client) await release(client, this.target.kind);
  }
}

/**
 * TCP: destroy rather than end, as a hung peer may never finish a graceful close. Serial: close
 * (modbus-serial's buffered RTU port has no destroy, and would stay open).
 */
function release(client: Client, kind: LinkTarget['kind']): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1000); // a port that will not close must not hold up shutdown
    const done = () => { clearTimeout(timer); resolve(); };
    try {
      if (kind === 'tcp') client.destroy(done);
      else client.close(done);
    } catch { done(); }
  });
}

function classify(err: unknown): LinkError {
  if (err instanceof LinkError) return err;
  const e = err as { message?: string; errno?: string; modbusCode?: number };
  if (typeof e.modbusCode === 'number') {
    return new LinkError(`device answered exception ${e.modbusCode} (${EXCEPTIONS[e.modbusCode] ?? 'unknown'})`, 'exception', e.modbusCode);
  }
  if (e.errno === 'ETIMEDOUT') return new LinkError('no answer within the timeout', 'timeout');
  if (e.errno === 'ECONNREFUSED' || e.message === 'Port Not Open') return new LinkError(e.message ?? 'port not open', 'closed');
  return new LinkError(e.message ?? String(err), 'other');
}

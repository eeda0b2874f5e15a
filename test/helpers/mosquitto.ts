import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { freePort } from './net.js';
import os from 'node:os';
import path from 'node:path';

/**
 * A real Mosquitto broker for tests: /usr/sbin/mosquitto on a free port with its own temporary
 * config and persistence directory. `stop()` then `start()` again keeps the port and, with
 * `persistence`, the sessions and queued messages (Mosquitto saves them on SIGTERM).
 */
export interface Broker {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  start(): Promise<void>;
  /** SIGTERM and wait for exit (Mosquitto writes its persistence file on the way out). */
  stop(): Promise<void>;
  /** Stop for good and remove the temporary directory. */
  close(): Promise<void>;
  /** Everything the broker logged, for failure messages. */
  log(): string;
}

export interface BrokerOptions {
  persistence?: boolean;
  /** PEM files: the listener speaks TLS only (the URL becomes mqtts://). */
  tls?: { cafile: string; certfile: string; keyfile: string };
  /** Users allowed in, as {name: password}; anonymous clients are then refused. */
  users?: Record<string, string>;
  /** Extra mosquitto.conf lines. */
  extra?: string[];
}

export { freePort };

const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';


export async function startMosquitto(options: BrokerOptions = {}): Promise<Broker> {
  if (!fs.existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} not found: install Debian's mosquitto package (apt-get install -y mosquitto)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-mosquitto-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  const auth: string[] = ['allow_anonymous true'];
  if (options.users) {
    const passwords = path.join(dir, 'passwords');
    fs.writeFileSync(passwords, '');
    for (const [user, password] of Object.entries(options.users)) execFileSync('mosquitto_passwd', ['-b', passwords, user, password]);
    fs.chmodSync(passwords, 0o600);
    auth.splice(0, 1, 'allow_anonymous false', `password_file ${passwords}`);
  }
  const tls = options.tls ? [`cafile ${options.tls.cafile}`, `certfile ${options.tls.certfile}`, `keyfile ${options.tls.keyfile}`] : [];
  fs.writeFileSync(conf, [
    // Run as root, Mosquitto would switch to its own user and lose access to this private directory.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    `listener ${port} 127.0.0.1`,
    ...tls,
    ...auth,
    `persistence ${options.persistence ? 'true' : 'false'}`,
    `persistence_location ${dir}/`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'max_queued_messages 0',
    ...(options.extra ?? []),
    '',
  ].join('\n'));

  let child: ChildProcess | null = null;
  let output = '';

  async function start(): Promise<void> {
    if (child) return;
    const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout!.on('data', (d) => { output += d; });
    proc.stderr!.on('data', (d) => { output += d; });
    proc.once('exit', () => { if (child === proc) child = null; });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child !== proc) throw new Error(`mosquitto exited at start:\n${output}`);
      if (await canConnect(port)) return;
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within 10s:\n${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    child = null;
  }

  await start();
  return {
    port,
    url: `${options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    dir,
    start,
    stop,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

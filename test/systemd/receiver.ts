import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/notify-receiver.py');

export interface Notification {
  /** Wall-clock ms when it arrived. */
  t: number;
  /** The sender's PID as the kernel reports it (SO_PASSCRED), not as the sender claims. */
  pid: number;
  uid: number;
  fields: Record<string, string>;
}

export interface Receiver {
  socket: string;
  messages: Notification[];
  /** Resolves with the first message (from `from` on) whose fields pass `match`. */
  next(match: (fields: Record<string, string>) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<Notification>;
  close(): void;
}

/** A real AF_UNIX datagram socket standing in for systemd's, read by Debian's python3. */
export async function startReceiver(): Promise<Receiver> {
  const socket = path.join(tempDir('bw-notify-'), 'notify.sock');
  const child = spawn('/usr/bin/python3', [script, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: Notification[] = [];
  const waiters = new Set<() => void>();
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`notify receiver exited with ${code}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Notification & { listening?: string };
      if (entry.listening) return resolve();
      messages.push(entry);
      for (const wake of waiters) wake();
    });
  });
  return {
    socket,
    messages,
    next(match, { from = 0, timeoutMs = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.slice(from).find((m) => match(m.fields));
          if (!found) return;
          waiters.delete(check); clearTimeout(timer); resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching notification in ${timeoutMs} ms; got ${JSON.stringify(messages.slice(from).map((m) => m.fields))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => { child.kill('SIGKILL'); },
  };
}

/** Arrival times of WATCHDOG=1 pings. */
export function pingTimes(messages: Notification[]): number[] {
  return messages.filter((m) => m.fields.WATCHDOG === '1').map((m) => m.t);
}

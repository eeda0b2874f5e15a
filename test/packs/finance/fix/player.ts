/**
 * Plays one acceptance script against a FIX acceptor over real TCP connections: sends the `I`
 * messages, and checks that what arrives next on each connection is the `E` message, or the
 * connection closing.
 */
import net from 'node:net';
import { compare, complete, parseScript, show, substituteTimes, type Step } from './script.js';

/** Longest wait for one expected message: covers 6_SendTestRequest's heartbeats and timeout. */
const EXPECT_MS = 25_000;

class Connection {
  private buffer = Buffer.alloc(0);
  private readonly messages: string[] = [];
  private waiter: (() => void) | null = null;
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => { this.buffer = Buffer.concat([this.buffer, chunk]); this.cut(); this.wake(); });
    socket.on('close', () => { this.closed = true; this.wake(); });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  /** Cuts complete messages by their BodyLength (what we receive comes from the engine under test). */
  private cut(): void {
    for (;;) {
      const text = this.buffer.toString('latin1');
      const m = /^8=[^\x01]*\x019=(\d+)\x01/.exec(text);
      if (!m) return;
      const end = m[0].length + Number(m[1]) + 7; // "10=nnn\x01"
      if (text.length < end) return;
      this.messages.push(text.slice(0, end));
      this.buffer = this.buffer.subarray(end);
    }
  }

  /** The next message, or 'closed', or 'timeout'. */
  async next(ms: number): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const message = this.messages.shift();
      if (message !== undefined) return message;
      if (this.closed) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.waiter = null; resolve(); }, left);
        this.waiter = () => { clearTimeout(timer); resolve(); };
      });
    }
  }
}

function connect(port: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new Connection(socket)));
    socket.once('error', reject);
  });
}

/** Plays `text`; throws naming the script line whose expectation failed. */
export async function play(text: string, port: number, formats: Map<string, RegExp>): Promise<void> {
  const connections = new Map<number, Connection>();
  const conn = (step: Step) => {
    const c = connections.get(step.conn);
    if (!c) throw new Error(`line ${step.line}: connection ${step.conn} is not open`);
    return c;
  };
  try {
    for (const step of parseScript(text)) {
      switch (step.kind) {
        case 'connect':
          connections.set(step.conn, await connect(port));
          break;
        case 'disconnect':
          conn(step).socket.destroy();
          break;
        case 'send':
          conn(step).socket.write(Buffer.from(complete(substituteTimes(step.text)), 'latin1'));
          break;
        case 'expect': {
          const expected = complete(substituteTimes(step.text));
          const got = await conn(step).next(EXPECT_MS);
          if (got === 'closed' || got === 'timeout') throw new Error(`line ${step.line}: expected ${show(expected)}\nbut the connection ${got === 'closed' ? 'closed' : 'stayed silent'}`);
          const why = compare(expected, got, formats);
          if (why) throw new Error(`line ${step.line}: ${why}\nexpected ${show(expected)}\nreceived ${show(got)}`);
          break;
        }
        case 'expect-disconnect': {
          const got = await conn(step).next(EXPECT_MS);
          if (got !== 'closed') throw new Error(`line ${step.line}: expected the acceptor to disconnect, but ${got === 'timeout' ? 'it stayed connected' : `received ${show(got)}`}`);
          break;
        }
      }
    }
  } finally {
    for (const c of connections.values()) c.socket.destroy();
  }
}

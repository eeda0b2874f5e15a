import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { Duplex } from 'node:stream';
import { BackworksError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { requireHostBinary, hostEnvironment } from './host-binary.js';
import { nativeError, toMetadata, type NativeMetadata, type RawDescriptor } from './inspect.js';
import { decodeReply, encodeFrame, Frame, FrameReader, payloadStrings, type DecodedFrame, type DecodedReply } from './protocol.js';

export interface HostProcessOptions {
  name: string;
  path: string;
  log: Logger;
  memoryBytes?: number;
  workers: number;
  heartbeatMs: number;
  /** A host whose heartbeat is older than this is killed. */
  heartbeatTimeoutMs: number;
  /** Current directory of the host process. */
  cwd?: string;
  /** Readings JSON the plugin emitted. */
  onEmit(json: string): void;
  /** A host API call that needs an answer; resolve with [status, payload]. */
  onHostCall(kind: number, args: string[]): Promise<[number, string]>;
  onLog(level: number, message: string): void;
}

export interface CallResult {
  status: number;
  payload: string | null;
  /** The answer of process_endpoint_data_v2 (a REPLY frame), bytes as sent. */
  reply?: DecodedReply;
}

export interface HostExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the service killed it, when it did. */
  reason?: string;
}

const READY_TIMEOUT_MS = 10_000;

/** Every host of this service that has not exited yet. */
const live = new Set<HostProcess>();

/** Kills every plugin host still running (the service's last resort when a stop takes too long); returns how many. */
export function killAllHosts(reason: string): number {
  const hosts = [...live];
  for (const host of hosts) host.kill(reason);
  return hosts.length;
}
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/**
 * One running plugin host: spawns it in its own process group, speaks frames on fd 3, watches its
 * heartbeat and turns its stdout/stderr into log lines. It never restarts itself; IsolatedDriver
 * decides that from `exited`.
 */
export class HostProcess {
  readonly exited: Promise<HostExit>;
  metadata!: NativeMetadata;
  private readonly child: ChildProcess;
  private readonly channel: Duplex;
  private readonly reader = new FrameReader();
  /** Frames of this event-loop turn after its first, sent together in one write (see send). */
  private outgoing: Buffer[] = [];
  private batching = false;
  private readonly calls = new Map<number, { resolve(r: CallResult): void; reject(e: Error): void }>();
  private nextId = 1;
  private lastBeat = Date.now();
  private killReason?: string;
  private dead = false;
  private readonly watchdog: NodeJS.Timeout;
  private ready!: { resolve(): void; reject(e: Error): void };

  private constructor(private readonly options: HostProcessOptions) {
    // `bw-plugin-host NAME PATH`: ps tells which host runs which plugin.
    this.child = spawn(requireHostBinary(), [options.name, options.path], {
      detached: true, // own process group: a kill takes whatever the plugin forked too
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: hostEnvironment({
        BW_HOST_FD: '3',
        BW_WORKERS: String(options.workers),
        BW_HEARTBEAT_MS: String(options.heartbeatMs),
        ...(options.memoryBytes ? { BW_MEMORY_LIMIT: String(options.memoryBytes) } : {}),
      }),
    });
    live.add(this);
    this.channel = this.child.stdio[3] as Duplex;
    this.channel.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk, (f) => this.onFrame(f));
      } catch (err) {
        this.kill(`protocol error: ${(err as Error).message}`);
      }
    });
    this.channel.on('error', () => { /* the exit handler reports it */ });
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = readline.createInterface({ input: this.child[stream]! });
      lines.on('line', (line) => options.log[stream === 'stderr' ? 'warn' : 'info']({ stream }, line));
    }
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => { this.killReason ??= err.message; });
      this.child.on('exit', (code, signal) => {
        this.dead = true;
        live.delete(this);
        clearInterval(this.watchdog);
        const exit: HostExit = { code, signal, ...(this.killReason ? { reason: this.killReason } : {}) };
        const why = describeExit(exit);
        for (const call of this.calls.values()) call.reject(new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', options.name, why));
        this.calls.clear();
        this.ready?.reject(new BackworksError('BW_ERR_NATIVE_HOST', options.name, why));
        resolve(exit);
      });
    });
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastBeat > options.heartbeatTimeoutMs) this.kill(`no heartbeat for ${Date.now() - this.lastBeat}ms`);
    }, Math.max(50, Math.floor(options.heartbeatMs / 2)));
    this.watchdog.unref();
  }

  /** Spawns a host and resolves once it loaded the library and created the instance. */
  static async start(options: HostProcessOptions): Promise<HostProcess> {
    const host = new HostProcess(options);
    const timer = setTimeout(() => host.kill('not ready in time'), READY_TIMEOUT_MS);
    try {
      await new Promise<void>((resolve, reject) => { host.ready = { resolve, reject }; });
    } catch (err) {
      host.kill('failed to start');
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return host;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.dead;
  }

  get inFlight(): number {
    return this.calls.size;
  }

  /** `status`: the frame's status field (an ENDPOINT frame's body length). */
  call(type: number, args: ReadonlyArray<string | Buffer>, status = 0): Promise<CallResult> {
    if (this.dead) return Promise.reject(new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', this.options.name, 'host not running'));
    const id = this.nextId++ >>> 0;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.send(encodeFrame(type, id, status, args));
    });
  }

  /**
   * Sends a frame. The first of an event-loop turn goes out at once (a lone call waits for
   * nothing); the rest of the turn's frames go together in one write after its I/O callbacks, so
   * under load (many HTTP requests per turn) one syscall and one wake-up of the host's reader
   * serve them all.
   */
  private send(frame: Buffer): void {
    if (this.batching) { this.outgoing.push(frame); return; }
    this.channel.write(frame);
    this.batching = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.batching = false;
    if (this.outgoing.length === 0) return;
    const frames = this.outgoing;
    this.outgoing = [];
    if (!this.dead) this.channel.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  };

  /** Kills the whole process group; `exited` settles when the host is gone. */
  kill(reason: string): void {
    if (this.dead) return;
    this.killReason ??= reason;
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  private onFrame(frame: DecodedFrame): void {
    const { options } = this;
    switch (frame.type) {
      case Frame.RESULT: {
        const call = this.calls.get(frame.id);
        if (!call) return;
        this.calls.delete(frame.id);
        call.resolve({ status: frame.status, payload: frame.payload.length ? frame.payload.toString('utf8') : null });
        return;
      }
      case Frame.REPLY: {
        const call = this.calls.get(frame.id);
        if (!call) return;
        this.calls.delete(frame.id);
        call.resolve({ status: frame.status, payload: null, reply: decodeReply(frame.payload) });
        return;
      }
      case Frame.HEARTBEAT:
        this.lastBeat = Date.now();
        return;
      case Frame.EMIT:
        options.onEmit(frame.payload.toString('utf8'));
        return;
      case Frame.LOG:
        options.onLog(frame.status, frame.payload.toString('utf8'));
        return;
      case Frame.HOST_CALL: {
        const id = frame.id;
        options.onHostCall(frame.status, payloadStrings(frame.payload))
          .catch((err: Error): [number, string] => [-1, err.message])
          .then(([status, payload]) => { if (!this.dead) this.send(encodeFrame(Frame.HOST_ANSWER, id, status, [payload])); });
        return;
      }
      case Frame.READY:
        this.lastBeat = Date.now();
        try {
          this.metadata = toMetadata(options.path, JSON.parse(frame.payload.toString('utf8')) as RawDescriptor);
          this.ready.resolve();
        } catch (err) {
          this.ready.reject(err as Error);
        }
        return;
      case Frame.FATAL: {
        const [code = 'BW_ERR_NATIVE_HOST', message = 'unknown'] = payloadStrings(frame.payload);
        this.ready.reject(nativeError(code, options.path, message));
        return;
      }
      default:
        this.kill(`unknown frame type ${frame.type}`);
    }
  }
}

export function describeExit(exit: HostExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return exit.reason ? `${exit.reason} (${how})` : how;
}

export function logLevelName(level: number): (typeof LOG_LEVELS)[number] {
  return LOG_LEVELS[Math.min(Math.max(level, 0), 4)]!;
}

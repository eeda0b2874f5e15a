import net from 'node:net';
import type * as Opcua from 'node-opcua';
import type { HostContext } from '../../../sdk/typescript/index.js';
import { parseDuration } from '../../../sdk/typescript/units.js';
import { backoffDelay } from '../../../sdk/typescript/backoff.js';
import type { OpcuaServerConfig } from './config.js';

/**
 * One OPC UA session, supervised by us rather than by node-opcua's automatic reconnection (which,
 * against a server without TransferSubscriptions, loops on Republish at full CPU and never gets
 * its subscription back). Whatever goes wrong — the connection drops, the server forgets the
 * session, a subscription goes quiet, a read says the session is gone — the whole client is torn
 * down and a new one connects after an exponential back-off with jitter, bounded by
 * `reconnect_max`. Each new session is handed to `onSession`, which creates everything on it anew.
 * After a failure, an attempt first opens a bare TCP connection to the endpoint: while the server
 * is down that refusal is all an attempt costs, rather than building a client to see it fail.
 */

export type OpcuaLib = typeof Opcua;
export type SessionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

const FIRST_DELAY_MS = 250;

/** Status codes that mean the session (not one node) is gone: recycle it. */
export const SESSION_GONE = new Set([
  'BadSessionIdInvalid', 'BadSessionClosed', 'BadSessionNotActivated', 'BadConnectionClosed', 'BadSecureChannelClosed',
  'BadSecureChannelIdInvalid', 'BadCommunicationError', 'BadNotConnected', 'BadServerHalted', 'BadShutdown', 'BadTimeout',
]);

export interface SessionCallbacks {
  /** Creates subscriptions and timers on a new session; a throw recycles the session. */
  onSession(session: Opcua.ClientSession): Promise<void>;
  /** The session is gone (before the back-off): stop timers, report the last values stale. */
  onLost(reason: string): void;
}

export class SessionSupervisor {
  state: SessionState = 'connecting';
  lastError: string | undefined;
  /** Sessions opened so far; every one after the first is a reconnection. */
  sessions = 0;
  private client: Opcua.OPCUAClient | undefined;
  private session: Opcua.ClientSession | undefined;
  private lost: ((reason: string) => void) | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private lastLogged: string | undefined;
  private probe: net.Socket | undefined;
  private readonly certificateManager: Opcua.OPCUACertificateManager;

  constructor(
    private readonly lib: OpcuaLib,
    private readonly config: OpcuaServerConfig,
    private readonly host: HostContext,
    pkiDir: string,
    private readonly callbacks: SessionCallbacks,
  ) {
    // The certificate is created on first use under pkiDir/own and reused by every client after.
    this.certificateManager = new lib.OPCUACertificateManager({
      rootFolder: pkiDir,
      automaticallyAcceptUnknownCertificate: config.accept_unknown_server_certificate ?? true,
    });
  }

  /** A getter, so a check after an await reads the state as it is now. */
  private get closed(): boolean {
    return this.state === 'closed';
  }

  get current(): Opcua.ClientSession | undefined {
    return this.state === 'connected' ? this.session : undefined;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Ends the current session and starts over (after the back-off); a no-op when none is open. */
  recycle(reason: string): void {
    const lost = this.lost;
    this.lost = undefined;
    lost?.(reason);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.state !== 'closed') {
      let established = false;
      try {
        if (failures > 0) await this.reachable();
        if (this.closed) break;
        const reason = await this.connectAndHold(() => { established = true; failures = 0; });
        if (this.closed) break;
        this.note('warn', `OPC UA server ${this.config.name}: ${reason}; reconnecting`);
      } catch (err) {
        if (this.closed) break;
        this.note('error', `OPC UA server ${this.config.name}: ${(err as Error).message}`);
      }
      if (this.closed) break;
      this.state = 'reconnecting';
      if (established) this.callbacks.onLost(this.lastError ?? 'session lost');
      await this.teardown();
      await this.sleep(this.backoff(failures++));
    }
    await this.teardown();
  }

  /** Connects, opens the session, hands it over, and resolves with the reason it was lost. */
  private async connectAndHold(onEstablished: () => void): Promise<string> {
    const { lib, config: c } = this;
    const mode = lib.MessageSecurityMode[c.security_mode ?? 'None'];
    const policy = c.security_policy ?? (mode === lib.MessageSecurityMode.None ? 'None' : 'Basic256Sha256');
    const requestTimeout = parseDuration(c.request_timeout ?? '10s');
    const client = lib.OPCUAClient.create({
      applicationName: 'Backworks',
      clientName: `backworks-${this.host.pluginName}-${c.name}`,
      clientCertificateManager: this.certificateManager,
      securityMode: mode,
      securityPolicy: lib.SecurityPolicy[policy],
      endpointMustExist: false,
      keepSessionAlive: true,
      requestedSessionTimeout: Math.max(60_000, requestTimeout * 6),
      defaultTransactionTimeout: requestTimeout,
      // maxRetry 0: node-opcua never reconnects on its own; a lost connection ends this client.
      connectionStrategy: { maxRetry: 0, initialDelay: FIRST_DELAY_MS, maxDelay: FIRST_DELAY_MS },
    });
    this.client = client;
    const lost = new Promise<string>((resolve) => { this.lost = resolve; });
    // a late event of a client already torn down must not end its successor's session
    const mine = (reason: string) => () => { if (this.client === client) this.recycle(reason); };
    client.on('connection_lost', mine('connection lost'));
    client.on('close', mine('connection closed'));
    await client.connect(c.endpoint);
    if (this.closed) return 'closed';
    const session = await client.createSession(c.username
      ? { type: lib.UserTokenType.UserName, userName: c.username, password: c.password ?? '' }
      : { type: lib.UserTokenType.Anonymous });
    this.session = session;
    session.on('session_closed', mine('the server closed the session'));
    session.on('keepalive_failure', mine('the session keep-alive failed'));
    if (this.closed) return 'closed';
    this.state = 'connected';
    if (this.sessions++ > 0) this.host.log('info', `OPC UA server ${c.name} reconnected`, { endpoint: c.endpoint });
    else this.host.log('info', `OPC UA session open on ${c.endpoint} (${c.security_mode ?? 'None'})`, { server: c.name });
    this.lastError = undefined;
    this.lastLogged = undefined;
    onEstablished();
    await this.callbacks.onSession(session);
    const reason = await lost;
    this.lastError = reason;
    return reason;
  }

  /** Resolves once the endpoint accepts a TCP connection (closed at once); rejects with why not. */
  private reachable(): Promise<void> {
    const { host, port } = endpointAddress(this.config.endpoint);
    const timeout = this.config.request_timeout ?? '10s';
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      this.probe = socket;
      const done = (err?: Error & { code?: string }) => {
        socket.destroy();
        if (this.probe === socket) this.probe = undefined;
        if (err) reject(new Error(`cannot reach ${this.config.endpoint}: ${err.code ?? err.message}`));
        else resolve();
      };
      socket.setTimeout(parseDuration(timeout), () => done(new Error(`no answer within ${timeout}`)));
      socket.once('connect', () => done());
      socket.once('error', done);
    });
  }

  /** Logs a failure once, not at every attempt of a server that stays down. */
  private note(level: 'warn' | 'error', message: string): void {
    this.lastError = message.replace(`OPC UA server ${this.config.name}: `, '');
    if (message === this.lastLogged) return;
    this.lastLogged = message;
    this.host.log(level, message, { endpoint: this.config.endpoint });
  }

  private backoff(failures: number): number {
    return backoffDelay(failures, FIRST_DELAY_MS, parseDuration(this.config.reconnect_max ?? '30s'));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(); };
    });
  }

  /** Each step has a bounded wait: a server that is gone never answers. */
  private async teardown(): Promise<void> {
    const { session, client } = this;
    this.session = undefined;
    this.client = undefined;
    this.lost = undefined;
    if (session) await bounded(session.close(true), 1000);
    if (client) await bounded(client.disconnect(), 1000);
  }

  async close(): Promise<void> {
    this.state = 'closed';
    this.recycle('closed');
    this.wake?.();
    this.probe?.destroy(new Error('closed'));
    // a connect that is still waiting for an answer is abandoned now rather than at its timeout
    await bounded(this.client?.disconnect(), 1000);
    await bounded(this.loop, 5000);
  }
}

/** Host and port of an opc.tcp:// endpoint (4840 when it names none; IPv6 without its brackets). */
export function endpointAddress(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 4840) };
}

export function bounded(step: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!step) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    step.then(() => { clearTimeout(timer); resolve(); }, () => { clearTimeout(timer); resolve(); });
  });
}

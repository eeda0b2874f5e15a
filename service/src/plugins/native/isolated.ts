import type { DocumentQuery, EndpointAnswer, HostContext, InboundDocument, PluginHealth, PluginRequest, PluginResponse, Reading } from '../../../../sdk/typescript/index.js';
import type { DriverAvailability, PluginDriver } from '../driver.js';
import { BackworksError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { describeExit, HostProcess, logLevelName, type CallResult, type HostExit } from './host-process.js';
import type { NativeMetadata } from './inspect.js';
import { Frame, HostCall, Status } from './protocol.js';
import { backoffDelay } from '../../../../sdk/typescript/backoff.js';
import { answerToError, applyChanges, hookJson, toReply, type NativePluginOptions } from './shared.js';

type State = 'starting' | 'running' | 'restarting' | 'quarantined' | 'stopped' | 'failed';

/** Heartbeats every 500ms; a host silent for 3s is hung (not merely busy: calls run on workers). */
const HEARTBEAT_MS = 500;
const HEARTBEAT_TIMEOUT_MS = 3_000;
const INIT_MS = 30_000;
const SHUTDOWN_MS = 5_000;

/** A failed probe doubles the quarantine, up to this. */
const MAX_QUARANTINE_MS = 60 * 60_000;

/**
 * A native plugin in its own plugin-host process. Performs calls over the host's channel and
 * supervises the process: a crash, a missed deadline (abandon) or a missed heartbeat ends the host;
 * it is restarted with exponential backoff and jitter and re-initialized with the same config.
 *
 * Quarantine (the header's QUARANTINE): `maxCrashes` crashes within `windowMs` (in initialize or
 * later) stop the restarts. After `maxBackoffMs` one probe start is made: a host that then stays up
 * for `windowMs` ends the quarantine; a probe that fails, or a host that dies within `windowMs` of
 * its probe, doubles the quarantine time (up to an hour) and waits for the next probe. So a plugin
 * that crashes on every start gets at most `maxCrashes` starts, then one per quarantine period.
 */
export class IsolatedDriver implements PluginDriver {
  private host?: HostProcess;
  /** A host between spawn and the end of its initialize: shutdown ends it too. */
  private pending?: HostProcess;
  private state: State = 'starting';
  private restarts = 0;
  private crashes: number[] = [];
  private lastExit?: string;
  private config: unknown = {};
  private context?: HostContext;
  private restartTimer?: NodeJS.Timeout;
  private readonly concurrency: number;
  /** The current quarantine period; 0 while not quarantined. */
  private quarantineMs = 0;
  private nextProbeAt?: number;
  /** When the last probe started: a crash within windowMs of it is a failed probe. */
  private probeStartedAt?: number;

  constructor(
    private readonly name: string,
    readonly metadata: NativeMetadata,
    private readonly options: NativePluginOptions,
    private readonly log: Logger,
  ) {
    this.concurrency = options.limits.concurrency ?? 256;
  }

  /**
   * Starts the host and initializes the plugin. A crash during initialize is treated like any
   * crash (restart with backoff); this resolves once an attempt succeeds, or once the plugin is
   * quarantined (its probe is scheduled; calls answer 503 meanwhile), and rejects when the plugin
   * reports an error in initialize.
   */
  async initialize(config: unknown, host: HostContext): Promise<void> {
    this.config = config;
    this.context = host;
    for (;;) {
      try {
        await this.startHost();
        return;
      } catch (err) {
        if (this.state === 'stopped') throw new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', this.name, 'stopped during initialize');
        if (!(err instanceof HostCrashed)) { this.state = 'failed'; throw err; }
        this.log.error({ err: err.message }, 'plugin host crashed during initialize');
        const delay = this.recordCrash(err.message);
        if (delay === undefined) return; // quarantined: the probe is scheduled
        await new Promise((r) => setTimeout(r, delay));
        this.restarts++;
        if ((this.state as State) === 'stopped') throw new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', this.name, 'stopped');
      }
    }
  }

  availability(): DriverAvailability {
    // 'starting': the manager checks availability before calling initialize itself.
    const available = this.state === 'starting' || (this.state === 'running' && this.host?.alive === true);
    const probing = this.state === 'quarantined' && this.nextProbeAt !== undefined;
    return {
      available,
      state: this.state,
      restarts: this.restarts,
      ...(!available && this.lastExit ? { message: probing ? `${this.state} until ${new Date(this.nextProbeAt!).toISOString()}: ${this.lastExit}` : `${this.state}: ${this.lastExit}` } : {}),
      ...(probing ? { nextProbeAt: this.nextProbeAt } : {}),
      ...(this.lastExit ? { lastReason: this.lastExit } : {}),
    };
  }

  /** The body goes as bytes, its length in the frame's status field; a 1.2 plugin answers with a REPLY. */
  async processEndpointData(endpoint: string, method: string, data: Buffer): Promise<EndpointAnswer> {
    const { status, payload, reply } = await this.call(Frame.ENDPOINT, [endpoint, method, data], data.length);
    if (status === Status.NONE) return null;
    if (reply) {
      if (status < 0) throw answerToError(this.name, 'process_endpoint_data', status, reply.body.length ? reply.body.toString('utf8') : null);
      return toReply(this.name, reply.httpStatus, reply.contentType, reply.body);
    }
    if (status < 0) throw answerToError(this.name, 'process_endpoint_data', status, payload);
    return payload ?? '';
  }

  async beforeRequest(request: PluginRequest): Promise<void> {
    if (!this.metadata.capabilities.includes('before_request')) return;
    const { status, payload } = await this.call(Frame.BEFORE, [hookJson(request)]);
    if (status < 0) throw answerToError(this.name, 'before_request', status, payload);
    applyChanges(request, payload);
  }

  async afterResponse(request: PluginRequest, response: PluginResponse): Promise<void> {
    if (!this.metadata.capabilities.includes('after_response')) return;
    const { status, payload } = await this.call(Frame.AFTER, [hookJson(request), hookJson(response)]);
    if (status < 0) throw answerToError(this.name, 'after_response', status, payload);
    applyChanges(response, payload);
  }

  async healthCheck(): Promise<PluginHealth> {
    const { status, payload } = await this.call(Frame.HEALTH, []);
    if (status < 0) return { status: 'unhealthy', message: payload ?? `health returned ${status}` };
    return payload ? JSON.parse(payload) as PluginHealth : { status: 'healthy' };
  }

  async onConfigReload(config: unknown): Promise<void> {
    const { status, payload } = await this.call(Frame.RELOAD, [JSON.stringify(config ?? {})]);
    if (status === Status.UNSUPPORTED) {
      // No in-place reload: start a new instance with the new config, then retire the old one.
      const old = this.host;
      this.config = config;
      await this.startHost();
      if (old) void this.retire(old);
      return;
    }
    if (status < 0) throw answerToError(this.name, 'on_config_reload', status, payload);
    this.config = config;
  }

  async write(device: string, point: string, value: unknown): Promise<void> {
    const { status, payload } = await this.call(Frame.WRITE, [device, point, JSON.stringify(value ?? null)]);
    if (status < 0) throw answerToError(this.name, 'write', status, payload);
  }

  /** A call missed its deadline. A native call cannot be cancelled: end the host; it restarts. */
  abandon(call: string): void {
    this.host?.kill(`missed its ${this.options.timeoutMs}ms deadline in ${call}`);
  }

  async shutdown(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.restartTimer);
    this.pending?.kill('the plugin was stopped during initialize');
    if (this.host) await this.retire(this.host);
  }

  private async call(type: number, args: Array<string | Buffer>, frameStatus = 0): Promise<CallResult> {
    const host = this.host;
    if (this.state !== 'running' || !host?.alive) {
      throw new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', this.name, this.lastExit ? `${this.state}: ${this.lastExit}` : this.state);
    }
    if (host.inFlight >= this.concurrency) throw new BackworksError('BW_ERR_NATIVE_BUSY', this.name, this.concurrency);
    return host.call(type, args, frameStatus);
  }

  /** Spawns a host, initializes it with the saved config and makes it the current one. */
  private async startHost(): Promise<void> {
    const host = await HostProcess.start({
      name: this.name,
      path: this.options.path,
      log: this.log,
      memoryBytes: this.options.limits.memory,
      workers: Math.min(this.options.limits.concurrency ?? 4, 16),
      heartbeatMs: HEARTBEAT_MS,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      cwd: this.options.workingDir,
      onEmit: (json) => this.emit(json),
      onHostCall: (kind, args) => this.hostCall(kind, args),
      onLog: (level, message) => this.context?.log(logLevelName(level), message),
    }).catch((err: Error) => {
      // A library that cannot load is a configuration problem, not a crash: do not retry it.
      if (err instanceof BackworksError && err.code !== 'BW_ERR_NATIVE_HOST') throw err;
      throw new HostCrashed(err.message);
    });
    this.pending = host;
    if (this.state === 'stopped') host.kill('the plugin was stopped during initialize');
    const initMs = this.options.initTimeoutMs ?? INIT_MS;
    const timer = setTimeout(() => host.kill(`initialize missed its ${initMs}ms deadline (init_timeout)`), initMs);
    let result: CallResult;
    try {
      result = await host.call(Frame.INIT, [JSON.stringify(this.config ?? {})]);
    } catch (err) {
      throw new HostCrashed(`during initialize: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.pending = undefined;
    }
    if (this.state === 'stopped') { await this.retire(host); throw new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', this.name, 'stopped'); }
    if (result.status < 0) {
      host.kill('initialize failed');
      throw answerToError(this.name, 'initialize', result.status, result.payload);
    }
    this.host = host;
    this.state = 'running';
    void host.exited.then((exit) => this.onExit(host, exit));
  }

  private onExit(host: HostProcess, exit: HostExit): void {
    if (host !== this.host || this.state === 'stopped') return;
    const why = describeExit(exit);
    this.log.error({ pid: host.pid, exit: why }, 'plugin host died');
    if (this.probeStartedAt !== undefined && Date.now() - this.probeStartedAt < this.options.restart.windowMs) {
      this.failedProbe(why);
      return;
    }
    const delay = this.recordCrash(why);
    if (delay !== undefined) this.scheduleRestart(delay);
  }

  /**
   * Counts a crash; returns the delay before the next restart, or undefined once `maxCrashes`
   * within the window quarantined the plugin (its probe is then scheduled).
   */
  private recordCrash(why: string): number | undefined {
    const now = Date.now();
    this.lastExit = why;
    this.crashes = [...this.crashes.filter((t) => now - t < this.options.restart.windowMs), now];
    const { backoffMs, maxBackoffMs, maxCrashes } = this.options.restart;
    if (this.crashes.length >= maxCrashes) {
      this.quarantine(maxBackoffMs, `${this.crashes.length} crashes within ${this.options.restart.windowMs}ms`);
      return undefined;
    }
    this.state = 'restarting';
    return backoffDelay(this.crashes.length - 1, backoffMs, maxBackoffMs);
  }

  /** The probe failed (or its host died within the window): the next one waits twice as long. */
  private failedProbe(why: string): void {
    this.lastExit = why;
    this.quarantine(Math.min(MAX_QUARANTINE_MS, Math.max(this.quarantineMs, this.options.restart.maxBackoffMs) * 2), 'the probe failed');
  }

  private quarantine(periodMs: number, because: string): void {
    this.state = 'quarantined';
    this.quarantineMs = periodMs;
    this.probeStartedAt = undefined;
    this.nextProbeAt = Date.now() + periodMs;
    this.log.error({ because, reason: this.lastExit, probe_in_ms: periodMs, next_probe_at: new Date(this.nextProbeAt).toISOString() }, 'plugin quarantined');
    this.scheduleRestart(periodMs);
  }

  private scheduleRestart(delay: number): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
    this.restartTimer.unref();
  }

  private async restart(): Promise<void> {
    if (this.state === 'stopped') return;
    const probe = this.state === 'quarantined';
    this.restarts++;
    if (probe) this.nextProbeAt = undefined;
    try {
      await this.startHost();
      this.log.info({ restarts: this.restarts, probe }, 'plugin host restarted');
      if (probe) this.onProbeUp();
    } catch (err) {
      this.log.error({ err: (err as Error).message, probe }, 'plugin host restart failed');
      if (probe) { this.failedProbe((err as Error).message); return; }
      const delay = this.recordCrash((err as Error).message);
      if (delay !== undefined) this.scheduleRestart(delay);
    }
  }

  /** The probe is up: it ends the quarantine once it has stayed up for the window. */
  private onProbeUp(): void {
    const started = Date.now();
    this.probeStartedAt = started;
    const timer = setTimeout(() => {
      if (this.probeStartedAt !== started || this.state !== 'running') return;
      this.probeStartedAt = undefined;
      this.quarantineMs = 0;
      this.crashes = [];
      this.log.info({}, 'plugin out of quarantine');
    }, this.options.restart.windowMs);
    timer.unref();
  }

  /** Asks the host to shut the plugin down; kills it if it does not within SHUTDOWN_MS. */
  private async retire(host: HostProcess): Promise<void> {
    if (!host.alive) return;
    const timer = setTimeout(() => host.kill('shutdown missed its deadline'), SHUTDOWN_MS);
    await host.call(Frame.SHUTDOWN, []).catch(() => undefined);
    await host.exited;
    clearTimeout(timer);
  }

  private emit(json: string): void {
    try {
      const parsed = JSON.parse(json) as Reading | Reading[];
      this.context?.emit(Array.isArray(parsed) ? parsed : [parsed]);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'plugin emitted readings that are not JSON; dropped');
    }
  }

  private async hostCall(kind: number, args: string[]): Promise<[number, string]> {
    const context = this.context;
    if (!context) return [Status.HOST_GONE, 'not initialized'];
    switch (kind) {
      case HostCall.EMIT_DURABLE: {
        const [id] = await context.commit({ documents: [JSON.parse(args[0] ?? '') as InboundDocument] });
        return [Status.OK, String(id)];
      }
      case HostCall.STATE_GET: {
        const value = await context.getState(args[0] ?? '');
        return value === undefined ? [Status.NONE, ''] : [Status.OK, value];
      }
      case HostCall.STATE_SET:
        await context.commit({ state: [[args[0] ?? '', args[1] ?? '']] });
        return [Status.OK, ''];
      case HostCall.COMMIT:
        try {
          return [Status.OK, JSON.stringify(await context.commit(args[0] ?? ''))];
        } catch (err) {
          return [Status.ERR, (err as Error).message];
        }
      case HostCall.DOCUMENTS_QUERY: {
        const docs = await context.queryDocuments(JSON.parse(args[0] || '{}') as DocumentQuery);
        return [Status.OK, JSON.stringify(docs)];
      }
      case HostCall.DOCUMENT_STATUS: {
        const found = await context.setDocumentStatus(Number(args[0]), args[1] ?? '');
        return [found ? Status.OK : Status.NONE, ''];
      }
      case HostCall.EMIT_ACKNOWLEDGED:
        return emitAcknowledged(context, args[0] ?? '');
      default:
        return [Status.ERR, `unknown host call ${kind}`];
    }
  }
}

class HostCrashed extends Error {}

/**
 * bw_host_emit_acknowledged (ABI 1.2): -503 when the buffer refused the readings (nothing stored),
 * -400 when they are not valid readings; the header's STATUS CODES let the plugin pass either on.
 */
async function emitAcknowledged(context: HostContext, json: string): Promise<[number, string]> {
  let readings: Reading[];
  try {
    const parsed = JSON.parse(json) as Reading | Reading[];
    readings = Array.isArray(parsed) ? parsed : [parsed];
  } catch (err) {
    return [-400, `readings are not JSON: ${(err as Error).message}`];
  }
  try {
    await context.emitAcknowledged(readings);
    return [Status.OK, ''];
  } catch (err) {
    const refused = (err as { status?: number }).status === 503;
    return [refused ? -503 : err instanceof TypeError ? -400 : Status.ERR, (err as Error).message];
  }
}

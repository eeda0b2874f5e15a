import path from 'node:path';
import type * as Opcua from 'node-opcua';
import type { HostContext, Quality, Reading } from '../../../sdk/typescript/index.js';
import { PluginError } from '../../../sdk/typescript/index.js';
import { parseDuration } from '../../../sdk/typescript/units.js';
import type { OpcuaPointConfig, OpcuaServerConfig } from './config.js';
import { SESSION_GONE, SessionSupervisor, type OpcuaLib } from './session.js';
import { qualityOf, readingValue, UnsupportedType } from './values.js';
import { checkValue } from './writes.js';

/**
 * One OPC UA server's points: on each session the supervisor opens, one subscription for the
 * monitored points (watched: silence longer than its keep-alive recycles the session) and a timer
 * for the polled ones. Every point's last reading lives in one map, and health is read from that
 * map and the session state — the data and /health cannot disagree.
 */

interface PointState {
  value: Reading['value'];
  quality: Quality;
  /** The status code name (or the reason) when the point is not good. */
  status?: string;
}

/** Silence allowed beyond publishing interval × keep-alive count before the subscription is presumed dead. */
const WATCHDOG_MARGIN = 1.5;
const WATCHDOG_SLACK_MS = 1000;

export class ServerConnection {
  private readonly supervisor: SessionSupervisor;
  private readonly points = new Map<string, PointState>();
  private readonly dataTypes = new Map<string, Opcua.DataType>();
  /** "point status" pairs already logged: a bad node is logged once, not at every reading. */
  private readonly logged = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private subscription: Opcua.ClientSubscription | undefined;

  constructor(
    private readonly lib: OpcuaLib,
    readonly config: OpcuaServerConfig,
    private readonly host: HostContext,
    pkiDir: string,
  ) {
    this.supervisor = new SessionSupervisor(lib, config, host, pkiDir, {
      onSession: (session) => this.open(session),
      onLost: () => this.lost(),
    });
  }

  start(): void {
    this.supervisor.start();
  }

  private async open(session: Opcua.ClientSession): Promise<void> {
    const subscribed = this.config.points.filter((p) => (p.mode ?? 'subscribe') === 'subscribe');
    const polled = this.config.points.filter((p) => p.mode === 'poll');
    if (subscribed.length) await this.subscribe(session, subscribed);
    if (polled.length) {
      const tick = () => void this.poll(session, polled);
      tick();
      this.timers.push(setInterval(tick, parseDuration(this.config.poll_interval ?? '1s')));
    }
  }

  private async subscribe(session: Opcua.ClientSession, points: OpcuaPointConfig[]): Promise<void> {
    const { lib } = this;
    const keepAlive = this.config.keep_alive_count ?? 10;
    const subscription = await session.createSubscription2({
      requestedPublishingInterval: parseDuration(this.config.publishing_interval ?? '1s'),
      requestedMaxKeepAliveCount: keepAlive,
      requestedLifetimeCount: keepAlive * 6,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    });
    this.subscription = subscription;
    let heard = Date.now();
    const alive = () => { heard = Date.now(); };
    subscription.on('keepalive', alive);
    subscription.on('received_notifications', alive);
    subscription.on('terminated', () => { if (this.subscription === subscription) this.supervisor.recycle('the subscription was terminated'); });
    // The server's revised values: what it promised, not what we asked for.
    const limit = subscription.publishingInterval * subscription.maxKeepAliveCount * WATCHDOG_MARGIN + WATCHDOG_SLACK_MS;
    this.timers.push(setInterval(() => {
      const silent = Date.now() - heard;
      if (silent > limit) this.supervisor.recycle(`the subscription was silent for ${silent} ms (limit ${Math.round(limit)} ms)`);
    }, Math.max(250, subscription.publishingInterval)));

    await Promise.all(points.map(async (p) => {
      const filter = p.deadband
        ? new lib.DataChangeFilter({ trigger: lib.DataChangeTrigger.StatusValue, deadbandType: lib.DeadbandType.Absolute, deadbandValue: p.deadband })
        : undefined;
      try {
        const item = await subscription.monitor(
          { nodeId: p.node, attributeId: lib.AttributeIds.Value },
          { samplingInterval: parseDuration(p.sampling_interval ?? '1s'), queueSize: 10, discardOldest: true, filter },
          lib.TimestampsToReturn.Both,
        );
        if (!item.statusCode.isGood()) { this.refuse(p, item.statusCode.name); return; }
        item.on('changed', (dv: Opcua.DataValue) => { if (this.subscription === subscription) this.emit([this.reading(p, dv)]); });
      } catch (err) {
        this.refuse(p, statusName(err));
      }
    }));
  }

  private async poll(session: Opcua.ClientSession, points: OpcuaPointConfig[]): Promise<void> {
    if (this.supervisor.current !== session) return;
    try {
      const values = await session.read(points.map((p) => ({ nodeId: p.node, attributeId: this.lib.AttributeIds.Value })));
      if (this.supervisor.current === session) this.emit(points.map((p, i) => this.reading(p, values[i])));
    } catch (err) {
      const name = statusName(err);
      if (SESSION_GONE.has(name)) this.supervisor.recycle(`a read answered ${name}`);
      else this.host.log('warn', `OPC UA server ${this.config.name}: polled read failed: ${(err as Error).message}`);
    }
  }

  private reading(p: OpcuaPointConfig, dv: Opcua.DataValue): Reading {
    const ts = dv.sourceTimestamp?.getTime() ?? dv.serverTimestamp?.getTime() ?? Date.now();
    const base = { device: this.config.name, point: p.name, ts };
    const quality = qualityOf(dv.statusCode);
    if (quality === 'bad') return this.noteBad(p, dv.statusCode.name, base);
    try {
      const value = readingValue(dv.value);
      this.points.set(p.name, { value, quality, status: quality === 'good' ? undefined : dv.statusCode.name });
      return { ...base, value, quality };
    } catch (err) {
      if (!(err instanceof UnsupportedType)) throw err;
      return this.noteBad(p, err.message, base);
    }
  }

  /** A point the server refuses (unknown node, access denied, …): bad, with the status, logged once. */
  private noteBad(p: OpcuaPointConfig, status: string, base: { device: string; point: string; ts: number }): Reading {
    this.points.set(p.name, { value: null, quality: 'bad', status });
    const key = `${p.name} ${status}`;
    if (!this.logged.has(key)) {
      this.logged.add(key);
      this.host.log('warn', `OPC UA server ${this.config.name}: point ${p.name} (${p.node}) is bad: ${status}`, { server: this.config.name, point: p.name, node: p.node, status });
    }
    return { ...base, value: null, quality: 'bad' };
  }

  private refuse(p: OpcuaPointConfig, status: string): void {
    this.emit([this.noteBad(p, status, { device: this.config.name, point: p.name, ts: Date.now() })]);
  }

  private emit(readings: Reading[]): void {
    if (readings.length) this.host.emit(readings);
  }

  /** The session is gone: stop its timers and report every value that was good as stale. */
  private lost(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.subscription = undefined;
    const ts = Date.now();
    const stale: Reading[] = [];
    for (const [point, s] of this.points) {
      if (s.quality === 'bad') continue;
      s.quality = 'stale';
      s.status = undefined;
      stale.push({ device: this.config.name, point, value: s.value, quality: 'stale', ts });
    }
    this.emit(stale);
  }

  async write(pointName: string, value: unknown): Promise<void> {
    const p = this.config.points.find((x) => x.name === pointName);
    if (!p) throw new PluginError(`OPC UA server "${this.config.name}" has no point "${pointName}"`, 404);
    if (!p.writable) throw new PluginError(`point "${pointName}" of "${this.config.name}" is not writable`, 400);
    const session = this.supervisor.current;
    if (!session) throw new PluginError(`OPC UA server "${this.config.name}" is ${this.supervisor.state}${this.supervisor.lastError ? ` (${this.supervisor.lastError})` : ''}; retry once it is connected`, 503);
    const { lib } = this;
    try {
      let dataType = this.dataTypes.get(p.node);
      if (dataType === undefined) {
        const dv = await session.read({ nodeId: p.node, attributeId: lib.AttributeIds.DataType });
        const id = dv.value?.value as Opcua.NodeId | undefined;
        if (!dv.statusCode.isGood() || !id || id.namespace !== 0 || typeof id.value !== 'number') {
          throw new PluginError(`cannot tell the data type of ${p.node}: ${dv.statusCode.name}`, 502);
        }
        dataType = id.value as Opcua.DataType;
        this.dataTypes.set(p.node, dataType);
      }
      const checked = checkValue(lib.DataType[dataType], value, pointName);
      const status = await session.write({ nodeId: p.node, attributeId: lib.AttributeIds.Value, value: { value: { dataType, value: checked } } });
      if (!status.isGood()) {
        const refused = ['BadTypeMismatch', 'BadOutOfRange', 'BadNotWritable', 'BadUserAccessDenied', 'BadWriteNotSupported'].includes(status.name);
        throw new PluginError(`writing ${pointName} (${p.node}) failed: ${status.name}`, refused ? 400 : 502);
      }
    } catch (err) {
      if (err instanceof PluginError) throw err;
      const name = statusName(err);
      if (/timed? ?out/i.test((err as Error).message) || name === 'BadTimeout') {
        throw new PluginError(`writing ${pointName} (${p.node}): OPC UA server "${this.config.name}" did not answer within ${this.config.request_timeout ?? '10s'}`, 504);
      }
      if (/connection break|BadConnectionClosed|BadSecureChannelClosed/i.test((err as Error).message)) {
        this.supervisor.recycle('the connection broke during a write');
        throw new PluginError(`writing ${pointName} (${p.node}): OPC UA server "${this.config.name}" did not answer (the connection broke; the write may or may not have been applied)`, 504);
      }
      if (SESSION_GONE.has(name)) {
        this.supervisor.recycle(`a write answered ${name}`);
        throw new PluginError(`writing ${pointName}: OPC UA server "${this.config.name}" lost the session (${name}); retry once it is connected`, 503);
      }
      throw new PluginError(`writing ${pointName} (${p.node}) failed: ${(err as Error).message}`, 502);
    }
  }

  /** Health from the same map the readings come from. */
  status(): { connected: boolean; stale: string[]; details: Record<string, unknown> } {
    const bad: Record<string, string> = {};
    const stale: string[] = [];
    const counts: Record<string, number> = { good: 0, uncertain: 0, stale: 0, bad: 0, waiting: 0 };
    for (const p of this.config.points) {
      const s = this.points.get(p.name);
      if (!s) { counts.waiting++; continue; }
      counts[s.quality]++;
      if (s.quality === 'bad' && s.status) bad[p.name] = s.status;
      if (s.quality === 'stale') stale.push(p.name);
    }
    const connected = this.supervisor.state === 'connected';
    return {
      connected,
      stale,
      details: {
        endpoint: this.config.endpoint,
        state: this.supervisor.state,
        security: this.config.security_mode ?? 'None',
        reconnects: Math.max(0, this.supervisor.sessions - 1),
        points: counts,
        ...(Object.keys(bad).length ? { bad } : {}),
        ...(this.supervisor.lastError ? { lastError: this.supervisor.lastError } : {}),
      },
    };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.subscription = undefined;
    await this.supervisor.close();
  }
}

/** The OPC UA status code name in a node-opcua error ("... BadNodeIdUnknown (0x80340000)"), or its message. */
function statusName(err: unknown): string {
  const message = (err as Error)?.message ?? String(err);
  return /\b(Bad[A-Za-z]+|Uncertain[A-Za-z]+)\b/.exec(message)?.[1] ?? message;
}

export function pkiDirOf(stateDir: string): string {
  return path.join(stateDir, 'pki');
}

import path from 'node:path';
import type * as Opcua from 'node-opcua';
import type { HostContext, Quality, Reading } from '../../../sdk/typescript/index.js';
import { PluginError } from '../../../sdk/typescript/index.js';
import { parseDuration } from '../../../service/src/config/units.js';
import type { OpcuaPointConfig, OpcuaServerConfig } from './config.js';

/**
 * One OPC UA server: a client with its certificate in the plugin's state directory, one session,
 * one subscription for monitored points and a timer for polled ones. node-opcua reconnects with
 * back-off and restores the session and its subscription; while the link is down the last values
 * are reported stale.
 */

export type OpcuaLib = typeof Opcua;
type State = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export class ServerConnection {
  private client: Opcua.OPCUAClient | undefined;
  private session: Opcua.ClientSession | undefined;
  private subscription: Opcua.ClientSubscription | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private state: State = 'connecting';
  private lastError: string | undefined;
  private readonly last = new Map<string, { value: Reading['value']; quality: Quality }>();
  private readonly dataTypes = new Map<string, Opcua.DataType>();
  private reconnects = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly lib: OpcuaLib,
    readonly config: OpcuaServerConfig,
    private readonly host: HostContext,
    private readonly pkiDir: string,
  ) {}

  start(): void {
    this.running = this.run().catch((err: Error) => {
      if (this.state === 'closed') return;
      this.lastError = err.message;
      this.host.log('error', `OPC UA server ${this.config.name}: ${err.message}`, { endpoint: this.config.endpoint });
    });
  }

  private async run(): Promise<void> {
    const { lib, config: c } = this;
    const certificateManager = new lib.OPCUACertificateManager({
      rootFolder: this.pkiDir,
      automaticallyAcceptUnknownCertificate: c.accept_unknown_server_certificate ?? true,
    });
    const mode = lib.MessageSecurityMode[c.security_mode ?? 'None'];
    const policy = c.security_policy ?? (mode === lib.MessageSecurityMode.None ? 'None' : 'Basic256Sha256');
    const client = lib.OPCUAClient.create({
      applicationName: 'Backworks',
      clientName: `backworks-${this.host.pluginName}-${c.name}`,
      // The certificate is created on first use under pkiDir/own and reused from then on.
      clientCertificateManager: certificateManager,
      securityMode: mode,
      securityPolicy: lib.SecurityPolicy[policy],
      endpointMustExist: false,
      keepSessionAlive: true,
      connectionStrategy: { maxRetry: -1, initialDelay: 500, maxDelay: parseDuration(c.reconnect_max ?? '30s') },
    });
    this.client = client;
    client.on('connection_lost', () => {
      this.state = 'reconnecting';
      this.host.log('warn', `OPC UA server ${c.name} connection lost; reconnecting`, { endpoint: c.endpoint });
      this.markStale();
    });
    client.on('connection_reestablished', () => {
      this.state = 'connected';
      this.reconnects++;
      this.host.log('info', `OPC UA server ${c.name} reconnected`, { endpoint: c.endpoint });
    });
    client.on('backoff', (retry: number, delay: number) => { this.lastError = `connection attempt ${retry} failed; next in ${delay} ms`; });

    await client.connect(c.endpoint);
    if (this.state === 'closed') return;
    this.session = await client.createSession(c.username
      ? { type: lib.UserTokenType.UserName, userName: c.username, password: c.password ?? '' }
      : { type: lib.UserTokenType.Anonymous });
    this.state = 'connected';
    this.host.log('info', `OPC UA session open on ${c.endpoint} (${c.security_mode ?? 'None'})`, { server: c.name });
    await this.monitor(c.points.filter((p) => (p.mode ?? 'subscribe') === 'subscribe'));
    const polled = c.points.filter((p) => p.mode === 'poll');
    if (polled.length) {
      const tick = () => void this.poll(polled);
      tick();
      this.pollTimer = setInterval(tick, parseDuration(c.poll_interval ?? '1s'));
    }
  }

  private async monitor(points: OpcuaPointConfig[]): Promise<void> {
    if (!points.length || !this.session) return;
    const { lib } = this;
    this.subscription = await this.session.createSubscription2({
      requestedPublishingInterval: parseDuration(this.config.publishing_interval ?? '1s'),
      requestedLifetimeCount: 600,
      requestedMaxKeepAliveCount: 20,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    });
    for (const p of points) {
      const filter = p.deadband
        ? new lib.DataChangeFilter({ trigger: lib.DataChangeTrigger.StatusValue, deadbandType: lib.DeadbandType.Absolute, deadbandValue: p.deadband })
        : undefined;
      const item = await this.subscription.monitor(
        { nodeId: p.node, attributeId: lib.AttributeIds.Value },
        { samplingInterval: parseDuration(p.sampling_interval ?? '1s'), queueSize: 10, discardOldest: true, filter },
        lib.TimestampsToReturn.Both,
      );
      item.on('changed', (dv: Opcua.DataValue) => this.emit([this.reading(p, dv)]));
      item.on('err', (message: string) => {
        this.lastError = `${p.name} (${p.node}): ${message}`;
        this.emit([{ device: this.config.name, point: p.name, value: null, quality: 'bad', ts: Date.now() }]);
      });
    }
  }

  private async poll(points: OpcuaPointConfig[]): Promise<void> {
    if (this.state !== 'connected' || !this.session) return;
    try {
      const values = await this.session.read(points.map((p) => ({ nodeId: p.node, attributeId: this.lib.AttributeIds.Value })));
      this.emit(points.map((p, i) => this.reading(p, values[i])));
    } catch (err) {
      this.lastError = `poll: ${(err as Error).message}`;
    }
  }

  private reading(p: OpcuaPointConfig, dv: Opcua.DataValue): Reading {
    const quality = qualityOf(dv.statusCode);
    const raw = dv.value?.value as unknown;
    const value = quality === 'bad' ? null : toValue(raw);
    const ts = dv.sourceTimestamp?.getTime() ?? dv.serverTimestamp?.getTime() ?? Date.now();
    return { device: this.config.name, point: p.name, value, quality, ts };
  }

  private emit(readings: Reading[]): void {
    for (const r of readings) this.last.set(r.point, { value: r.value, quality: r.quality ?? 'good' });
    if (readings.length) this.host.emit(readings);
  }

  private markStale(): void {
    const ts = Date.now();
    const stale: Reading[] = [];
    for (const [point, s] of this.last) if (s.quality === 'good') stale.push({ device: this.config.name, point, value: s.value, quality: 'stale', ts });
    this.emit(stale);
  }

  async write(pointName: string, value: unknown): Promise<void> {
    const p = this.config.points.find((x) => x.name === pointName);
    if (!p) throw new PluginError(`OPC UA server "${this.config.name}" has no point "${pointName}"`, 404);
    if (!p.writable) throw new PluginError(`point "${pointName}" of "${this.config.name}" is not writable`, 400);
    if (this.state !== 'connected' || !this.session) throw new PluginError(`OPC UA server "${this.config.name}" is ${this.state}`, 503);
    const { lib } = this;
    let dataType = this.dataTypes.get(p.node);
    if (dataType === undefined) {
      const dv = await this.session.read({ nodeId: p.node, attributeId: lib.AttributeIds.DataType });
      const id = dv.value?.value as Opcua.NodeId | undefined;
      if (!dv.statusCode.isGood() || !id || id.namespace !== 0 || typeof id.value !== 'number') {
        throw new PluginError(`cannot tell the data type of ${p.node}: ${dv.statusCode.name}`, 502);
      }
      dataType = id.value as Opcua.DataType;
      this.dataTypes.set(p.node, dataType);
    }
    const checked = checkValue(lib, dataType, value, pointName);
    const status = await this.session.write({ nodeId: p.node, attributeId: lib.AttributeIds.Value, value: { value: { dataType, value: checked } } });
    if (!status.isGood()) {
      const refused = ['BadTypeMismatch', 'BadOutOfRange', 'BadNotWritable', 'BadUserAccessDenied', 'BadWriteNotSupported'].includes(status.name);
      throw new PluginError(`writing ${pointName} (${p.node}) failed: ${status.name}`, refused ? 400 : 502);
    }
  }

  status(): Record<string, unknown> {
    return { endpoint: this.config.endpoint, state: this.state, security: this.config.security_mode ?? 'None', reconnects: this.reconnects, lastError: this.lastError };
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  async close(): Promise<void> {
    this.state = 'closed';
    if (this.pollTimer) clearInterval(this.pollTimer);
    const client = this.client;
    // A server that is gone never answers: each step gets a bounded wait so shutdown always ends.
    await bounded(this.subscription?.terminate());
    await bounded(this.session?.close());
    await bounded(client?.disconnect());
    await bounded(this.running);
  }
}

function bounded(step: Promise<unknown> | undefined, ms = 3000): Promise<void> {
  if (!step) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    step.then(() => { clearTimeout(timer); resolve(); }, () => { clearTimeout(timer); resolve(); });
  });
}

function qualityOf(status: Opcua.StatusCode): Quality {
  if (status.isGood()) return 'good';
  if (status.isGoodish?.() || (status.value & 0xc0000000) === 0x40000000) return 'uncertain';
  return 'bad';
}

function toValue(raw: unknown): Reading['value'] {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'number' || typeof raw === 'string' || typeof raw === 'boolean') return raw;
  if (typeof raw === 'bigint') return Number.isSafeInteger(Number(raw)) ? Number(raw) : raw.toString();
  if (raw instanceof Date) return raw.toISOString();
  if (Array.isArray(raw) && raw.length === 2 && raw.every((x) => typeof x === 'number')) {
    // node-opcua gives Int64/UInt64 as [high, low] 32-bit words
    const v = raw[0] * 2 ** 32 + raw[1];
    return Number.isSafeInteger(v) ? v : String(v);
  }
  return JSON.stringify(raw);
}

const INT_RANGES: Record<string, [number, number]> = {
  SByte: [-128, 127], Byte: [0, 255], Int16: [-32768, 32767], UInt16: [0, 65535],
  Int32: [-2147483648, 2147483647], UInt32: [0, 4294967295],
};

function checkValue(lib: OpcuaLib, dataType: Opcua.DataType, value: unknown, point: string): unknown {
  const name = lib.DataType[dataType];
  const fail = (why: string) => { throw new PluginError(`point "${point}" (${name}): ${why}`, 400); };
  switch (name) {
    case 'Boolean': if (typeof value !== 'boolean') fail(`expects true or false, got ${JSON.stringify(value)}`); return value;
    case 'String': if (typeof value !== 'string') fail(`expects text, got ${JSON.stringify(value)}`); return value;
    case 'Float': case 'Double':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(`expects a number, got ${JSON.stringify(value)}`);
      return value;
    default: {
      const range = INT_RANGES[name];
      if (!range) fail('writing this data type is not supported');
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(`expects an integer, got ${JSON.stringify(value)}`);
      if ((value as number) < range[0] || (value as number) > range[1]) fail(`${value} is out of range ${range[0]}..${range[1]}`);
      return value;
    }
  }
}

export function pkiDirOf(stateDir: string): string {
  return path.join(stateDir, 'pki');
}

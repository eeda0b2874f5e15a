import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { DataBuffer } from '../../buffer/buffer.js';
import type { FleetSettings } from '../../config/sections/fleet.js';
import type { GatewayIdentity } from '../../config/sections/gateway.js';
import { parseDuration } from '../../../../sdk/typescript/units.js';
import { backoffDelay } from '../../../../sdk/typescript/backoff.js';
import type { Logger } from '../../log.js';
import type { CommandAnswer } from '../commands.js';
import { connectOptions } from '../connect-options.js';
import type { GatewayControl } from '../control.js';
import { OutboxDrain, type Publisher } from '../outbox-drain.js';
import { datatypeOf, decode, encode, fits, metricValue, qualityCode, toNumber, type TypeStr, type UMetric } from './payload.js';
import { parseState } from './primary-host.js';
import { SparkplugTopics, stateTopic } from './topics.js';

/** Where bdSeq is kept in the buffer's plugin state, so it keeps counting across restarts. */
export const BDSEQ_STATE = { plugin: 'fleet.sparkplug', key: 'bdSeq' } as const;

export interface SparkplugNodeOptions {
  gateway: GatewayIdentity;
  fleet: FleetSettings;
  buffer: DataBuffer;
  control: GatewayControl;
  log: Logger;
  version: string;
  configDir: string;
  /** Records a command that changed the gateway or was refused (the fleet link's audit rows). */
  audit(name: string, answer: CommandAnswer): void;
}

interface Reading { device: string; point: string; value: unknown; quality: string; ts: number; seq: number }
interface DeviceState { alive: boolean; types: Map<string, TypeStr> }

/**
 * A Sparkplug B 3.0 edge node on its own MQTT session (its will is the NDEATH): NBIRTH with bdSeq
 * and the node metrics, a DBIRTH per device, the buffer's outbox drained as DDATA (readings older
 * than the birth flagged is_historical), DDEATH when every point of a device has gone bad, NCMD
 * rebirth and DCMD writes through the owning plugin. With a primary host, births wait for its
 * STATE online, and its going offline ends the session: the buffer keeps storing meanwhile.
 */
export class SparkplugNode {
  readonly topics: SparkplugTopics;
  readonly uplink = 'sparkplug';
  private client: MqttClient | undefined;
  private readonly drain: OutboxDrain;
  private readonly primaryHost: string | undefined;
  private readonly clientId: string;
  private bdSeq = 0;
  private seq = 0;
  private born = false;
  private bornAt = 0;
  private stopped = false;
  private connects = 0;
  private births = 0;
  private hostOnline = false;
  /** Newest STATE timestamp seen: an older one (a stale retained message) is ignored, as 3.0 asks. */
  private hostStateAt = 0;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private metricsTimer: NodeJS.Timeout | null = null;
  private readonly aliases = new Map<string, number>();
  private readonly aliasNames = new Map<number, { device: string; point: string }>();
  private readonly devices = new Map<string, DeviceState>();
  private nodeValues = new Map<string, string | number>();
  private writesRefused = 0;

  constructor(private readonly options: SparkplugNodeOptions) {
    const spb = options.fleet.sparkplug ?? {};
    this.topics = new SparkplugTopics(spb.group_id ?? options.gateway.site, spb.edge_node_id ?? options.gateway.id);
    this.primaryHost = spb.primary_host_id;
    this.clientId = `${options.fleet.mqtt.client_id ?? `backworks-${options.gateway.site}-${options.gateway.id}`}-spb`;
    const node = this;
    const publisher: Publisher = {
      get connected() { return node.born && node.client?.connected === true; },
      receiveMaximum: 65535,
      publish: (device, payload, done) => { this.publishReadings(device, JSON.parse(payload) as Reading[], done); return undefined; },
      discard: () => {},
    };
    this.drain = new OutboxDrain(options.buffer, publisher, {
      uplink: this.uplink,
      batchSize: options.fleet.batch_size,
      maxInflight: options.fleet.max_inflight,
      onError: (err) => options.log.warn({ err: err.message }, 'sparkplug: a DDATA could not be written; resending from the last one written'),
    });
    void this.open();
  }

  health() {
    return {
      status: this.born ? 'healthy' as const : 'degraded' as const,
      group_id: this.topics.group,
      edge_node_id: this.topics.node,
      born: this.born,
      bdSeq: this.bdSeq,
      connects: this.connects,
      births: this.births,
      ...(this.primaryHost ? { primary_host: { id: this.primaryHost, online: this.hostOnline } } : {}),
      writes_refused: this.writesRefused,
    };
  }

  /** Intentional disconnect: NDEATH first ([tck-id-operational-behavior-edge-node-intentional-disconnect-ndeath]). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.drain.stop();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    await this.endSession();
  }

  /** Next bdSeq (0 the first time ever, then +1 per CONNECT, mod 256), written before the CONNECT carrying it. */
  private async nextBdSeq(): Promise<number> {
    const stored = await this.options.buffer.getState(BDSEQ_STATE.plugin, BDSEQ_STATE.key);
    const next = stored === undefined ? 0 : (Number(stored) + 1) % 256;
    await this.options.buffer.commit(BDSEQ_STATE.plugin, { state: [[BDSEQ_STATE.key, String(next)]] });
    return next;
  }

  private async open(): Promise<void> {
    try {
      this.bdSeq = await this.nextBdSeq();
    } catch (err) {
      this.options.log.error({ err: (err as Error).message }, 'sparkplug: cannot store bdSeq; retrying');
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    const connect: IClientOptions = {
      ...connectOptions(this.options.fleet, this.clientId, this.options.configDir),
      clientId: this.clientId,
      will: { topic: this.topics.node_('NDEATH'), payload: this.deathPayload(), qos: 1, retain: false },
    };
    const client = mqtt.connect(this.options.fleet.mqtt.url, connect);
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => { if (this.client === client) this.onClose(); });
    client.on('error', (err) => this.options.log.debug({ err: err.message }, 'sparkplug: connection error'));
    client.on('message', (topic, payload) => void this.onMessage(topic, payload).catch((err) => this.options.log.warn({ err: (err as Error).message, topic }, 'sparkplug: command failed')));
  }

  private onConnect(client: MqttClient): void {
    this.connects++;
    this.attempts = 0;
    const topics = [this.topics.node_('NCMD'), this.topics.deviceCommands, ...(this.primaryHost ? [stateTopic(this.primaryHost)] : [])];
    client.subscribe(topics, { qos: 1 }, (err) => {
      if (err) { this.options.log.warn({ err: err.message }, 'sparkplug: cannot subscribe'); return; }
      // Without a primary host nothing is awaited; with one, its retained STATE starts the births.
      if (!this.primaryHost) void this.birth();
    });
    if (!this.metricsTimer) {
      this.metricsTimer = setInterval(() => void this.publishNodeData().catch(() => {}), parseDuration(this.options.fleet.health_interval));
      this.metricsTimer.unref();
    }
  }

  private onClose(): void {
    this.born = false;
    this.drain.reset();
    if (!this.stopped) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.stopped) return;
    // The fleet link's backoff: each attempt is a CONNECT and a new bdSeq.
    const delay = backoffDelay(this.attempts, parseDuration(this.options.fleet.reconnect.initial), parseDuration(this.options.fleet.reconnect.max));
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      const old = this.client;
      this.client = undefined;
      old?.removeAllListeners();
      old?.end(true);
      void this.open();
    }, delay);
  }

  private async endSession(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.born = false;
    if (client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        client.publish(this.topics.node_('NDEATH'), this.deathPayload(), { qos: 1, retain: false }, () => { clearTimeout(timer); resolve(); });
      });
    }
    await new Promise<void>((resolve) => client.end(!client.connected, {}, () => resolve()));
  }

  private deathPayload(): Buffer {
    return encode({ timestamp: Date.now(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: this.bdSeq }] });
  }

  private nextSeq(): number {
    const seq = this.seq;
    this.seq = (this.seq + 1) % 256;
    return seq;
  }

  private send(topic: string, metrics: UMetric[], done?: (err?: Error) => void): void {
    const payload = encode({ timestamp: Date.now(), seq: this.nextSeq(), metrics });
    this.client!.publish(topic, payload, { qos: 0, retain: false }, (err) => done?.(err ?? undefined));
  }

  private alias(device: string, point: string): number {
    const key = `${device}\u0000${point}`;
    let alias = this.aliases.get(key);
    if (alias === undefined) {
      alias = this.aliases.size + 1;
      this.aliases.set(key, alias);
      this.aliasNames.set(alias, { device, point });
    }
    return alias;
  }

  /** The node's own metrics: version, overall health, the Sparkplug backlog and each plugin's state. */
  private async nodeMetrics(): Promise<Map<string, { type: TypeStr; value: string | number }>> {
    const report = (await this.options.control.health()) as { status?: string; plugins?: Record<string, { state?: string; status?: string }> };
    const metrics = new Map<string, { type: TypeStr; value: string | number }>([
      ['Node Info/Version', { type: 'String', value: this.options.version }],
      ['Node Info/Health', { type: 'String', value: report.status ?? 'unknown' }],
      ['Buffer/Backlog', { type: 'UInt64', value: this.options.buffer.pending()[this.uplink] ?? 0 }],
    ]);
    for (const [name, plugin] of Object.entries(report.plugins ?? {})) metrics.set(`Plugins/${name}/State`, { type: 'String', value: plugin.state ?? plugin.status ?? 'unknown' });
    return metrics;
  }

  /** NBIRTH (seq 0, the session's bdSeq) then a DBIRTH per device the buffer knows, then the outbox. */
  private async birth(): Promise<void> {
    const node = await this.nodeMetrics();
    const client = this.client;
    if (this.stopped || !client?.connected) return;
    this.born = false;
    this.seq = 0;
    this.bornAt = Date.now();
    this.nodeValues = new Map([...node].map(([name, m]) => [name, m.value]));
    this.send(this.topics.node_('NBIRTH'), [
      { name: 'bdSeq', type: 'UInt64', value: this.bdSeq },
      { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
      { name: 'Node Control/Reboot', type: 'Boolean', value: false },
      ...[...node].map(([name, m]) => ({ name, alias: this.alias('', name), type: m.type, value: m.value, timestamp: this.bornAt })),
    ]);
    this.devices.clear();
    for (const { device } of this.options.buffer.devices()) this.deviceBirth(device);
    this.born = true;
    this.births++;
    // No rewind on a rebirth: DDATA already handed to the connection precede the NBIRTH on the wire
    // and carry the seqs of the old birth; a new connection has rewound the drain already (onClose).
    this.drain.pump();
  }

  /** DBIRTH with every point the buffer holds for the device, its newest value, quality and time. */
  private deviceBirth(device: string, extra: Reading[] = []): DeviceState {
    const latest = this.options.buffer.device(device) ?? {};
    const types = new Map<string, TypeStr>();
    const metrics: UMetric[] = [];
    let alive = false;
    const points: Array<[string, { value: unknown; quality: string; ts: number }]> = Object.entries(latest);
    for (const r of extra) if (!(r.point in latest)) points.push([r.point, r]);
    for (const [point, v] of points) {
      const sample = v.value ?? extra.find((r) => r.point === point && r.value !== null)?.value;
      const type = datatypeOf(sample);
      types.set(point, type);
      if (v.quality === 'good') alive = true;
      metrics.push({ name: point, alias: this.alias(device, point), type, value: metricValue(v.value, type), timestamp: v.ts, properties: { Quality: { type: 'Int32', value: qualityCode(v.quality) } } });
    }
    this.send(this.topics.device('DBIRTH', device), metrics);
    const state = { alive: true, types };
    this.devices.set(device, state);
    if (!alive && metrics.length > 0) this.deviceDeath(device, state);
    return state;
  }

  private deviceDeath(device: string, state: DeviceState): void {
    state.alive = false;
    this.send(this.topics.device('DDEATH', device), []);
  }

  /** One outbox message: DDATA of the device's readings, born first when new or back from a DDEATH. */
  private publishReadings(device: string, readings: Reading[], done: (err?: Error) => void): void {
    let state = this.devices.get(device);
    const anyGood = readings.some((r) => r.quality === 'good');
    if (!state || readings.some((r) => !state!.types.has(r.point)) || (!state.alive && anyGood)) state = this.deviceBirth(device, readings);
    if (!state.alive) { done(); return; }
    const metrics = readings.map((r): UMetric => {
      const type = state.types.get(r.point)!;
      const value = fits(r.value, type) ? metricValue(r.value, type) : null;
      return {
        alias: this.alias(device, r.point), type, value, timestamp: r.ts,
        ...(r.ts < this.bornAt ? { isHistorical: true } : {}),
        properties: { Quality: { type: 'Int32', value: qualityCode(r.quality) } },
      };
    });
    this.send(this.topics.device('DDATA', device), metrics, done);
    const latest = this.options.buffer.device(device);
    if (latest && Object.values(latest).every((v) => v.quality !== 'good')) this.deviceDeath(device, state);
  }

  /** NDATA with the node metrics that changed; a plugin never born before makes a rebirth instead. */
  private async publishNodeData(): Promise<void> {
    if (!this.born) return;
    const node = await this.nodeMetrics();
    if (!this.born) return;
    if ([...node.keys()].some((name) => !this.nodeValues.has(name))) { await this.birth(); return; }
    const changed = [...node].filter(([name, m]) => this.nodeValues.get(name) !== m.value);
    if (changed.length === 0) return;
    for (const [name, m] of changed) this.nodeValues.set(name, m.value);
    this.send(this.topics.node_('NDATA'), changed.map(([name, m]) => ({ alias: this.alias('', name), type: m.type, value: m.value, timestamp: Date.now() })));
  }

  private async onMessage(topic: string, bytes: Buffer): Promise<void> {
    if (this.primaryHost && topic === stateTopic(this.primaryHost)) return this.onHostState(bytes);
    if (topic === this.topics.node_('NCMD')) return this.onNodeCommand(bytes);
    const device = this.topics.commandDevice(topic);
    if (device !== undefined) return this.onDeviceCommand(device, bytes);
  }

  private async onHostState(bytes: Buffer): Promise<void> {
    const state = parseState(bytes);
    if (!state) { this.options.log.warn({ host: this.primaryHost }, 'sparkplug: a STATE message that is not {"online": bool, "timestamp": ms}; ignored'); return; }
    if (state.timestamp < this.hostStateAt) return;
    this.hostStateAt = state.timestamp;
    this.hostOnline = state.online;
    if (state.online && !this.born) await this.birth();
    else if (!state.online && this.born) {
      // [tck-id-operational-behavior-primary-application-state-with-multiple-servers-walk]: end the
      // session and connect again; the buffer keeps what arrives until the host is back.
      this.options.log.warn({ host: this.primaryHost }, 'sparkplug: the primary host went offline; storing until it is back');
      await this.endSession();
      this.scheduleReconnect();
    }
  }

  private async onNodeCommand(bytes: Buffer): Promise<void> {
    for (const metric of decode(bytes).metrics ?? []) {
      if (metric.name === 'Node Control/Rebirth' && metric.value === true) {
        await this.birth();
      } else if (metric.name === 'Node Control/Reboot' && metric.value === true) {
        if (!this.options.fleet.sparkplug?.reboot) {
          this.options.log.warn('sparkplug: NCMD Node Control/Reboot refused: set fleet.sparkplug.reboot: true to allow it');
          this.options.audit('sparkplug/Reboot', { ok: false, command: 'sparkplug/Reboot', error: { code: 'BW_ERR_FLEET_COMMAND_DISABLED', message: 'Node Control/Reboot is off (fleet.sparkplug.reboot)' } });
          continue;
        }
        const result = await this.options.control.reload();
        this.options.audit('sparkplug/Reboot', { ok: true, command: 'sparkplug/Reboot', result });
      }
    }
  }

  /** DCMD: each metric (by name or alias) written through the plugin that owns the device. */
  private async onDeviceCommand(device: string, bytes: Buffer): Promise<void> {
    for (const metric of decode(bytes).metrics ?? []) {
      const byAlias = metric.alias !== undefined && metric.alias !== null ? this.aliasNames.get(toNumber(metric.alias)) : undefined;
      const point = metric.name ?? (byAlias?.device === device ? byAlias.point : undefined);
      const command = 'sparkplug/DCMD';
      if (!point) {
        this.writesRefused++;
        this.options.log.warn({ device, alias: String(metric.alias) }, 'sparkplug: DCMD names no metric of this device; send the name or an alias from its DBIRTH');
        continue;
      }
      const value = metric.type === 'Boolean' || metric.type === 'String' ? metric.value : toNumber(metric.value);
      try {
        await this.options.control.write(device, point, value);
        this.options.audit(command, { ok: true, command, result: { device, point } });
      } catch (err) {
        this.writesRefused++;
        const code = (err as { code?: string }).code ?? 'BW_ERR_FLEET_COMMAND_FAILED';
        this.options.log.warn({ device, point, err: (err as Error).message }, 'sparkplug: DCMD write refused');
        this.options.audit(command, { ok: false, command, error: { code, message: (err as Error).message } });
      }
    }
  }
}

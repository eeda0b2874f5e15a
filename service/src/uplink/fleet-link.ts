import os from 'node:os';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { AuditEntry } from '../buffer/audit.js';
import type { DataBuffer } from '../buffer/buffer.js';
import type { FleetConfig } from '../config/sections/fleet.js';
import type { GatewayIdentity } from '../config/sections/gateway.js';
import { parseDuration } from '../config/units.js';
import { ERRORS } from '../errors.js';
import type { Logger } from '../log.js';
import { runCommand, type CommandAnswer, type CommandPolicy } from './commands.js';
import { connectOptions } from './connect-options.js';
import type { GatewayControl } from './control.js';
import { OutboxDrain, type Publisher } from './outbox-drain.js';
import { Topics } from './topics.js';
import { FleetMetrics } from './metrics.js';

export interface FleetLinkOptions {
  gateway: GatewayIdentity;
  fleet: FleetConfig;
  buffer: DataBuffer;
  control: GatewayControl;
  log: Logger;
  version: string;
  /** Folder of backworks.yaml: TLS files are relative to it. */
  configDir: string;
  metrics?: FleetMetrics;
  /** The outbox cursor's name in the buffer. */
  uplinkName?: string;
}

export type LinkState = 'connecting' | 'online' | 'offline' | 'stopped';

/**
 * The gateway's MQTT 5 link to its fleet: retained status with an offline last will, periodic
 * health, the outbox drained to data/{device} with QoS 1, and cmd/{name} answered on the
 * request's response topic. Reconnects with exponential backoff and jitter.
 */
export class FleetLink {
  readonly topics: Topics;
  readonly uplink: string;
  private readonly client: MqttClient;
  private readonly drain: OutboxDrain;
  private readonly policy: CommandPolicy;
  private readonly startedAt = Date.now();
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private state: LinkState = 'connecting';
  private since = Date.now();
  private attempts = 0;
  private receiveMaximum = 65535;
  private connects = 0;
  private lastError: string | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private lastCpu = process.cpuUsage();
  private lastCpuAt = Date.now();

  constructor(private readonly options: FleetLinkOptions) {
    const { gateway, fleet } = options;
    this.topics = new Topics(gateway.site, gateway.id);
    this.uplink = options.uplinkName ?? 'fleet';
    this.policy = { enabled: fleet.commands?.enabled ?? true, disabled: fleet.commands?.disabled ?? [] };
    this.initialBackoff = parseDuration(fleet.reconnect?.initial ?? '500ms');
    this.maxBackoff = parseDuration(fleet.reconnect?.max ?? '30s');

    const connect: IClientOptions = {
      ...connectOptions(fleet, `backworks-${gateway.site}-${gateway.id}`, options.configDir),
      will: { topic: this.topics.status, payload: this.statusPayload('offline', this.since), qos: 1, retain: true },
    };
    this.client = mqtt.connect(fleet.mqtt.url, connect);
    const client = this.client;
    const link = this;
    const publisher: Publisher = {
      get connected() { return client.connected; },
      get receiveMaximum() { return link.receiveMaximum; },
      publish: (device, payload, done) => {
        client.publish(this.topics.data(device), payload, { qos: 1 }, (err) => done(err ?? undefined));
        return client.getLastMessageId();
      },
      discard: (ids) => { for (const id of ids) client.removeOutgoingMessage(id); },
    };
    this.drain = new OutboxDrain(options.buffer, publisher, {
      uplink: this.uplink,
      batchSize: fleet.batch_size ?? 1000,
      maxInflight: fleet.max_inflight ?? 16,
      onPublished: (n) => options.metrics?.published.inc(n),
      onError: (err) => options.log.warn({ err: err.message, uplink: this.uplink }, 'fleet: a data message was refused; resending from the last acknowledged seq'),
    });

    client.on('connect', (connack) => {
      this.receiveMaximum = connack.properties?.receiveMaximum ?? 65535;
      this.onConnect();
    });
    client.on('close', () => this.onClose());
    client.on('error', (err) => { this.lastError = err.message; });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.properties ?? {}));
    options.metrics?.watch(this);
  }

  /** The uplinks section of /health. */
  health() {
    return {
      status: this.state === 'online' ? 'healthy' as const : 'degraded' as const,
      state: this.state,
      since: new Date(this.since).toISOString(),
      broker: this.options.fleet.mqtt.url,
      connects: this.connects,
      acked_seq: this.drain.acked,
      inflight: this.drain.inflightCount,
      ...(this.lastError && this.state !== 'online' ? { last_error: this.lastError } : {}),
    };
  }

  get linkState(): LinkState {
    return this.state;
  }

  /** Publishes the offline status, waits briefly for in-flight data, then disconnects. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasOnline = this.client.connected;
    this.state = 'stopped';
    this.drain.stop();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    if (wasOnline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        this.client.publish(this.topics.status, this.statusPayload('offline', Date.now()), { qos: 1, retain: true }, () => { clearTimeout(timer); resolve(); });
      });
    }
    await new Promise<void>((resolve) => this.client.end(!wasOnline, {}, () => resolve()));
  }

  /** Publishes health now (also runs every health_interval). */
  async publishHealth(): Promise<void> {
    if (!this.client.connected) return;
    const payload = JSON.stringify(await this.healthPayload());
    this.client.publish(this.topics.health, payload, { qos: 0, retain: true });
  }

  private onConnect(): void {
    this.connects++;
    this.attempts = 0;
    this.state = 'online';
    this.since = Date.now();
    this.lastError = null;
    this.options.log.info({ broker: this.options.fleet.mqtt.url, topics: this.topics.root }, 'fleet: connected');
    this.client.publish(this.topics.status, this.statusPayload('online', this.since), { qos: 1, retain: true });
    this.client.subscribe(this.topics.commands, { qos: 1 }, (err) => {
      if (err) this.options.log.warn({ err: err.message }, 'fleet: cannot subscribe to commands');
    });
    if (!this.healthTimer) {
      const every = parseDuration(this.options.fleet.health_interval ?? '30s');
      this.healthTimer = setInterval(() => void this.publishHealth().catch((err) => this.options.log.warn({ err: (err as Error).message }, 'fleet: health failed')), every);
      this.healthTimer.unref();
    }
    void this.publishHealth().catch(() => {});
    this.drain.pump();
  }

  private onClose(): void {
    if (this.state === 'stopped') return;
    this.drain.reset();
    if (this.state === 'online') {
      this.state = 'offline';
      this.since = Date.now();
      this.options.log.warn({ broker: this.options.fleet.mqtt.url, err: this.lastError }, 'fleet: connection lost; buffering until it is back');
    }
    if (this.reconnectTimer) return;
    // Exponential backoff with jitter, so a fleet of gateways does not reconnect in lockstep.
    const ceiling = Math.min(this.maxBackoff, this.initialBackoff * 2 ** Math.min(this.attempts, 20));
    const delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.state === 'stopped') return;
      // The will is fixed at CONNECT: refresh its `since` for this session.
      if (this.client.options.will) this.client.options.will.payload = this.statusPayload('offline', Date.now());
      this.client.reconnect();
    }, delay);
  }

  private onMessage(topic: string, payload: Buffer, properties: { responseTopic?: string; correlationData?: Buffer }): void {
    const name = this.topics.commandName(topic);
    if (name === undefined) return;
    const { responseTopic, correlationData } = properties;
    void runCommand(name, payload, {
      control: this.options.control,
      buffer: this.options.buffer,
      policy: this.policy,
      version: this.options.version,
      startedAt: this.startedAt,
    }).then((answer) => {
      this.options.metrics?.commands.labels(name.slice(0, 40), answer.ok ? 'ok' : 'error').inc();
      this.audit(name, answer);
      if (!responseTopic) {
        this.options.log.warn({ command: name }, 'fleet: command without a response topic; the answer has nowhere to go');
        return;
      }
      this.client.publish(responseTopic, JSON.stringify(answer), {
        qos: 1,
        properties: { correlationData, contentType: 'application/json' },
      });
    });
  }

  /**
   * A command that changes the gateway, or one refused, is an audit row like its HTTP twin. The
   * broker authenticated the sender; the gateway knows only its own link, so `who` is "fleet" and
   * `source` the broker.
   */
  private audit(name: string, answer: CommandAnswer): void {
    if (answer.ok && !STATE_CHANGING.has(name)) return;
    const code = answer.ok ? undefined : answer.error.code;
    const status = code === undefined ? 200 : (ERRORS as Record<string, { status: number }>)[code]?.status ?? 500;
    const entry: AuditEntry = {
      ts: Date.now(), who: 'fleet', role: null, via: 'mqtt', source: brokerHost(this.options.fleet.mqtt.url),
      method: 'MQTT', route: `cmd/${name.slice(0, 80)}`, status,
      outcome: status < 400 ? 'ok' : status === 403 ? 'denied' : 'failed',
    };
    if (!this.options.buffer.audit.record(entry)) this.options.log.error({ audit: entry }, 'audit row not written: the disk refused it; the entry is in this line');
  }

  private statusPayload(state: 'online' | 'offline', since: number): string {
    return JSON.stringify({ state, version: this.options.version, since: new Date(since).toISOString() });
  }

  private async healthPayload() {
    const now = Date.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const elapsedMs = Math.max(1, now - this.lastCpuAt);
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = now;
    const report = (await this.options.control.health()) as Record<string, unknown>;
    return {
      ...report,
      ts: now,
      uptime_s: Math.round((now - this.startedAt) / 1000),
      process: {
        rss_bytes: process.memoryUsage.rss(),
        cpu_percent: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 10,
        load_average: os.loadavg(),
      },
      versions: { backworks: this.options.version, node: process.versions.node, sqlite: this.options.buffer.sqliteVersion },
    };
  }
}

const STATE_CHANGING = new Set(['reload', 'plugin-restart']);

function brokerHost(url: string): string | null {
  try { return new URL(url).host; } catch { return null; }
}

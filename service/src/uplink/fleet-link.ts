import os from 'node:os';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { AuditEntry } from '../buffer/audit.js';
import type { DataBuffer } from '../buffer/buffer.js';
import { fleetSettings, type FleetConfig, type FleetSettings } from '../config/sections/fleet.js';
import type { GatewayIdentity } from '../config/sections/gateway.js';
import { parseDuration } from '../../../sdk/typescript/units.js';
import { backoffDelay } from '../../../sdk/typescript/backoff.js';
import { BackworksError, ERRORS } from '../errors.js';
import type { Logger } from '../log.js';
import { runCommand, type CommandAnswer, type CommandPolicy } from './commands.js';
import { connectOptions } from './connect-options.js';
import type { GatewayControl } from './control.js';
import { OutboxDrain, type Publisher } from './outbox-drain.js';
import { SenderRateLimit } from './rate-limit.js';
import { responseTopicProblem, Topics } from './topics.js';
import { FleetMetrics } from './metrics.js';
import type { SparkplugNode } from './sparkplug/node.js';

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
  /** The Sparkplug B edge node, when `fleet.sparkplug` is set (its own MQTT session). */
  private sparkplug: SparkplugNode | undefined;
  private sparkplugLoading: Promise<void> | undefined;
  private readonly client: MqttClient;
  /** The readings to data/{device}; none when `fleet.backworks_data: false` leaves them to Sparkplug. */
  private readonly drain: OutboxDrain | undefined;
  private readonly policy: CommandPolicy;
  private readonly responsePrefixes: readonly string[];
  private readonly rateLimit: SenderRateLimit;
  private readonly refused = { response_topic: 0, rate_limited: 0 };
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

  private readonly options: FleetLinkOptions & { fleet: FleetSettings };

  constructor(given: FleetLinkOptions) {
    const options = { ...given, fleet: fleetSettings(given.fleet) };
    this.options = options;
    const { gateway, fleet } = options;
    this.topics = new Topics(gateway.site, gateway.id);
    this.uplink = options.uplinkName ?? 'fleet';
    this.policy = { enabled: fleet.commands.enabled, disabled: fleet.commands.disabled ?? [] };
    this.responsePrefixes = fleet.commands.response_prefixes ?? [];
    this.rateLimit = new SenderRateLimit(fleet.commands.rate_limit.burst, parseDuration(fleet.commands.rate_limit.per));
    this.initialBackoff = parseDuration(fleet.reconnect.initial);
    this.maxBackoff = parseDuration(fleet.reconnect.max);

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
    this.drain = fleet.backworks_data === false ? undefined : new OutboxDrain(options.buffer, publisher, {
      uplink: this.uplink,
      batchSize: fleet.batch_size,
      maxInflight: fleet.max_inflight,
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
    // Loaded only when configured: its protobuf codec stays out of the memory of other gateways.
    if (fleet.sparkplug) {
      this.sparkplugLoading = import('./sparkplug/node.js').then(({ SparkplugNode }) => {
        if (this.state !== 'stopped') this.sparkplug = new SparkplugNode({ ...options, audit: (name, answer) => this.audit(name, answer) });
      });
    }
  }

  /** The uplinks section of /health. */
  health() {
    return {
      status: this.state === 'online' ? 'healthy' as const : 'degraded' as const,
      state: this.state,
      since: new Date(this.since).toISOString(),
      broker: this.options.fleet.mqtt.url,
      connects: this.connects,
      ...(this.drain ? { acked_seq: this.drain.acked, inflight: this.drain.inflightCount } : {}),
      commands_refused: { ...this.refused },
      ...(this.sparkplug ? { sparkplug: this.sparkplug.health() } : {}),
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
    await this.sparkplugLoading;
    await this.sparkplug?.stop();
    this.drain?.stop();
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
      const every = parseDuration(this.options.fleet.health_interval);
      this.healthTimer = setInterval(() => void this.publishHealth().catch((err) => this.options.log.warn({ err: (err as Error).message }, 'fleet: health failed')), every);
      this.healthTimer.unref();
    }
    void this.publishHealth().catch(() => {});
    this.drain?.pump();
  }

  private onClose(): void {
    if (this.state === 'stopped') return;
    this.drain?.reset();
    if (this.state === 'online') {
      this.state = 'offline';
      this.since = Date.now();
      this.options.log.warn({ broker: this.options.fleet.mqtt.url, err: this.lastError }, 'fleet: connection lost; buffering until it is back');
    }
    if (this.reconnectTimer) return;
    // Jittered, so a fleet of gateways does not reconnect in lockstep.
    const delay = backoffDelay(this.attempts, this.initialBackoff, this.maxBackoff);
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
    const problem = responseTopic === undefined ? undefined : responseTopicProblem(responseTopic, this.responsePrefixes);
    if (problem) {
      // Publishing there would make the broker drop this connection: refuse, count, say why.
      this.refuse('response_topic', name, new BackworksError('BW_ERR_FLEET_BAD_COMMAND', name.slice(0, 80), `response topic ${JSON.stringify(responseTopic!.slice(0, 120))} ${problem}`));
      return;
    }
    // MQTT carries no sender identity to the gateway: the response topic stands for the sender.
    if (!this.rateLimit.take(responseTopic ?? '')) {
      const answer = this.refuse('rate_limited', name, new BackworksError('BW_ERR_FLEET_RATE_LIMITED', name.slice(0, 80)));
      if (responseTopic) this.answer(responseTopic, correlationData, answer);
      return;
    }
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
      this.answer(responseTopic, correlationData, answer);
    });
  }

  private answer(responseTopic: string, correlationData: Buffer | undefined, answer: CommandAnswer): void {
    this.client.publish(responseTopic, JSON.stringify(answer), {
      qos: 1,
      properties: { correlationData, contentType: 'application/json' },
    });
  }

  /** A command refused before it ran: counted, logged and audited. */
  private refuse(reason: 'response_topic' | 'rate_limited', name: string, err: BackworksError): CommandAnswer {
    this.refused[reason]++;
    this.options.metrics?.refused.labels(reason).inc();
    const answer: CommandAnswer = { ok: false, command: name, error: { code: err.code, message: err.message } };
    this.options.log.warn({ command: name.slice(0, 80), reason, err: answer.error.message }, 'fleet: command refused');
    this.audit(name, answer);
    return answer;
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

const STATE_CHANGING = new Set(['reload', 'plugin-restart', 'sparkplug/DCMD', 'sparkplug/Reboot']);

function brokerHost(url: string): string | null {
  try { return new URL(url).host; } catch { return null; }
}

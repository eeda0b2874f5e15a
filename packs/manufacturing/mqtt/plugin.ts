import mqtt, { type MqttClient } from 'mqtt';
import { Value } from '@sinclair/typebox/value';
import type { BackworksPlugin, HostContext, PluginHealth, Reading } from '../../../sdk/typescript/index.js';
import { PluginError } from '../../../sdk/typescript/index.js';
import { parseDuration } from '../../../sdk/typescript/units.js';
import { MqttConfigSchema, type MqttConfig, type MqttDeviceConfig, type MqttPointConfig } from './config.js';
import { parsePath, select, type Segment } from './json-path.js';
import { fill, matches } from './topics.js';

/**
 * manufacturing/mqtt: devices that publish JSON to a broker. Each message on a device's topic is
 * mapped, field by field, to readings; writable points are published to the device's command topic.
 */

interface Device {
  config: MqttDeviceConfig;
  points: Array<{ config: MqttPointConfig; path: Segment[] }>;
  timestamp?: Segment[];
}

export class MqttDevicesPlugin implements BackworksPlugin {
  readonly name = 'mqtt-devices';
  readonly version = '1.0.0';
  readonly description = 'Devices that publish JSON over MQTT, mapped to points by path expressions';
  readonly configSchema = MqttConfigSchema as unknown as Record<string, unknown>;

  private client: MqttClient | undefined;
  private host!: HostContext;
  private config!: MqttConfig;
  private devices: Device[] = [];
  /** Device name (after {N} substitution) -> the topic it last published on, for writes. */
  private seen = new Map<string, { device: Device; topic: string }>();
  private stats = { messages: 0, invalid: 0, readings: 0, lastError: undefined as string | undefined };

  initialize(config: unknown, host: HostContext): void {
    if (!Value.Check(MqttConfigSchema, config)) {
      const first = [...Value.Errors(MqttConfigSchema, config)][0];
      throw new PluginError(`invalid mqtt config at ${first?.path || '/'}: ${first?.message ?? 'does not match the schema'}`, 400);
    }
    // The schema's defaults fill what the file left out (the schema is the one place they are written).
    this.config = Value.Default(MqttConfigSchema, structuredClone(config)) as MqttConfig;
    this.host = host;
    this.devices = this.config.devices.map((d) => ({
      config: d,
      points: d.points.map((p) => ({ config: p, path: parsePath(p.path) })),
      timestamp: d.timestamp ? parsePath(d.timestamp) : undefined,
    }));
    const b = this.config.broker;
    const client = mqtt.connect(b.url, {
      clientId: b.client_id ?? `backworks-${host.pluginName}-${process.pid}`,
      username: b.username,
      password: b.password,
      keepalive: Math.max(1, Math.round(parseDuration(b.keepalive!) / 1000)),
      reconnectPeriod: parseDuration(b.reconnect!),
      connectTimeout: 10_000,
      clean: true,
      resubscribe: false, // we subscribe on every connect ourselves
    });
    this.client = client;
    client.on('connect', () => {
      const qos = this.config.qos!;
      client.subscribe(this.devices.map((d) => d.config.topic), { qos }, (err) => {
        if (err) { this.stats.lastError = `subscribe failed: ${err.message}`; host.log('error', this.stats.lastError); }
      });
      host.log('info', `connected to ${b.url}`, { topics: this.devices.map((d) => d.config.topic) });
    });
    client.on('error', (err) => { this.stats.lastError = err.message; });
    client.on('offline', () => host.log('warn', `broker ${b.url} unreachable; retrying every ${b.reconnect}`));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  private onMessage(topic: string, payload: Buffer): void {
    this.stats.messages++;
    const text = payload.toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      this.stats.invalid++;
      this.stats.lastError = `${topic}: payload is not JSON: ${text.slice(0, 60)}`;
      return;
    }
    const out: Reading[] = [];
    for (const device of this.devices) {
      if (!matches(device.config.topic, topic)) continue;
      const name = fill(device.config.name, topic);
      this.seen.set(name, { device, topic });
      const ts = device.timestamp ? toTime(select(body, device.timestamp)) : Date.now();
      for (const { config: p, path } of device.points) {
        const raw = select(body, path);
        if (raw === undefined) continue; // this message does not carry the point
        const value = convert(raw, p);
        out.push(value === undefined
          ? { device: name, point: p.name, value: null, quality: 'bad', ts }
          : { device: name, point: p.name, value, quality: 'good', ts });
      }
    }
    if (out.length) { this.stats.readings += out.length; this.host.emit(out); }
  }

  async write(device: string, point: string, value: unknown): Promise<void> {
    const entry = this.seen.get(device);
    if (!entry) throw new PluginError(`no MQTT device "${device}" has published yet`, 404);
    const p = entry.device.config.points.find((x) => x.name === point);
    if (!p) throw new PluginError(`device "${device}" has no point "${point}"`, 404);
    if (!p.writable) throw new PluginError(`point "${point}" of device "${device}" is not writable`, 400);
    if (!entry.device.config.command_topic) throw new PluginError(`device "${device}" has no command_topic to publish writes to`, 400);
    const type = p.type!;
    if (type !== 'any' && typeof value !== type) throw new PluginError(`point "${point}" expects a ${type}, got ${JSON.stringify(value)}`, 400);
    let raw = value;
    if (typeof value === 'number' && (p.scale !== undefined || p.offset !== undefined)) raw = (value - (p.offset ?? 0)) / (p.scale ?? 1);
    const client = this.client;
    if (!client?.connected) throw new PluginError('the MQTT broker is not connected', 503);
    const topic = fill(entry.device.config.command_topic, entry.topic);
    await client.publishAsync(topic, JSON.stringify({ point, value: raw }), { qos: this.config.qos! });
  }

  healthCheck(): PluginHealth {
    const connected = this.client?.connected ?? false;
    const details = { broker: this.config.broker.url, connected, devices: [...this.seen.keys()], ...this.stats };
    if (!connected) return { status: 'unhealthy', message: `not connected to ${this.config.broker.url}`, details };
    if (this.stats.invalid) return { status: 'degraded', message: `${this.stats.invalid} message(s) were not JSON`, details };
    return { status: 'healthy', message: `${this.seen.size} device(s) publishing`, details };
  }

  async shutdown(): Promise<void> {
    await this.client?.endAsync(true);
    this.client = undefined;
  }
}

function convert(raw: unknown, p: MqttPointConfig): number | string | boolean | undefined {
  const type = p.type!;
  if (type !== 'any' && typeof raw !== type) return undefined;
  if (typeof raw === 'number') return p.scale !== undefined || p.offset !== undefined ? raw * (p.scale ?? 1) + (p.offset ?? 0) : raw;
  if (typeof raw === 'string' || typeof raw === 'boolean') return raw;
  return undefined; // objects, arrays and null are not point values
}

function toTime(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? v * 1000 : v; // seconds or milliseconds
  if (typeof v === 'string') { const t = Date.parse(v); if (!Number.isNaN(t)) return t; }
  return Date.now();
}

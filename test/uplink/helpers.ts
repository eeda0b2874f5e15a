import mqtt, { type MqttClient } from 'mqtt';
import { createLogger } from '../../service/src/log.js';
import type { DataBuffer } from '../../service/src/buffer/buffer.js';
import type { FleetConfig } from '../../service/src/config/sections/fleet.js';
import { FleetLink } from '../../service/src/uplink/fleet-link.js';
import type { GatewayControl } from '../../service/src/uplink/control.js';
import { Writable } from 'node:stream';

/**
 * The head of a backworks.yaml for a service (`backworks run`) on the fleet at `brokerUrl`: its
 * identity, a fast flush and short health and reconnect intervals; the caller adds the rest of
 * `fleet:` (indented two spaces) and `plugins:`.
 */
export function fleetServiceYaml(brokerUrl: string, id: string, reconnectInitial: string): string {
  return `
state_dir: ./state
logging: {level: info}
gateway: {site: plant, id: ${id}}
storage: {flush_interval: 20ms}
fleet:
  mqtt: {url: "${brokerUrl}", keepalive: 5s}
  health_interval: 1s
  reconnect: {initial: ${reconnectInitial}, max: 1s}`;
}

export const quietLog = createLogger('error', new Writable({ write(_c, _e, cb) { cb(); } }));

export const control: GatewayControl = {
  health: () => ({ status: 'healthy', plugins: {} }),
  reload: async () => ({ reloaded: true }),
  restartPlugin: async (name) => {
    if (name !== 'sim') throw new Error(`no plugin named "${name}"`);
    return { restarted: name };
  },
  write: async (device) => { throw new Error(`device "${device}" is not writable here`); },
  redactedConfig: () => ({ fleet: { mqtt: { password: '[redacted]' } } }),
};

export function startLink(buffer: DataBuffer, url: string, fleet: Partial<FleetConfig> = {}, id = 'gw1'): FleetLink {
  return new FleetLink({
    gateway: { site: 'plant', id },
    fleet: { mqtt: { url }, health_interval: '1h', reconnect: { initial: '100ms', max: '1s' }, ...fleet },
    buffer,
    control,
    log: quietLog,
    version: '0.1.0-test',
    configDir: process.cwd(),
  });
}

export interface Received {
  device: string;
  point: string;
  value: unknown;
  quality: string;
  ts: number;
  seq: number;
}

/**
 * A fleet-side subscriber with a persistent session (clean: false, long session expiry): messages
 * published while it reconnects wait for it on the broker, as they would for a real fleet backend.
 */
export async function subscriber(url: string, topic: string, clientId = `sub-${process.pid}-${Math.random().toString(16).slice(2)}`) {
  const client = mqtt.connect(url, {
    protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 100,
  });
  const readings: Received[] = [];
  const messages: Array<{ topic: string; payload: string }> = [];
  client.on('message', (t, payload) => {
    const text = payload.toString();
    messages.push({ topic: t, payload: text });
    if (t.includes('/data/')) for (const r of JSON.parse(text) as Received[]) readings.push(r);
  });
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject); });
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, readings, messages, close: () => client.endAsync(true) };
}

/** Every seq from `first` to `last` exactly, in order per device, allowing repeats only of seqs already seen. */
export function checkDelivery(received: Received[], expected: number[]): { missing: number[]; outOfOrder: number; duplicates: number } {
  const seen = new Set<number>();
  const lastPerDevice = new Map<string, number>();
  let outOfOrder = 0;
  let duplicates = 0;
  for (const r of received) {
    if (seen.has(r.seq)) { duplicates++; continue; }
    const last = lastPerDevice.get(r.device) ?? -Infinity;
    if (r.seq < last) outOfOrder++;
    lastPerDevice.set(r.device, r.seq);
    seen.add(r.seq);
  }
  return { missing: expected.filter((s) => !seen.has(s)), outOfOrder, duplicates };
}

export function client(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 5, clientId: `c-${Math.random().toString(16).slice(2)}` });
}

import fs from 'node:fs';
import path from 'node:path';
import type { IClientOptions } from 'mqtt';
import type { FleetSettings } from '../config/sections/fleet.js';
import { parseDuration } from '../../../sdk/typescript/units.js';

/**
 * MQTT 5 connect options from `fleet.mqtt`. Reconnecting is left to the fleet link (it backs off),
 * so mqtt.js never retries on its own; TLS files are read relative to the config file's folder.
 */
export function connectOptions(fleet: FleetSettings, clientId: string, configDir: string): IClientOptions {
  const m = fleet.mqtt;
  const read = (key: 'ca' | 'cert' | 'key') => {
    const file = m[key];
    if (!file) return undefined;
    const full = path.resolve(configDir, file);
    try {
      return fs.readFileSync(full);
    } catch (err) {
      throw new Error(`fleet.mqtt.${key}: cannot read ${full}: ${(err as Error).message}`);
    }
  };
  return {
    protocolVersion: 5,
    clientId: m.client_id ?? clientId,
    username: m.username,
    password: m.password,
    ca: read('ca'),
    cert: read('cert'),
    key: read('key'),
    keepalive: Math.max(1, Math.round(parseDuration(m.keepalive) / 1000)),
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    resubscribe: false,
  };
}

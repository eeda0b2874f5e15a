import type { Registry } from 'prom-client';
import type { DataBuffer } from '../buffer/buffer.js';
import type { FleetConfig } from '../config/sections/fleet.js';
import type { GatewayIdentity } from '../config/sections/gateway.js';
import type { Logger } from '../log.js';
import type { GatewayControl } from './control.js';
import type { FleetLink } from './fleet-link.js';

/**
 * Starts the fleet link when `fleet:` is configured (`gateway:` is then required by the config check).
 * The MQTT client is loaded only then: a gateway without a fleet does not carry it in memory.
 */
export async function startFleetLink(config: { gateway?: GatewayIdentity; fleet?: FleetConfig }, deps: {
  buffer: DataBuffer;
  control: GatewayControl;
  registry: Registry;
  log: Logger;
  version: string;
  configDir: string;
}): Promise<FleetLink | undefined> {
  if (!config.fleet) return undefined;
  if (!config.gateway) throw new Error('"fleet" needs "gateway: {id, site}" to name its topics');
  const [{ FleetLink }, { FleetMetrics }] = await Promise.all([import('./fleet-link.js'), import('./metrics.js')]);
  return new FleetLink({
    gateway: config.gateway,
    fleet: config.fleet,
    buffer: deps.buffer,
    control: deps.control,
    log: deps.log,
    version: deps.version,
    configDir: deps.configDir,
    metrics: new FleetMetrics(deps.registry),
  });
}

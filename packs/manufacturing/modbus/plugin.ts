import { Value as TypeBoxValue } from '@sinclair/typebox/value';
import type { BackworksPlugin, HostContext, PluginHealth } from '../../../sdk/typescript/index.js';
import { PluginError } from '../../../sdk/typescript/index.js';
import { ModbusConfigSchema, type ModbusConfig } from './config.js';
import { DevicePoller } from './device-poller.js';
import { Link, type LinkTarget } from './link.js';
import { resolveDevices, type Device } from './resolve.js';

/**
 * The manufacturing/modbus plugin: resolves its devices, gives each TCP device its own link (and
 * each serial bus one shared link), starts a poller per device, and routes writes to the poller
 * that owns the device.
 */
export class ModbusPlugin implements BackworksPlugin {
  readonly name = 'modbus';
  readonly version = '1.0.0';
  readonly description = 'Modbus TCP/RTU connector: coalesced polling, firmware profiles, writes';
  readonly configSchema = ModbusConfigSchema as unknown as Record<string, unknown>;

  private pollers = new Map<string, DevicePoller>();
  private links: Link[] = [];

  initialize(config: unknown, host: HostContext): void {
    if (!TypeBoxValue.Check(ModbusConfigSchema, config)) {
      const first = [...TypeBoxValue.Errors(ModbusConfigSchema, config)][0];
      throw new PluginError(`invalid modbus config at ${first?.path || '/'}: ${first?.message ?? 'does not match the schema'}`, 400);
    }
    const { devices, problems } = resolveDevices(config as ModbusConfig, host.configDir);
    if (problems.length) {
      throw new PluginError(`invalid modbus config: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`, 400);
    }
    const byTarget = new Map<string, Link>();
    for (const device of devices) {
      const key = linkKey(device);
      let link = byTarget.get(key);
      if (!link) {
        link = new Link(target(device), device.timeoutMs);
        byTarget.set(key, link);
        this.links.push(link);
      }
      this.pollers.set(device.name, new DevicePoller(device, link, host));
    }
    for (const poller of this.pollers.values()) poller.start();
    host.log('info', `polling ${devices.length} Modbus device(s), ${devices.reduce((n, d) => n + d.points.length, 0)} points`);
  }

  /** The poller of a device (tests and the benchmark read its plan and snapshot). */
  poller(device: string): DevicePoller | undefined {
    return this.pollers.get(device);
  }

  async write(device: string, point: string, value: unknown): Promise<void> {
    const poller = this.pollers.get(device);
    if (!poller) throw new PluginError(`no Modbus device "${device}"; devices: ${[...this.pollers.keys()].join(', ')}`, 404);
    await poller.write(point, value);
  }

  healthCheck(): PluginHealth {
    const details: Record<string, unknown> = {};
    const down: string[] = [];
    const refusing: string[] = [];
    for (const [name, poller] of this.pollers) {
      const status = poller.status();
      details[name] = status;
      if (status.state === 'unreachable') down.push(name);
      if (status.refused) refusing.push(`${name} (${Object.entries(status.refused).map(([r, why]) => `${r}: ${why}`).join('; ')})`);
    }
    const total = this.pollers.size;
    if (down.length === total) return { status: 'unhealthy', message: `${total} of ${total} device(s) unreachable`, details };
    const problems = [
      ...(down.length ? [`${down.length} of ${total} device(s) unreachable (${down.join(', ')})`] : []),
      ...(refusing.length ? [`refused reads: ${refusing.join(', ')}`] : []),
    ];
    if (problems.length) return { status: 'degraded', message: problems.join('; '), details };
    return { status: 'healthy', message: `${total} device(s) polling`, details };
  }

  async shutdown(): Promise<void> {
    for (const poller of this.pollers.values()) poller.stop();
    await Promise.all(this.links.map((l) => l.close()));
    this.pollers.clear();
    this.links = [];
  }
}

/** TCP: one link per device, so a failing device never delays another. RTU: one per serial bus. */
function linkKey(device: Device): string {
  return device.transport === 'rtu' ? `rtu:${device.serial!.path}` : `tcp:${device.name}`;
}

function target(device: Device): LinkTarget {
  return device.transport === 'rtu' ? { kind: 'rtu', serial: device.serial! } : { kind: 'tcp', host: device.host, port: device.port };
}

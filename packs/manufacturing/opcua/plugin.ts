import { Value } from '@sinclair/typebox/value';
import type { BackworksPlugin, HostContext, PluginHealth } from '../../../sdk/typescript/index.js';
import { PluginError } from '../../../sdk/typescript/index.js';
import { OpcuaConfigSchema, type OpcuaConfig } from './config.js';
import { pkiDirOf, ServerConnection } from './connection.js';
import type { OpcuaLib } from './session.js';

/**
 * manufacturing/opcua: one connection per configured server. node-opcua is imported here, at
 * initialize, and only then: a gateway without OPC UA devices never loads it.
 */
export class OpcuaPlugin implements BackworksPlugin {
  readonly name = 'opcua';
  readonly version = '1.0.0';
  readonly description = 'OPC UA client: monitored items and polled reads, security None/Sign/SignAndEncrypt, writes';
  readonly configSchema = OpcuaConfigSchema as unknown as Record<string, unknown>;

  private connections = new Map<string, ServerConnection>();

  async initialize(config: unknown, host: HostContext): Promise<void> {
    if (!Value.Check(OpcuaConfigSchema, config)) {
      const first = [...Value.Errors(OpcuaConfigSchema, config)][0];
      throw new PluginError(`invalid opcua config at ${first?.path || '/'}: ${first?.message ?? 'does not match the schema'}`, 400);
    }
    const lib = (await import('node-opcua')) as OpcuaLib;
    for (const server of (config as OpcuaConfig).servers) {
      if (this.connections.has(server.name)) throw new PluginError(`two OPC UA servers are named "${server.name}"`, 400);
      const connection = new ServerConnection(lib, server, host, pkiDirOf(host.stateDir));
      this.connections.set(server.name, connection);
      connection.start(); // connects in the background and keeps retrying: a down server must not block startup
    }
  }

  async write(device: string, point: string, value: unknown): Promise<void> {
    const connection = this.connections.get(device);
    if (!connection) throw new PluginError(`no OPC UA server "${device}"; servers: ${[...this.connections.keys()].join(', ')}`, 404);
    await connection.write(point, value);
  }

  healthCheck(): PluginHealth {
    const details: Record<string, unknown> = {};
    const down: string[] = [];
    const badPoints: string[] = [];
    const stalePoints: string[] = [];
    for (const [name, c] of this.connections) {
      const s = c.status();
      details[name] = s.details;
      if (!s.connected) { down.push(name); continue; }
      for (const [point, status] of Object.entries((s.details.bad ?? {}) as Record<string, string>)) badPoints.push(`${name}/${point} ${status}`);
      // connected again, but a point has no fresh value yet: the data says stale, so does health
      for (const point of s.stale) stalePoints.push(`${name}/${point}`);
    }
    const total = this.connections.size;
    if (down.length === total) return { status: 'unhealthy', message: `${total} of ${total} server(s) not connected`, details };
    const problems = [
      ...(down.length ? [`${down.length} of ${total} server(s) not connected (${down.join(', ')})`] : []),
      ...(badPoints.length ? [`${badPoints.length} point(s) bad: ${badPoints.join(', ')}`] : []),
      ...(stalePoints.length ? [`${stalePoints.length} point(s) stale: ${stalePoints.join(', ')}`] : []),
    ];
    if (problems.length) return { status: 'degraded', message: problems.join('; '), details };
    return { status: 'healthy', message: `${total} server(s) connected`, details };
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.close()));
    this.connections.clear();
  }
}

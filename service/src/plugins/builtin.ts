import type { BackworksPlugin, HostContext, PluginRequest, PluginResponse } from '../../../sdk/typescript/index.js';
import { PluginError } from '../../../sdk/typescript/index.js';
import type { Capability, PluginDriver, PluginMetadata } from './driver.js';
import { importPack, importPluginModule } from './packs.js';

/** A TypeScript plugin, from packs/ (`pack`) or from a module built against the SDK (`module`), running in the service process. */
export async function openTypeScriptPlugin(source: { pack: string } | { module: string }): Promise<PluginDriver> {
  const mod = 'pack' in source ? await importPack(source.pack) : await importPluginModule(source.module);
  return new BuiltinDriver(mod.default());
}

export class BuiltinDriver implements PluginDriver {
  readonly metadata: PluginMetadata;

  constructor(private readonly plugin: BackworksPlugin) {
    const capabilities: Capability[] = [];
    if (plugin.processEndpointData) capabilities.push('endpoint');
    if (plugin.beforeRequest) capabilities.push('before_request');
    if (plugin.afterResponse) capabilities.push('after_response');
    if (plugin.write) capabilities.push('write');
    if (plugin.onConfigReload) capabilities.push('config_reload');
    this.metadata = {
      name: plugin.name,
      version: plugin.version,
      description: plugin.description ?? '',
      capabilities,
      configSchema: plugin.configSchema,
    };
  }

  async initialize(config: unknown, host: HostContext): Promise<void> {
    await this.plugin.initialize(config, host);
  }

  processEndpointData(endpoint: string, method: string, data: Buffer, request: PluginRequest) {
    return this.plugin.processEndpointData ? this.plugin.processEndpointData(endpoint, method, data, request) : null;
  }

  async beforeRequest(request: PluginRequest): Promise<void> {
    await this.plugin.beforeRequest?.(request);
  }

  async afterResponse(request: PluginRequest, response: PluginResponse): Promise<void> {
    await this.plugin.afterResponse?.(request, response);
  }

  async healthCheck() {
    return this.plugin.healthCheck ? this.plugin.healthCheck() : { status: 'healthy' as const };
  }

  async onConfigReload(config: unknown): Promise<void> {
    if (!this.plugin.onConfigReload) throw new PluginError(`${this.plugin.name} cannot reload its config in place`, 501);
    await this.plugin.onConfigReload(config);
  }

  async write(device: string, point: string, value: unknown): Promise<void> {
    if (!this.plugin.write) throw new PluginError(`${this.plugin.name} does not accept writes`, 405);
    await this.plugin.write(device, point, value);
  }

  async shutdown(): Promise<void> {
    await this.plugin.shutdown?.();
  }
}

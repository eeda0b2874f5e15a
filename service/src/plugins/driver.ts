import type {
  EndpointAnswer, HostContext, PluginHealth, PluginRequest, PluginResponse,
} from '../../../sdk/typescript/index.js';

/** What a plugin can do; derived from the methods it implements (TS) or its descriptor (native). */
export type Capability = 'endpoint' | 'before_request' | 'after_response' | 'connector' | 'write' | 'config_reload';

/** Readable before the plugin is initialized (`backworks plugin inspect`, `check`, /api/plugins). */
export interface PluginMetadata {
  name: string;
  version: string;
  description: string;
  capabilities: Capability[];
  /** ABI version of a native plugin, e.g. "1.0"; absent for TypeScript plugins. */
  abi?: string;
  configSchema?: Record<string, unknown>;
}

/** Whether a driver can take calls right now; an isolated native plugin may be restarting. */
export interface DriverAvailability {
  available: boolean;
  /** e.g. "running", "restarting", "crashed", "quarantined". */
  state: string;
  restarts: number;
  message?: string;
  /** When a quarantined plugin's probe starts (ms since the epoch). */
  nextProbeAt?: number;
  /** Why the plugin last stopped (crash, missed deadline, failed probe). */
  lastReason?: string;
}

/**
 * One plugin implementation behind the manager. The manager owns deadlines, the circuit breaker,
 * metrics and hook ordering; a driver only performs calls. Every kind of plugin (TypeScript,
 * native in-process, native in its own host process) implements this one interface.
 */
export interface PluginDriver {
  readonly metadata: PluginMetadata;
  initialize(config: unknown, host: HostContext): Promise<void>;
  /** May answer synchronously: a value that is already there cannot miss its deadline. */
  processEndpointData(endpoint: string, method: string, data: Buffer, request: PluginRequest): EndpointAnswer | Promise<EndpointAnswer>;
  /** May change request.headers and request.body. */
  beforeRequest(request: PluginRequest): Promise<void>;
  /** May change response.headers and response.body. */
  afterResponse(request: PluginRequest, response: PluginResponse): Promise<void>;
  healthCheck(): Promise<PluginHealth>;
  onConfigReload(config: unknown): Promise<void>;
  write(device: string, point: string, value: unknown): Promise<void>;
  shutdown(): Promise<void>;
  /** Optional: a call missed its deadline. A native call cannot be cancelled; an isolated host is killed. */
  abandon?(call: string): void;
  /** Optional: process-level state of an isolated plugin. Absent means always available. */
  availability?(): DriverAvailability;
}

const NO_BODY = Buffer.alloc(0);

/** A request body as the bytes a driver is given (a hook may have set a string). */
export function bodyBytes(body: Buffer | string): Buffer {
  return typeof body !== 'string' ? body : body === '' ? NO_BODY : Buffer.from(body);
}

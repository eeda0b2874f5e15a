/**
 * The Backworks plugin contract for TypeScript plugins.
 *
 * One contract, two ways to implement it: a TypeScript module that runs in the
 * service, or a native library built against `sdk/c/backworks_plugin.h`. The plugin manager wraps
 * both behind the same deadlines, circuit breaker and metrics, so a plugin author only writes the
 * behaviour below.
 *
 * A TypeScript plugin module's default export is a factory returning a `BackworksPlugin`:
 *
 *   export default function create(): BackworksPlugin { return new MyPlugin(); }
 */

/** Quality of one reading, as OPC-UA and most SCADA systems use it. */
export type Quality = 'good' | 'bad' | 'stale' | 'uncertain';

/** A reading a connector emits: one value of one point of one device at one time. */
export interface Reading {
  device: string;
  point: string;
  value: number | string | boolean | null;
  /** Defaults to 'good'. */
  quality?: Quality;
  /** Milliseconds since the epoch; defaults to the time the host received it. */
  ts?: number;
}

/** A whole document a connector received (an HL7 message, an EDI interchange, a FIX message). */
export interface InboundDocument {
  /** e.g. "hl7v2", "x12", "fix". */
  type: string;
  body: string;
  /** Free-form metadata stored beside the body (sender, control numbers, ...). */
  meta?: Record<string, unknown>;
  /** Status the document is stored with (default "received", which outboxes pick up): a plugin
   *  that keeps a document it will not process (refused, not mapped) says so in the same commit. */
  status?: string;
}

/** Documents and plugin state committed together: one transaction, all or nothing. */
export interface DurableBatch {
  documents?: InboundDocument[];
  /** Plugin state writes as [key, value] pairs. */
  state?: Array<[string, string]>;
}

/** Which stored documents `queryDocuments` returns: the plugin's own, in id order. */
export interface DocumentQuery {
  type?: string;
  status?: string;
  /** Only documents with a larger id (paging, outbox cursors). */
  after_id?: number;
  /** Only documents received at or after this time (ms since the epoch). */
  since_ms?: number;
  /** Default 100, at most 1000. */
  limit?: number;
  /** Include the body (default false). */
  with_body?: boolean;
}

/** A document as the buffer holds it; new documents have the status "received". */
export interface StoredDocument {
  id: number;
  type: string;
  status: string;
  meta: Record<string, unknown> | null;
  received_at: number;
  body?: string;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** What the host gives a plugin at initialize time. Every function may be called at any time. */
export interface HostContext {
  /** The plugin's name as configured in backworks.yaml. */
  readonly pluginName: string;
  /** A writable directory that belongs to this plugin (certificates, caches). */
  readonly stateDir: string;
  /** The folder of backworks.yaml: relative paths in the plugin's config are relative to it. */
  readonly configDir: string;
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /**
   * Hands readings to the buffer's next group commit (a poller's readings). The promise resolves
   * once they are committed; a poller may ignore it. When the disk refuses, the readings wait in
   * memory and are retried (the promise rejects, but they may still be stored later): do not tell
   * a sender "refused" from it, use emitAcknowledged.
   */
  emit(readings: Reading[]): Promise<void>;
  /**
   * Readings a sender waits for (an HTTP 2xx, a protocol ACK): resolves once they are committed;
   * rejects (BW_ERR_BUFFER_REFUSED, status 503: a full or read-only disk) and then nothing of them
   * is stored, ever, so the sender may retry without storing them twice. A refusal is the host's
   * answer, not a failure of the plugin: rethrown from processEndpointData it answers 503 and does
   * not count against the plugin's circuit breaker.
   */
  emitAcknowledged(readings: Reading[]): Promise<void>;
  /** Persistent plugin state (sequence numbers, control numbers); survives restarts. */
  getState(key: string): Promise<string | undefined>;
  /**
   * The one durable write: documents and state writes committed in one transaction, resolving
   * with the documents' ids, in order, once committed (the C ABI's bw_host_commit). A session
   * engine stores what it received, its sequence numbers and what it is about to send, then
   * answers its peer; one document alone is `commit({ documents: [doc] })`, one state write
   * `commit({ state: [[key, value]] })`. Rejects, storing nothing, when any part is invalid or the
   * buffer refuses it (then answer with a negative ACK). The batch may also be given as JSON text
   * (`{"documents"?: [...], "state"?: [[key, value], ...]}`): the buffer stores it without parsing
   * it into objects first.
   */
  commit(batch: DurableBatch | string): Promise<number[]>;
  /** Reads back this plugin's stored documents (an outbox the plugin drains itself, keys to rebuild after a restart). */
  queryDocuments(query: DocumentQuery): Promise<StoredDocument[]>;
  /** Sets the status of one of this plugin's documents; resolves false when it has none with that id. */
  setDocumentStatus(id: number, status: string): Promise<boolean>;
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface PluginHealth {
  status: HealthStatus;
  message?: string;
  /** Small structured details shown in /health (device counts, session states, ...). */
  details?: Record<string, unknown>;
}

/** The request an endpoint handler or hook sees. Hooks may change `headers` and `body`. */
export interface PluginRequest {
  /** Name of the endpoint in backworks.yaml. */
  endpoint: string;
  method: string;
  /** The request path without the query string, e.g. "/devices/42". */
  path: string;
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  /**
   * The body's bytes exactly as sent (empty when there is none): binary payloads, NUL bytes and
   * bytes that are not UTF-8 are kept. `body.toString()` reads it as UTF-8 text. A hook may replace
   * it with other bytes or a string.
   */
  body: Buffer | string;
}

/** The response after_response hooks see; they may change `headers` and `body`. */
export interface PluginResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** An answer that chooses its status and content type, and may be bytes (ABI 1.2's reply). */
export interface EndpointReply {
  /** 200 to 599; default 200. An error status is better thrown as a PluginError (see there). */
  status?: number;
  /** e.g. "application/octet-stream"; default: application/json for JSON-looking text, else text/plain. */
  contentType?: string;
  body: string | Buffer;
}

/**
 * What process_endpoint_data answers: a string body (JSON is sent as application/json), an
 * EndpointReply, or null/undefined for "not mine" so the next plugin in the chain is asked (Rust's
 * `None`, C's BW_NONE).
 */
export type EndpointAnswer = string | EndpointReply | null | undefined;

/**
 * An error a plugin throws to answer with an HTTP status. The contract (sdk/c/backworks_plugin.h,
 * STATUS CODES): a status from 400 to 599 other than 500 is the plugin's answer, passed to the
 * client as it is and not counted against the plugin's circuit breaker; 500 (the default) and any
 * other error thrown mean the plugin failed: 500 BW_ERR_PLUGIN_FAILED, counted by the breaker.
 */
export class PluginError extends Error {
  constructor(message: string, readonly statusCode = 500) {
    super(message);
    this.name = 'PluginError';
  }

  /** 400: the caller sent something the plugin cannot accept. */
  static badRequest(message: string): PluginError { return new PluginError(message, 400); }
  /** 404: the thing asked for does not exist. */
  static notFound(message: string): PluginError { return new PluginError(message, 404); }
  /** 501: the plugin does not implement this. */
  static unsupported(message: string): PluginError { return new PluginError(message, 501); }
  /** 503: a device or upstream the plugin needs is down (the plugin itself is fine). */
  static unavailable(message: string): PluginError { return new PluginError(message, 503); }
  /** 504: a device or upstream the plugin waited for did not answer in time. */
  static timeout(message: string): PluginError { return new PluginError(message, 504); }
  /** 500: the plugin itself failed (counted by the circuit breaker). */
  static internal(message: string): PluginError { return new PluginError(message, 500); }
}

/**
 * The HTTP status a plugin chose with an error it threw or returned (see PluginError), or
 * undefined when the error means the plugin failed.
 */
export function answeredStatus(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status <= 599 && status !== 500 ? status : undefined;
}

export interface BackworksPlugin {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  /** JSON Schema of the plugin's `config:`; `backworks check` validates against it with line:column. */
  readonly configSchema?: Record<string, unknown>;

  initialize(config: unknown, host: HostContext): void | Promise<void>;
  /**
   * Answers an endpoint call. `endpoint` is the request path; `data` the body's bytes as sent
   * (`data.toString()` for UTF-8 text, `JSON.parse(data.toString())` for JSON).
   */
  processEndpointData?(endpoint: string, method: string, data: Buffer, request: PluginRequest): EndpointAnswer | Promise<EndpointAnswer>;
  /** Runs before every configured endpoint, in declared plugin order. Throw to reject. */
  beforeRequest?(request: PluginRequest): void | Promise<void>;
  /** Runs after every configured endpoint, in reverse declared order. */
  afterResponse?(request: PluginRequest, response: PluginResponse): void | Promise<void>;
  healthCheck?(): PluginHealth | Promise<PluginHealth>;
  onConfigReload?(config: unknown): void | Promise<void>;
  /** Writes a writable point of a device this connector owns. */
  write?(device: string, point: string, value: unknown): void | Promise<void>;
  /** Stops every timer, socket and worker the plugin started. */
  shutdown?(): void | Promise<void>;
}

/** The default export of a TypeScript plugin module. */
export type PluginFactory = () => BackworksPlugin;

/** A mistake a plugin finds in its own `config:`; `path` is relative to that `config:` map. */
export interface ConfigProblem {
  path: Array<string | number>;
  message: string;
}

/**
 * A TypeScript plugin module: the factory as default export and, optionally, a semantic check that
 * `backworks check` runs after the JSON Schema (files that must exist, profiles that must resolve).
 */
export interface PluginModule {
  default: PluginFactory;
  checkConfig?(config: unknown, context: { configDir: string }): ConfigProblem[] | Promise<ConfigProblem[]>;
}

export * from './units.js';
export * from './names.js';
export * from './address.js';
export * from './backoff.js';

/**
 * A command a pack adds to the `backworks` CLI: `backworks GROUP NAME ARGUMENTS [OPTIONS]` (e.g.
 * `backworks opcua browse URL`). A pack declares its commands in a `cli` module beside its index
 * (`cli.ts`, exporting `commands`), which the CLI finds by itself; keep that module light and
 * import heavy libraries inside `run`, since every `backworks` start reads it.
 */
export interface PackCommand {
  group: string;
  /** One line for `backworks --help`; the first command of a group gives it. */
  groupDescription: string;
  name: string;
  description: string;
  /** Required positional arguments, in order. */
  arguments?: Array<{ name: string; description: string }>;
  /** Options as the CLI writes them: flags such as "--depth <n>" or "--json". */
  options?: Array<{ flags: string; description: string; default?: string }>;
  /**
   * Does the work and writes its own output to stdout. Resolve with 0 for success or 1 when the
   * work failed (after writing why to stderr); a throw is reported as an error too.
   */
  run(args: string[], options: Record<string, string | boolean | undefined>): Promise<number>;
}

/** A pack's `cli` module. */
export interface PackCliModule {
  commands: PackCommand[];
}

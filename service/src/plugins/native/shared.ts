import { PluginError, type EndpointReply } from '../../../../sdk/typescript/index.js';
import { Status } from './protocol.js';

/** What the manager passes to openNativePlugin (sizes in bytes, durations in ms). */
export interface NativePluginOptions {
  /** Absolute path of the library. */
  path: string;
  isolation: 'process' | 'none';
  timeoutMs: number;
  /** Deadline of initialize (`init_timeout`, default 30 s), also when a restarted host initializes again. */
  initTimeoutMs?: number;
  limits: { memory?: number; concurrency?: number };
  restart: { backoffMs: number; maxBackoffMs: number; maxCrashes: number; windowMs: number };
  /** The host process runs here (the folder of backworks.yaml), so relative paths in the plugin's config mean what the file says. */
  workingDir?: string;
}

/**
 * A negative bw_type_status as the error the client sees (sdk/c/backworks_plugin.h, STATUS CODES):
 * -400..-599 choose the HTTP status; BW_ERR_UNSUPPORTED (a call the plugin lacks) is 501; anything
 * else is 500, a failure. The plugin's message is kept.
 */
export function answerToError(plugin: string, call: string, status: number, message: string | null): PluginError {
  const http = status <= -400 && status >= -599 ? -status : status === Status.UNSUPPORTED ? 501 : 500;
  return new PluginError(message ?? `${plugin} returned status ${status} from ${call}`, http);
}

/** A hook's request or response as the JSON a native plugin reads: the body as UTF-8 text. */
export function hookJson(value: object): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, json: unknown) {
    const raw = this[key];
    return key === 'body' && Buffer.isBuffer(raw) ? raw.toString('utf8') : json;
  });
}

/** The answer of process_endpoint_data_v2 (either driver). */
export function toReply(plugin: string, httpStatus: number, contentType: string | undefined, body: Buffer): EndpointReply {
  if (httpStatus !== 0 && (httpStatus < 200 || httpStatus > 599)) {
    throw new PluginError(`${plugin} answered HTTP status ${httpStatus} from process_endpoint_data_v2; use 0 (200) or 200..599`, 500);
  }
  return { status: httpStatus || 200, ...(contentType ? { contentType } : {}), body };
}

/** Applies the "headers" and "body" of a hook's answer (JSON) to the request or response. */
export function applyChanges(target: { headers: object; body: string | Buffer }, answer: string | null): void {
  if (!answer) return;
  const changed = JSON.parse(answer) as { headers?: Record<string, string>; body?: unknown };
  if (changed.headers && typeof changed.headers === 'object') target.headers = changed.headers;
  if (changed.body !== undefined) target.body = typeof changed.body === 'string' ? changed.body : JSON.stringify(changed.body);
}

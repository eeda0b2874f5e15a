import koffi from 'koffi';
import type { EndpointAnswer, HostContext, PluginHealth, PluginRequest, PluginResponse, Reading } from '../../../../sdk/typescript/index.js';
import type { PluginDriver } from '../driver.js';
import { BackworksError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { logLevelName } from './host-process.js';
import type { NativeMetadata } from './inspect.js';
import { Status } from './protocol.js';
import { answerToError, applyChanges, hookJson, toReply } from './shared.js';
import { abi, POINTER_BITS, REPLY } from './koffi-abi.js';

type Fn = (...args: unknown[]) => unknown;

/** The replies' body_host_ptr: off the V8 heap, so its address never changes. */
const REPLY_SPACE = Buffer.allocUnsafeSlow(16384);
const REPLY_SPACE_ADDRESS = abi.memcpyAddress(REPLY_SPACE, 0, 0) as bigint | number;
/** `data` is never NULL, even for an empty body. */
const ONE_BYTE = Buffer.alloc(1);
const NO_BYTES = Buffer.alloc(0);

/**
 * A native plugin loaded into the service with koffi (`isolation: none`): the lowest latency, and
 * the plugin shares the service's fate. Calls run synchronously on the event loop. Host calls that
 * must wait for the service (emit_durable, state) answer BW_ERR_UNSUPPORTED, as the header says.
 */
export class InProcessDriver implements PluginDriver {
  private instance: unknown = null;
  private context?: HostContext;
  private readonly fns: Record<string, Fn | undefined> = {};
  /** Registered callbacks and the host API table must outlive the instance: kept until shutdown. */
  private readonly callbacks: unknown[] = [];
  private hostApi: unknown = null;
  /**
   * The plugin's `char *out`, reused by every call (calls are synchronous, and the plugin sets
   * `*out` last, after any host call it makes). Read through `outAddress` for the plugin's free.
   */
  private readonly out = Buffer.alloc(8);
  private readonly outAddress: ArrayLike<bigint | number> = POINTER_BITS === 64
    ? new BigUint64Array(this.out.buffer, this.out.byteOffset, 1) : new Uint32Array(this.out.buffer, this.out.byteOffset, 1);
  /** The bw_type_endpoint_reply of process_endpoint_data_v2, reused by every call (they are synchronous). */
  private readonly reply = newReply();

  constructor(private readonly name: string, readonly metadata: NativeMetadata, private readonly log: Logger) {
    const lib = koffi.load(metadata.path);
    const descriptorPtr = (lib.func('void *bw_plugin_descriptor(void)') as Fn)();
    const descriptor = koffi.decode(descriptorPtr, abi.descriptor) as { calls: unknown };
    const calls = koffi.decode(descriptor.calls, abi.calls) as Record<string, unknown>;
    // process_endpoint_data_v2 (1.2) follows the 1.1 table, read only when struct_size says the
    // plugin has it: not a byte past an older plugin's table.
    const v2At = koffi.sizeof(abi.calls);
    if ((calls.struct_size as number) >= v2At + POINTER_BITS / 8) calls.process_endpoint_data_v2 = koffi.decode(descriptor.calls, v2At, 'void *');
    const bind = (member: string, proto: koffi.IKoffiCType): void => {
      if (calls[member]) this.fns[member] = koffi.decode(calls[member], proto) as Fn;
    };
    bind('create', abi.create); bind('initialize', abi.initialize); bind('process_endpoint_data', abi.process);
    bind('before_request', abi.before); bind('after_response', abi.after); bind('health', abi.health);
    bind('on_config_reload', abi.initialize); bind('write', abi.write); bind('shutdown', abi.instanceFn);
    bind('destroy', abi.instanceFn); bind('free', abi.free); bind('process_endpoint_data_v2', abi.processV2);
  }

  async initialize(config: unknown, host: HostContext): Promise<void> {
    this.context = host;
    const api = koffi.alloc(abi.hostApi, 1);
    const unsupported = (): number => Status.UNSUPPORTED;
    const table = {
      struct_size: koffi.sizeof(abi.hostApi),
      log: this.register((_ctx: unknown, level: number, message: string) => host.log(logLevelName(level), message), abi.hostLog),
      emit: this.register((_ctx: unknown, json: string) => this.emit(json), abi.hostEmit),
      emit_durable: this.register(unsupported, abi.hostEmitDurable),
      state_get: this.register(unsupported, abi.hostStateGet),
      state_set: this.register(unsupported, abi.hostStateSet),
      free: this.register(() => undefined, abi.hostFree),
    };
    koffi.encode(api, abi.hostApi, table);
    this.hostApi = api;
    this.instance = this.fns.create!(api, koffi.sizeof(abi.hostApi), null);
    if (!this.instance) throw new BackworksError('BW_ERR_NATIVE_CREATE', this.metadata.path, 'create() returned NULL');
    const [status, text] = this.invoke('initialize', JSON.stringify(config ?? {}));
    if (status < 0) throw answerToError(this.name, 'initialize', status, text);
  }

  /** Synchronous: the call blocks the event loop either way, and a promise would only add a hop. */
  processEndpointData(endpoint: string, method: string, data: Buffer): EndpointAnswer {
    if (this.fns.process_endpoint_data_v2) return this.processBytes(endpoint, method, data);
    if (!this.fns.process_endpoint_data) return null;
    // The 1.0 call takes a C string: the body up to its first NUL.
    const [status, text] = this.invoke('process_endpoint_data', endpoint, method, data.length === 0 ? '' : data.toString('utf8'));
    if (status === Status.NONE) return null;
    if (status < 0) throw answerToError(this.name, 'process_endpoint_data', status, text);
    return text ?? '';
  }

  /** process_endpoint_data_v2 (1.2): the body as bytes, the answer with its status and content type. */
  private processBytes(endpoint: string, method: string, data: Buffer): EndpointAnswer {
    if (!this.instance) throw new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', this.name, 'not initialized');
    const reply = this.reply;
    reply.fill(0, 4, REPLY.bodyHost);
    const status = this.fns.process_endpoint_data_v2!(this.instance, endpoint, method, data.length ? data : ONE_BYTE, data.length, reply) as number;
    const httpStatus = reply.readInt32LE(4);
    const contentType = this.takeString(REPLY.contentType);
    const body = this.takeBytes(REPLY.body, Number(POINTER_BITS === 64 ? reply.readBigUInt64LE(REPLY.bodyLen) : reply.readUInt32LE(REPLY.bodyLen)));
    if (status === Status.NONE) return null;
    if (status < 0) throw answerToError(this.name, 'process_endpoint_data', status, body.length ? body.toString('utf8') : null);
    return toReply(this.name, httpStatus, contentType, body);
  }

  /** Copies and frees (with the plugin's free) the string whose pointer is at `offset` of the reply. */
  private takeString(offset: number): string | undefined {
    const address = this.addressAt(offset);
    if (!address) return undefined;
    const text = koffi.decode(this.reply, offset, abi.string) as string;
    this.fns.free!(address);
    return text;
  }

  private takeBytes(offset: number, length: number): Buffer {
    const address = this.addressAt(offset);
    if (!address) return length === 0 ? NO_BYTES : length <= REPLY_SPACE.length ? Buffer.from(REPLY_SPACE.subarray(0, length)) : NO_BYTES;
    let bytes = NO_BYTES;
    if (length > 0) {
      bytes = Buffer.allocUnsafe(length);
      abi.memcpy(bytes, address, length);
    }
    this.fns.free!(address);
    return bytes;
  }

  private addressAt(offset: number): bigint | number {
    return POINTER_BITS === 64 ? this.reply.readBigUInt64LE(offset) : this.reply.readUInt32LE(offset);
  }

  async beforeRequest(request: PluginRequest): Promise<void> {
    if (!this.fns.before_request) return;
    const [status, text] = this.invoke('before_request', hookJson(request));
    if (status < 0) throw answerToError(this.name, 'before_request', status, text);
    applyChanges(request, text);
  }

  async afterResponse(request: PluginRequest, response: PluginResponse): Promise<void> {
    if (!this.fns.after_response) return;
    const [status, text] = this.invoke('after_response', hookJson(request), hookJson(response));
    if (status < 0) throw answerToError(this.name, 'after_response', status, text);
    applyChanges(response, text);
  }

  async healthCheck(): Promise<PluginHealth> {
    if (!this.fns.health) return { status: 'healthy' };
    const [status, text] = this.invoke('health');
    if (status < 0) return { status: 'unhealthy', message: text ?? `health returned ${status}` };
    return text ? JSON.parse(text) as PluginHealth : { status: 'healthy' };
  }

  async onConfigReload(config: unknown): Promise<void> {
    if (!this.fns.on_config_reload) throw answerToError(this.name, 'on_config_reload', Status.UNSUPPORTED, 'this plugin cannot reload its config in place');
    const [status, text] = this.invoke('on_config_reload', JSON.stringify(config ?? {}));
    if (status < 0) throw answerToError(this.name, 'on_config_reload', status, text);
  }

  async write(device: string, point: string, value: unknown): Promise<void> {
    if (!this.fns.write) throw answerToError(this.name, 'write', -501, 'this plugin does not accept writes');
    const [status, text] = this.invoke('write', device, point, JSON.stringify(value ?? null));
    if (status < 0) throw answerToError(this.name, 'write', status, text);
  }

  async shutdown(): Promise<void> {
    if (!this.instance) return;
    // On a worker thread, not the event loop: shutdown joins the plugin's threads, and one of them
    // may be inside a host call (emit, log) that only the event loop can answer. Called here
    // synchronously, the two would wait for each other forever.
    const shutdown = this.fns.shutdown as (Fn & { async: (...args: unknown[]) => void }) | undefined;
    if (shutdown) await new Promise<void>((resolve, reject) => shutdown.async(this.instance, (err: unknown) => (err ? reject(err) : resolve())));
    this.fns.destroy?.(this.instance);
    this.instance = null;
    for (const callback of this.callbacks.splice(0)) koffi.unregister(callback as never);
    koffi.free(this.hostApi as never);
    this.hostApi = null;
  }

  /**
   * Calls a bw_on_* function with a trailing `char **out`; copies and frees the plugin's string.
   * Not koffi.decode(pointer, 'char', -1): that makes a `char[N]` type per call, and koffi keeps
   * every such type's name for the life of the process (~19 bytes a call).
   */
  private invoke(member: string, ...args: string[]): [number, string | null] {
    if (!this.instance) throw new BackworksError('BW_ERR_PLUGIN_UNAVAILABLE', this.name, 'not initialized');
    this.out.fill(0);
    const status = this.fns[member]!(this.instance, ...args, this.out) as number;
    const address = this.outAddress[0];
    if (!address) return [status, null];
    const text = koffi.decode(this.out, abi.string) as string;
    this.fns.free!(address);
    return [status, text];
  }

  private register(fn: (...args: never[]) => unknown, proto: koffi.IKoffiCType): unknown {
    const pointer = koffi.register(fn as never, koffi.pointer(proto));
    this.callbacks.push(pointer);
    return pointer;
  }

  private emit(json: string): number {
    try {
      const parsed = JSON.parse(json) as Reading | Reading[];
      this.context?.emit(Array.isArray(parsed) ? parsed : [parsed]);
      return Status.OK;
    } catch (err) {
      this.log.warn({ plugin: this.name, err: (err as Error).message }, 'plugin emitted readings that are not JSON; dropped');
      return Status.ERR;
    }
  }
}

/** A bw_type_endpoint_reply with its size and the host's body space set (the rest is zeroed per call). */
function newReply(): Buffer {
  const reply = Buffer.alloc(koffi.sizeof(abi.endpointReply));
  reply.writeUInt32LE(reply.length, 0);
  if (POINTER_BITS === 64) {
    reply.writeBigUInt64LE(BigInt(REPLY_SPACE_ADDRESS), REPLY.bodyHost);
    reply.writeBigUInt64LE(BigInt(REPLY_SPACE.length), REPLY.bodyHostCapacity);
  } else {
    reply.writeUInt32LE(Number(REPLY_SPACE_ADDRESS), REPLY.bodyHost);
    reply.writeUInt32LE(REPLY_SPACE.length, REPLY.bodyHostCapacity);
  }
  return reply;
}

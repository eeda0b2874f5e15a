import koffi from 'koffi';

export const POINTER_BITS = koffi.sizeof('void *') * 8;

/**
 * koffi declarations of sdk/c/backworks_plugin.h, made once per process (koffi types are global).
 * Member names are the header's; a struct may declare only the header's first members (the
 * in-process host offers the 1.0 host table), and test/sdk/abi-agreement.test.ts checks every
 * size and offset against the header compiled by a C compiler.
 */
export const abi = (() => {
  const hostLog = koffi.proto('void bw_host_log_t(void *ctx, int32_t level, const char *message)');
  const hostEmit = koffi.proto('int32_t bw_host_emit_t(void *ctx, const char *json)');
  const hostEmitDurable = koffi.proto('int32_t bw_host_emit_durable_t(void *ctx, const char *json, void *out_id, void *out_error)');
  const hostStateGet = koffi.proto('int32_t bw_host_state_get_t(void *ctx, const char *key, void *out)');
  const hostStateSet = koffi.proto('int32_t bw_host_state_set_t(void *ctx, const char *key, const char *value)');
  const hostFree = koffi.proto('void bw_host_free_t(void *ptr)');
  return {
    hostLog, hostEmit, hostEmitDurable, hostStateGet, hostStateSet, hostFree,
    hostApi: koffi.struct('bw_type_host_api', {
      struct_size: 'uint32_t',
      log: koffi.pointer(hostLog),
      emit: koffi.pointer(hostEmit),
      emit_durable: koffi.pointer(hostEmitDurable),
      state_get: koffi.pointer(hostStateGet),
      state_set: koffi.pointer(hostStateSet),
      free: koffi.pointer(hostFree),
    }),
    calls: koffi.struct('bw_type_calls', {
      struct_size: 'uint32_t', create: 'void *', initialize: 'void *', process_endpoint_data: 'void *',
      before_request: 'void *', after_response: 'void *', health: 'void *', on_config_reload: 'void *',
      write: 'void *', shutdown: 'void *', destroy: 'void *', free: 'void *',
    }),
    endpointReply: koffi.struct('bw_type_endpoint_reply', {
      struct_size: 'uint32_t', http_status: 'int32_t', content_type_plugin_ptr: 'void *', body_plugin_ptr: 'void *', body_len: 'size_t',
      body_host_ptr: 'void *', body_host_capacity: 'size_t',
    }),
    descriptor: koffi.struct('bw_type_descriptor', {
      struct_size: 'uint32_t', abi_major: 'uint16_t', abi_minor: 'uint16_t',
      name: 'const char *', version: 'const char *', description: 'const char *',
      capabilities: 'uint64_t', config_schema_json: 'const char *', calls: 'void *',
    }),
    // `out` is a `char **`, declared as `void *` so that a reused 8-byte buffer goes in as it is:
    // koffi's _Out_ parameters wrap every result pointer in a weak-handled external.
    create: koffi.proto('void *bw_on_create_t(void *host_api, uint32_t size, void *ctx)'),
    initialize: koffi.proto('int32_t bw_on_initialize_t(void *instance, const char *config, void *out)'),
    process: koffi.proto('int32_t bw_on_process_t(void *instance, const char *endpoint, const char *method, const char *data, void *out)'),
    processV2: koffi.proto('int32_t bw_on_process_v2_t(void *instance, const char *endpoint, const char *method, void *data, size_t len, void *reply)'),
    before: koffi.proto('int32_t bw_on_before_t(void *instance, const char *request, void *out)'),
    after: koffi.proto('int32_t bw_on_after_t(void *instance, const char *request, const char *response, void *out)'),
    health: koffi.proto('int32_t bw_on_health_t(void *instance, void *out)'),
    write: koffi.proto('int32_t bw_on_write_t(void *instance, const char *device, const char *point, const char *value, void *out)'),
    instanceFn: koffi.proto('void bw_on_instance_t(void *instance)'),
    // The string's address goes back as the pointer-sized integer read from the out buffer
    // (passed in the same register as a pointer on every ABI Backworks runs on).
    free: koffi.proto(`void bw_on_free_t(${POINTER_BITS === 64 ? 'uint64_t' : 'uint32_t'} ptr)`),
    /** Decodes the `char *` stored in an out buffer: a UTF-8 string up to its NUL. */
    string: koffi.resolve('const char *'),
    // Copies an answer's bytes from its address (a pointer-sized integer, as for `free`) into a
    // Buffer: no pointer object and no view of plugin memory per call.
    memcpy: koffi.load(null as unknown as string).func(`void *memcpy(void *dst, ${POINTER_BITS === 64 ? 'uint64_t' : 'uint32_t'} src, size_t n)`) as Fn,
    /** memcpy(dst, 0, 0) answers dst: the address of a Buffer, as an integer. */
    memcpyAddress: koffi.load(null as unknown as string).func(`${POINTER_BITS === 64 ? 'uint64_t' : 'uint32_t'} memcpy(void *dst, ${POINTER_BITS === 64 ? 'uint64_t' : 'uint32_t'} src, size_t n)`) as Fn,
  };
})();

type Fn = (...args: unknown[]) => unknown;

/** Where the reply's members are (the C layout of bw_type_endpoint_reply on this machine). */
export const REPLY = {
  contentType: koffi.offsetof(abi.endpointReply, 'content_type_plugin_ptr'),
  body: koffi.offsetof(abi.endpointReply, 'body_plugin_ptr'),
  bodyLen: koffi.offsetof(abi.endpointReply, 'body_len'),
  bodyHost: koffi.offsetof(abi.endpointReply, 'body_host_ptr'),
  bodyHostCapacity: koffi.offsetof(abi.endpointReply, 'body_host_capacity'),
};

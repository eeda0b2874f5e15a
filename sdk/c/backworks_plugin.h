/*
 * backworks_plugin.h — the Backworks native plugin ABI, version 1.2.
 *
 * THE CONTRACT
 *
 * A Backworks native plugin is a shared library (.so, .dylib, .dll) written in C, in Rust with the
 * backworks-plugin-sdk crate, or in any language that can export a C function. It exports exactly
 * one symbol:
 *
 *     const bw_type_descriptor *bw_plugin_descriptor(void);
 *
 * which returns a pointer to a static, immutable descriptor. The host reads the descriptor before
 * anything else, in a throwaway process, to show `backworks plugin inspect` and to refuse a library
 * built for another ABI. Reading it must have no side effects: no threads, no files, no output.
 *
 * The descriptor carries the plugin's metadata and its call table (bw_on_* functions, calls into
 * the plugin). bw_on_create receives the host API table (bw_host_* functions, calls into the host).
 * Everything is pure C: fixed-width integers, NUL-terminated UTF-8 strings, no C++ types, and no
 * exception or Rust panic ever unwinds across these functions (catch it and return BW_ERR).
 *
 * LIFECYCLE (the host guarantees this order for one instance)
 *
 *     bw_plugin_descriptor()          any number of times, any thread, before or after the rest
 *     create(host_api, size, ctx)     once, returns the instance
 *     initialize(instance, config)    once; no other call starts before it returned BW_OK
 *     process_endpoint_data / before_request / after_response / health / write
 *                                     any number of times, possibly CONCURRENTLY from several
 *                                     host threads (see THREADS)
 *     on_config_reload(instance, config)
 *                                     never concurrent with any other call
 *     shutdown(instance)              once; joins every thread the plugin started; afterwards the
 *                                     plugin calls no bw_host_* function again
 *     destroy(instance)               once; releases the instance
 *
 * A library is never unloaded and loaded again in place: a new version runs in a new process.
 *
 * ISOLATION
 *
 * By default each plugin runs in its own plugin-host process (`isolation: process`): a crash,
 * abort, or endless loop there costs only that plugin, which the service restarts. With
 * `isolation: none` it is loaded into the service itself and shares its fate. The same library
 * works in both modes.
 *
 * COMPATIBILITY POLICY
 *
 * - BW_ABI_MAJOR changes only when an existing declaration changes meaning; the host refuses a
 *   plugin whose major differs from its own.
 * - BW_ABI_MINOR grows when something is appended. The host accepts a plugin with an older minor.
 * - Tables are append-only. New members go at the end, marked with the version that added them.
 *   A signature is never changed: a `_v2` member is appended instead.
 * - Every table starts with its own struct_size, so each side knows which members the other has:
 *   a member lies beyond the table when offsetof(member) + sizeof(member) > struct_size. Use
 *   BW_HAS_MEMBER(table_ptr, type, member) to test it.
 * - A NULL function pointer means "not implemented": the host uses the documented default.
 *
 * STRINGS AND OWNERSHIP
 *
 * Every string is NUL-terminated UTF-8, except request and answer bodies given with a length
 * (process_endpoint_data_v2, 1.2), which are bytes and may hold NULs or anything else. Names ending in _host_ptr are owned by the host, names
 * ending in _plugin_ptr by the plugin. A borrowed argument stays valid only until the function
 * returns: copy what you keep. A result the plugin allocates (a char * written through an `out`
 * parameter) is given to the host, which frees it with the plugin's own `free` call once it has
 * copied it; a result the host allocates is freed with the host's bw_host_free.
 *
 * STATUS CODES AND THE ERROR CONTRACT
 *
 * Calls return a bw_type_status. BW_OK is success; BW_NONE means "not mine" (the next plugin is asked);
 * a negative value is an error, and then `*out` may hold a UTF-8 message (or stay NULL).
 *
 * One rule decides what the client sees and what the circuit breaker counts. It is the same
 * whichever way the plugin runs (in a plugin host, in the service, or as a TypeScript plugin):
 *
 *   the plugin returns           the client sees                          the breaker counts
 *   -400..-599, except -500      that HTTP status: -404 answers 404,      nothing: the plugin
 *                                -503 answers 503, -502 answers 502,      answered on purpose
 *                                with {"error": message, "status": N}
 *   -500, BW_ERR (-1), or any    500 BW_ERR_PLUGIN_FAILED with the        a failure
 *   other negative value         message
 *   no answer within `timeout`   504 BW_ERR_PLUGIN_TIMEOUT (an isolated   a failure
 *                                plugin's host is killed and restarted)
 *   its host process dies        503 BW_ERR_PLUGIN_UNAVAILABLE            a failure (and a crash,
 *                                                                         see QUARANTINE)
 *
 * So a plugin says "my upstream is down" with -503 and stays trusted; it says "I am broken" with
 * BW_ERR. A call refused because the plugin is unavailable (restarting, quarantined, circuit open)
 * answers 503 BW_ERR_PLUGIN_UNAVAILABLE without calling it. A before_request hook of a `critical`
 * plugin that returns an answer status rejects the request with that status; a failure there
 * rejects it with 502 BW_ERR_PLUGIN_HOOK_REJECTED; a non-critical plugin's hook error is logged and
 * the request goes on.
 *
 * The SDKs follow the same table. Rust: PluginError::BadRequest 400, NotFound 404, Unsupported
 * 501, Unavailable 503, Timeout 504, Status(n, _) n (400..599) are answers; Internal, InvalidConfig,
 * Host, Panic and Other return BW_ERR. TypeScript: a thrown PluginError with a statusCode other
 * than 500 (PluginError.badRequest(), .notFound(), .unavailable(), .timeout(), new PluginError(m,
 * 409)) is an answer; any other thrown error is a failure.
 *
 * QUARANTINE
 *
 * An isolated plugin whose host dies is restarted with exponential backoff (`restart.backoff` up to
 * `restart.max_backoff`, with jitter). After `restart.max_crashes` crashes within `restart.window`
 * (a crash in initialize counts too) it is quarantined: no restart until a probe, one start, after
 * `restart.max_backoff`. A probe that comes up healthy ends the quarantine; a probe that crashes or
 * fails to initialize doubles the quarantine time (at most one hour) and is the only start of that
 * period. /health shows the state, the next probe's time and the last reason.
 */
#ifndef BACKWORKS_PLUGIN_H
#define BACKWORKS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BW_ABI_MAJOR 1
#define BW_ABI_MINOR 2

#if defined(_WIN32)
#define BW_EXPORT __declspec(dllexport)
#else
#define BW_EXPORT __attribute__((visibility("default")))
#endif

/* True when the table at `ptr` (whose first member is its uint32_t struct_size) has `member`. */
#define BW_HAS_MEMBER(ptr, type, member) \
  ((ptr) != NULL && offsetof(type, member) + sizeof(((type *)0)->member) <= *(const uint32_t *)(ptr))

/* ---------------------------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------------------------- */

/* Result of every call; see STATUS CODES above. */
typedef int32_t bw_type_status;
#define BW_OK 0
#define BW_NONE 1
#define BW_ERR (-1)
/* Returned by a bw_host_* function the current isolation mode cannot serve (see THREADS). */
#define BW_ERR_UNSUPPORTED (-2)
/* Returned by a bw_host_* function once the host is shutting down or lost its service. */
#define BW_ERR_HOST_GONE (-3)

/* Log levels for bw_host_log. */
typedef int32_t bw_type_log_level;
#define BW_LOG_TRACE 0
#define BW_LOG_DEBUG 1
#define BW_LOG_INFO 2
#define BW_LOG_WARN 3
#define BW_LOG_ERROR 4

/*
 * Capabilities: which calls the plugin implements, as a bitmask in the descriptor. The host uses
 * it to route endpoints and hooks and shows it in `backworks plugin inspect`; it must agree with
 * the non-NULL members of bw_type_calls.
 */
typedef uint64_t bw_type_capabilities;
#define BW_CAP_ENDPOINT ((uint64_t)1 << 0)       /* process_endpoint_data or _v2 */
#define BW_CAP_BEFORE_REQUEST ((uint64_t)1 << 1) /* before_request */
#define BW_CAP_AFTER_RESPONSE ((uint64_t)1 << 2) /* after_response */
#define BW_CAP_CONNECTOR ((uint64_t)1 << 3)      /* emits readings or documents from its threads */
#define BW_CAP_WRITE ((uint64_t)1 << 4)          /* write */
#define BW_CAP_CONFIG_RELOAD ((uint64_t)1 << 5)  /* on_config_reload */

/* The plugin's instance, returned by create and passed back to every bw_on_* call. Opaque to
 * the host. */
typedef void *bw_type_instance_plugin_ptr;

/* The host's context for this instance, given to create and passed back to every bw_host_*
 * call. Opaque to the plugin. */
typedef void *bw_type_context_host_ptr;

/* ---------------------------------------------------------------------------------------------
 * The host API: calls into the host (bw_host_*)
 *
 * THREADS: every bw_host_* function may be called from any thread, including threads the plugin
 * started itself, at any time between create returning and shutdown returning. They never call
 * back into the plugin.
 *
 * In a plugin-host process (`isolation: process`, the default) every function is available, from
 * call threads and plugin threads alike. Inside the service (`isolation: none`) the calls that
 * must wait for the service (emit_durable, state_get, state_set, commit, documents_query,
 * document_set_status, emit_acknowledged) return BW_ERR_UNSUPPORTED: the
 * service's event loop cannot answer a thread that blocks it. Plugins that need them (connectors
 * acknowledging a sender) should document that they require `isolation: process`.
 * ------------------------------------------------------------------------------------------- */

/*
 * Writes one log line tagged with the plugin's name.
 * OWNERSHIP: `message` is borrowed for the duration of the call.
 */
typedef void (*bw_host_log)(bw_type_context_host_ptr ctx, bw_type_log_level level, const char *message);

/*
 * Hands readings to the service's buffer. Fire-and-forget: returns once queued, before commit.
 * `readings_json` is a JSON array of {"device","point","value","quality"?,"ts"?} objects
 * (quality: good|bad|stale|uncertain; ts: milliseconds since the epoch), or a single such object.
 * Returns BW_OK, or BW_ERR_HOST_GONE.
 * OWNERSHIP: `readings_json` is borrowed for the duration of the call.
 */
typedef bw_type_status (*bw_host_emit)(bw_type_context_host_ptr ctx, const char *readings_json);

/*
 * Stores a document and returns only after the service has committed it, so the caller may
 * acknowledge its sender (an MLLP ACK, a FIX session message). Blocks the calling thread.
 * `document_json` is {"type": "hl7v2", "body": "...", "meta": {...}}.
 * On BW_OK `*out_id` holds the stored document's id. On error `*out_error_host_ptr` may hold a
 * message: answer the sender negatively.
 * OWNERSHIP: `document_json` is borrowed. `*out_error_host_ptr` belongs to the host: free it
 * with bw_host_free.
 */
typedef bw_type_status (*bw_host_emit_durable)(bw_type_context_host_ptr ctx, const char *document_json,
                                               int64_t *out_id, char **out_error_host_ptr);

/*
 * Reads persistent plugin state (sequence numbers, control numbers); survives restarts.
 * Returns BW_OK with `*out_value_host_ptr` set, or BW_NONE when the key has no value.
 * OWNERSHIP: `key` is borrowed. `*out_value_host_ptr` belongs to the host: free it with
 * bw_host_free.
 */
typedef bw_type_status (*bw_host_state_get)(bw_type_context_host_ptr ctx, const char *key,
                                            char **out_value_host_ptr);

/*
 * Writes persistent plugin state; returns after the service has stored it.
 * OWNERSHIP: `key` and `value` are borrowed for the duration of the call.
 */
typedef bw_type_status (*bw_host_state_set)(bw_type_context_host_ptr ctx, const char *key, const char *value);

/*
 * Commits several documents and state writes in ONE transaction and returns only after it is
 * committed (1.1). Blocks the calling thread like emit_durable, but one round trip and one commit
 * carry a whole batch: a session engine stores the messages it received, its sequence numbers and
 * the messages it is about to send together, then answers its peer. All or nothing: on error
 * nothing of the batch is stored.
 * `batch_json` is {"documents": [{"type","body","meta"?}, ...], "state": [["key","value"], ...]}
 * (either member may be absent). On BW_OK `*out_ids_host_ptr` holds a JSON array of the stored
 * documents' ids, in order. On error it may hold a message instead.
 * When the table is older than 1.1 (BW_HAS_MEMBER false) use emit_durable and state_set one by one.
 * OWNERSHIP: `batch_json` is borrowed. `*out_ids_host_ptr` belongs to the host: free it with
 * bw_host_free.
 */
typedef bw_type_status (*bw_host_commit)(bw_type_context_host_ptr ctx, const char *batch_json,
                                         char **out_ids_host_ptr);

/*
 * Reads back documents this plugin stored (1.1): an outbox a plugin drains itself (the HL7
 * pack's FHIR uplink), or keys to rebuild after a restart (resend detection). Only the calling
 * plugin's documents are visible. Blocks the calling thread.
 * `query_json` is {"type"?, "status"?, "after_id"?, "since_ms"?, "limit"?, "with_body"?}: documents
 * with id > after_id (default 0), received at or after since_ms (ms since the epoch), in id order,
 * at most `limit` (default 100, at most 1000); "body" is included only when with_body is true.
 * On BW_OK `*out_json_host_ptr` holds a JSON array of {"id","type","status","meta","received_at",
 * "body"?}. On error it may hold a message instead.
 * OWNERSHIP: `query_json` is borrowed. `*out_json_host_ptr` belongs to the host: free it with
 * bw_host_free.
 */
typedef bw_type_status (*bw_host_documents_query)(bw_type_context_host_ptr ctx, const char *query_json,
                                                  char **out_json_host_ptr);

/*
 * Sets the status of a document this plugin stored (1.1), e.g. "fhir_sent" or "fhir_dead_letter"
 * once an uplink delivered it or gave up; new documents have the status "received". Returns
 * BW_OK, BW_NONE when the plugin has no document with that id, or an error. Blocks the calling
 * thread until the change is stored.
 * OWNERSHIP: `status` is borrowed for the duration of the call.
 */
typedef bw_type_status (*bw_host_document_set_status)(bw_type_context_host_ptr ctx, int64_t id, const char *status);

/*
 * Hands readings to the buffer and returns only once they are committed (1.2): the back-pressure
 * a connector needs before it acknowledges its sender (an HTTP 2xx, a protocol ACK). Blocks the
 * calling thread. `readings_json` is what bw_host_emit takes.
 * Returns BW_OK once committed. On -503 the disk refused them (full or read-only): NOTHING of them
 * is stored, now or later, so answer the sender "not stored, retry"; returning -503 from
 * process_endpoint_data passes that to an HTTP client without counting against the plugin. -400:
 * the readings are invalid (the message says which). BW_ERR_UNSUPPORTED with `isolation: none`.
 * On error `*out_error_host_ptr` may hold a message.
 * Unlike bw_host_emit, whose readings wait in memory and are retried when the disk refuses.
 * OWNERSHIP: `readings_json` is borrowed. `*out_error_host_ptr` belongs to the host: free it with
 * bw_host_free.
 */
typedef bw_type_status (*bw_host_emit_acknowledged)(bw_type_context_host_ptr ctx, const char *readings_json,
                                                    char **out_error_host_ptr);

/*
 * Frees a string the host returned through an out parameter. NULL is ignored.
 * OWNERSHIP: takes `ptr_host_ptr`.
 */
typedef void (*bw_host_free)(void *ptr_host_ptr);

/*
 * The host API table handed to create.
 * OWNERSHIP: owned by the host and valid until destroy returns; the plugin may keep the pointer.
 */
typedef struct bw_type_host_api {
  uint32_t struct_size; /* sizeof(bw_type_host_api) as the host was built */
  bw_host_log log;                   /* 1.0 */
  bw_host_emit emit;                 /* 1.0 */
  bw_host_emit_durable emit_durable; /* 1.0 */
  bw_host_state_get state_get;       /* 1.0 */
  bw_host_state_set state_set;       /* 1.0 */
  bw_host_free free;                 /* 1.0 */
  bw_host_commit commit;             /* 1.1; emit_durable + state_set in one transaction */
  bw_host_documents_query documents_query;         /* 1.1; read back this plugin's documents */
  bw_host_document_set_status document_set_status; /* 1.1; mark a document delivered, dead, ... */
  bw_host_emit_acknowledged emit_acknowledged;     /* 1.2; emit, returning once committed or refused */
  /* Append new members here, marked with the minor version that added them. */
} bw_type_host_api;

/* ---------------------------------------------------------------------------------------------
 * The call table: calls into the plugin (bw_on_*)
 *
 * THREADS: the host calls initialize, on_config_reload, shutdown and destroy alone (no other call
 * is in progress). process_endpoint_data, before_request, after_response, health and write may be
 * called concurrently from several host threads, up to the plugin's `limits.concurrency`; protect
 * shared state. A call must not block forever: past its deadline (the plugin's `timeout`) an
 * isolated plugin's process is killed and restarted.
 *
 * Every `char **out` parameter starts as NULL. The plugin may set it to a string it allocated;
 * the host copies it and then calls the descriptor's `free` on it.
 * ------------------------------------------------------------------------------------------- */

/*
 * Creates the instance. Must not start threads or do I/O: that belongs in initialize.
 * Returns the instance, or NULL when it cannot be created (the host reports the plugin failed).
 * OWNERSHIP: `host_api` and `ctx` belong to the host and stay valid until destroy returns.
 */
typedef bw_type_instance_plugin_ptr (*bw_on_create)(const bw_type_host_api *host_api, uint32_t host_api_size,
                                                    bw_type_context_host_ptr ctx);

/*
 * Applies the configuration and starts the plugin's work (threads, sockets).
 * `config_json` is the plugin's `config:` from backworks.yaml as a JSON object ("{}" when absent).
 * Returns BW_OK, or an error with an optional message in `*out_error_plugin_ptr`.
 * OWNERSHIP: `config_json` is borrowed. `*out_error_plugin_ptr` is freed by the host with `free`.
 */
typedef bw_type_status (*bw_on_initialize)(bw_type_instance_plugin_ptr instance, const char *config_json,
                                           char **out_error_plugin_ptr);

/*
 * Answers an HTTP endpoint call (the 1.0 call; see _v2 for bytes). `endpoint` is the request path
 * ("/my-feature"), `method` the HTTP method in capitals, `data` the request body as a C string (""
 * when none): a body holding a NUL byte arrives cut there. Bodies that may be binary need
 * process_endpoint_data_v2 (1.2), which also sets the answer's status and content type.
 * Returns BW_OK with the response body in `*out_plugin_ptr` (JSON is sent as application/json),
 * BW_NONE for "not mine" (the next plugin is asked), or an error with a message.
 * OWNERSHIP: the three inputs are borrowed. `*out_plugin_ptr` is freed by the host with `free`.
 */
typedef bw_type_status (*bw_on_process_endpoint_data)(bw_type_instance_plugin_ptr instance, const char *endpoint,
                                                      const char *method, const char *data,
                                                      char **out_plugin_ptr);

/*
 * What process_endpoint_data_v2 answers (1.2). The host zeroes it and sets struct_size before the
 * call; the plugin fills in what it chooses:
 *   http_status   0 answers 200 on BW_OK; or a status from 200 to 599 (201, 202, 204, 409, ...).
 *                 On an error return it is ignored: the returned status decides (STATUS CODES).
 *   content_type  NULL: JSON-looking bodies are sent as application/json, others as text/plain;
 *                 or a media type such as "application/octet-stream" or "text/csv".
 *   body, body_len  the answer's bytes (NULs allowed); on an error return, the message (UTF-8).
 *                 Either allocated (body_plugin_ptr), or, when body_len <= body_host_capacity,
 *                 copied into the host's body_host_ptr with body_plugin_ptr left NULL: no
 *                 allocation and no free call, the cheapest answer for the usual small body.
 * OWNERSHIP: the struct is the host's, valid for the call. `content_type_plugin_ptr` and
 * `body_plugin_ptr` are allocated by the plugin and freed by the host with `free`, each on its own.
 * `body_host_ptr` is the host's, writable for `body_host_capacity` bytes during the call (the
 * host may give none: NULL and 0).
 */
typedef struct bw_type_endpoint_reply {
  uint32_t struct_size;            /* sizeof(bw_type_endpoint_reply) as the host was built */
  int32_t http_status;             /* 1.2 */
  char *content_type_plugin_ptr;   /* 1.2 */
  char *body_plugin_ptr;           /* 1.2 */
  size_t body_len;                 /* 1.2 */
  uint8_t *body_host_ptr;          /* 1.2; set by the host */
  size_t body_host_capacity;       /* 1.2; set by the host */
  /* Append new members here, marked with the minor version that added them. */
} bw_type_endpoint_reply;

/*
 * process_endpoint_data with the request body as bytes (1.2): binary payloads, NUL bytes and bytes
 * that are not UTF-8 arrive exactly as the client sent them, and the answer chooses its own HTTP
 * status and content type. `data` points to `data_len` bytes (never NULL; `data_len` is 0 for no
 * body). Returns BW_OK with the answer in `*reply`, BW_NONE for "not mine", or an error status
 * with its message in `reply->body_plugin_ptr`. When a plugin sets both, the host calls this one
 * and never process_endpoint_data; a host older than 1.2 calls process_endpoint_data, so a plugin
 * that wants to load there keeps both.
 * OWNERSHIP: the inputs are borrowed for the call. See bw_type_endpoint_reply for the answer.
 */
typedef bw_type_status (*bw_on_process_endpoint_data_v2)(bw_type_instance_plugin_ptr instance, const char *endpoint,
                                                         const char *method, const uint8_t *data, size_t data_len,
                                                         bw_type_endpoint_reply *reply);

/*
 * Runs before every configured endpoint. `request_json` is
 * {"endpoint","method","path","params","query","headers","body"} ("body" as UTF-8 text: bytes that
 * are not UTF-8 show as U+FFFD here; process_endpoint_data_v2 still gets them as sent).
 * Returns BW_OK with `*out_plugin_ptr` NULL (request unchanged) or set to the changed request JSON
 * (only "headers" and "body" are taken); an error rejects the request with its status.
 * OWNERSHIP: `request_json` is borrowed. `*out_plugin_ptr` is freed by the host with `free`.
 */
typedef bw_type_status (*bw_on_before_request)(bw_type_instance_plugin_ptr instance, const char *request_json,
                                               char **out_plugin_ptr);

/*
 * Runs after every configured endpoint. `response_json` is {"status","headers","body"}.
 * Returns BW_OK with `*out_plugin_ptr` NULL (unchanged) or the changed response JSON (only
 * "headers" and "body" are taken).
 * OWNERSHIP: both inputs are borrowed. `*out_plugin_ptr` is freed by the host with `free`.
 */
typedef bw_type_status (*bw_on_after_response)(bw_type_instance_plugin_ptr instance, const char *request_json,
                                               const char *response_json, char **out_plugin_ptr);

/*
 * Reports health. Returns BW_OK with `*out_plugin_ptr` set to
 * {"status":"healthy|degraded|unhealthy","message"?,"details"?} — or NULL, meaning healthy.
 * OWNERSHIP: `*out_plugin_ptr` is freed by the host with `free`.
 */
typedef bw_type_status (*bw_on_health)(bw_type_instance_plugin_ptr instance, char **out_plugin_ptr);

/*
 * Applies a changed configuration without a restart. NULL in the table means the plugin does not
 * support it: the host then starts a new instance instead.
 * OWNERSHIP: as initialize.
 */
typedef bw_type_status (*bw_on_config_reload)(bw_type_instance_plugin_ptr instance, const char *config_json,
                                              char **out_error_plugin_ptr);

/*
 * Writes a writable point of a device this connector owns. `value_json` is a JSON value.
 * OWNERSHIP: the inputs are borrowed. `*out_error_plugin_ptr` is freed by the host with `free`.
 */
typedef bw_type_status (*bw_on_write)(bw_type_instance_plugin_ptr instance, const char *device, const char *point,
                                      const char *value_json, char **out_error_plugin_ptr);

/*
 * Stops the plugin's work and joins every thread it started. After it returns the plugin makes no
 * bw_host_* call.
 */
typedef void (*bw_on_shutdown)(bw_type_instance_plugin_ptr instance);

/* Releases the instance. OWNERSHIP: takes `instance`. */
typedef void (*bw_on_destroy)(bw_type_instance_plugin_ptr instance);

/* Frees a string the plugin returned through an out parameter. NULL must be accepted.
 * OWNERSHIP: takes `ptr_plugin_ptr`. Called from any host thread. */
typedef void (*bw_on_free)(void *ptr_plugin_ptr);

/*
 * The call table. create, initialize, shutdown, destroy and free are required; the others may be
 * NULL (see each one's default).
 * OWNERSHIP: static in the plugin; the host never writes to it.
 */
typedef struct bw_type_calls {
  uint32_t struct_size; /* sizeof(bw_type_calls) as the plugin was built */
  bw_on_create create;                               /* 1.0 */
  bw_on_initialize initialize;                       /* 1.0 */
  bw_on_process_endpoint_data process_endpoint_data; /* 1.0; NULL: answers BW_NONE */
  bw_on_before_request before_request;               /* 1.0; NULL: unchanged */
  bw_on_after_response after_response;               /* 1.0; NULL: unchanged */
  bw_on_health health;                               /* 1.0; NULL: healthy */
  bw_on_config_reload on_config_reload;              /* 1.0; NULL: restart to reload */
  bw_on_write write;                                 /* 1.0; NULL: writes are refused */
  bw_on_shutdown shutdown;                           /* 1.0 */
  bw_on_destroy destroy;                             /* 1.0 */
  bw_on_free free;                                   /* 1.0 */
  bw_on_process_endpoint_data_v2 process_endpoint_data_v2; /* 1.2; bodies as bytes; NULL: the 1.0 call */
  /* Append new members here, marked with the minor version that added them. */
} bw_type_calls;

/*
 * The descriptor bw_plugin_descriptor returns.
 * OWNERSHIP: static in the plugin and immutable; every string in it lives as long as the library.
 */
typedef struct bw_type_descriptor {
  uint32_t struct_size; /* sizeof(bw_type_descriptor) as the plugin was built */
  uint16_t abi_major;   /* BW_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;   /* BW_ABI_MINOR the plugin was built against */
  const char *name;        /* 1.0; e.g. "my-plugin": letters, digits, '-', '_' */
  const char *version;     /* 1.0; the plugin's own version, e.g. "1.0.0" */
  const char *description; /* 1.0; one line, may be "" */
  bw_type_capabilities capabilities; /* 1.0; BW_CAP_* bits */
  const char *config_schema_json;    /* 1.0; JSON Schema of `config:`, or NULL for "any object" */
  const bw_type_calls *calls;        /* 1.0 */
  /* Append new members here, marked with the minor version that added them. */
} bw_type_descriptor;

/* The one exported symbol's name and type. */
#define BW_DESCRIPTOR_SYMBOL "bw_plugin_descriptor"
typedef const bw_type_descriptor *(*bw_plugin_descriptor_fn)(void);

/*
 * Declares the exported symbol; a C plugin writes
 *
 *     BW_PLUGIN_EXPORT const bw_type_descriptor *bw_plugin_descriptor(void) { return &my_descriptor; }
 */
#define BW_PLUGIN_EXPORT BW_EXPORT

#ifdef __cplusplus
}
#endif

#endif /* BACKWORKS_PLUGIN_H */

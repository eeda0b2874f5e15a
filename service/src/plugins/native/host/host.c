/*
 * bw-plugin-host: runs one native plugin in its own process, so a crash, abort or endless loop
 * costs only that plugin. The service starts it, one per isolated plugin:
 *
 *     bw-plugin-host PATH            run the plugin, speaking the frame protocol on fd BW_HOST_FD
 *     bw-plugin-host --inspect PATH  print the descriptor as JSON (to BW_HOST_FD, else stdout), exit
 *
 * Why C and not a Node child: ~1 MB instead of a V8 heap per plugin, microsecond round trips, and
 * prctl(PR_SET_PDEATHSIG), so the host dies with the service even when the service is SIGKILLed.
 *
 * Frames (little-endian), both directions: u32 length of what follows | u8 type | u32 id |
 * i32 status | payload. Multi-string payloads are NUL-terminated strings back to back. The types
 * are mirrored in ../protocol.ts. stdout and stderr are left to the plugin: the service turns
 * them into log lines tagged with the plugin's name.
 *
 * Threads: one reader thread reads frames (the main thread first). A call of a kind that has been
 * quick runs on the reader itself, inline: no hand-off to another thread, so a round trip costs
 * what a bare echo over the socket costs plus the plugin's own work. Other calls are queued to
 * BW_WORKERS worker threads. A monitor thread watches an inline call: one still running after
 * TAKEOVER_NS, or one that makes a host call needing an answer, loses the reader role to a new
 * reader thread (which gets the unread bytes), its kind is marked slow and goes to the workers
 * until a call of it is quick again; the old reader thread ends when its call returns. So a slow
 * or hung call never stops the others for more than a few milliseconds. One thread sends
 * heartbeats. Host API calls that need an answer (emit_durable, state) park the calling thread
 * until the reader receives the service's HOST_ANSWER with the same id.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "backworks_plugin.h"

enum frame_type {
  /* service -> host */
  F_INIT = 1, F_ENDPOINT = 2, F_BEFORE = 3, F_AFTER = 4, F_HEALTH = 5, F_RELOAD = 6, F_WRITE = 7,
  F_SHUTDOWN = 8, F_HOST_ANSWER = 20,
  /* host -> service */
  F_READY = 64, F_RESULT = 65, F_HEARTBEAT = 66, F_LOG = 67, F_EMIT = 68, F_HOST_CALL = 69, F_FATAL = 70,
};
enum host_call_kind {
  HC_EMIT_DURABLE = 1, HC_STATE_GET = 2, HC_STATE_SET = 3, HC_COMMIT = 4, HC_DOCUMENTS_QUERY = 5, HC_DOCUMENT_STATUS = 6
};

#define HEADER_SIZE 9 /* type, id, status: what follows the length */
#define MAX_FRAME (64u * 1024u * 1024u)

static int channel_fd = 3;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static const bw_type_descriptor *descriptor;
static const bw_type_calls *calls;
static bw_type_instance_plugin_ptr instance;
static volatile int host_gone; /* set once shutdown ran or the channel closed */

/* ---------- frames ---------- */

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = (v >> 24) & 0xff;
}
static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Sends one frame atomically with respect to other threads. Returns 0, or -1 when the service is gone. */
static int send_frame(uint8_t type, uint32_t id, int32_t status, const char *payload, size_t len) {
  unsigned char header[4 + HEADER_SIZE];
  put_u32(header, (uint32_t)(HEADER_SIZE + len));
  header[4] = type;
  put_u32(header + 5, id);
  put_u32(header + 9, (uint32_t)status);
  struct iovec iov[2] = {{header, 4 + HEADER_SIZE}, {(void *)payload, len}};
  int iovcnt = len > 0 ? 2 : 1;
  pthread_mutex_lock(&write_lock);
  int rc = 0;
  while (iovcnt > 0) {
    ssize_t n = writev(channel_fd, iov, iovcnt);
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = -1;
      break;
    }
    while (iovcnt > 0 && (size_t)n >= iov[0].iov_len) {
      n -= (ssize_t)iov[0].iov_len;
      iov[0] = iov[1];
      iovcnt--;
    }
    if (iovcnt > 0) {
      iov[0].iov_base = (char *)iov[0].iov_base + n;
      iov[0].iov_len -= (size_t)n;
    }
  }
  pthread_mutex_unlock(&write_lock);
  return rc;
}

static int read_full(void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(channel_fd, (char *)buf + got, len - got);
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    got += (size_t)n;
  }
  return 0;
}

/* ---------- JSON output for the descriptor ---------- */

typedef struct buf { char *data; size_t len, cap; } buf;

static void buf_add(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->data = realloc(b->data, b->cap);
    if (b->data == NULL) abort();
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}
static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_fmt(buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  buf_add(b, tmp, (size_t)(n < (int)sizeof tmp ? n : (int)sizeof tmp - 1));
}
static void buf_json_string(buf *b, const char *s) {
  if (s == NULL) { buf_str(b, "null"); return; }
  buf_str(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') { char e[2] = {'\\', (char)*p}; buf_add(b, e, 2); }
    else if (*p < 0x20) buf_fmt(b, "\\u%04x", *p);
    else buf_add(b, (const char *)p, 1);
  }
  buf_str(b, "\"");
}

/* ---------- loading ---------- */

/* Loads the library and checks its descriptor; on failure writes a code and message and returns -1. */
static int load_plugin(const char *path, const char **code, char *message, size_t message_size) {
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    *code = "BW_ERR_NATIVE_DLOPEN";
    snprintf(message, message_size, "%s", dlerror());
    return -1;
  }
  bw_plugin_descriptor_fn get = (bw_plugin_descriptor_fn)dlsym(lib, BW_DESCRIPTOR_SYMBOL);
  if (get == NULL) {
    *code = "BW_ERR_NATIVE_NOT_A_PLUGIN";
    snprintf(message, message_size, "does not export %s(): not a Backworks plugin", BW_DESCRIPTOR_SYMBOL);
    return -1;
  }
  descriptor = get();
  if (descriptor == NULL) {
    *code = "BW_ERR_NATIVE_BAD_DESCRIPTOR";
    snprintf(message, message_size, "%s() returned NULL", BW_DESCRIPTOR_SYMBOL);
    return -1;
  }
  if (descriptor->abi_major != BW_ABI_MAJOR || descriptor->abi_minor > BW_ABI_MINOR) {
    *code = "BW_ERR_NATIVE_ABI_MISMATCH";
    snprintf(message, message_size, "plugin was built for ABI %u.%u; this host speaks %d.%d (the major must match, the minor may be older)",
             descriptor->abi_major, descriptor->abi_minor, BW_ABI_MAJOR, BW_ABI_MINOR);
    return -1;
  }
  if (!BW_HAS_MEMBER(descriptor, bw_type_descriptor, calls) || descriptor->calls == NULL ||
      descriptor->name == NULL || descriptor->name[0] == '\0') {
    *code = "BW_ERR_NATIVE_BAD_DESCRIPTOR";
    snprintf(message, message_size, "descriptor lacks a name or a call table (struct_size %u)", descriptor->struct_size);
    return -1;
  }
  calls = descriptor->calls;
  if (!BW_HAS_MEMBER(calls, bw_type_calls, free) || !calls->create || !calls->initialize || !calls->shutdown ||
      !calls->destroy || !calls->free) {
    *code = "BW_ERR_NATIVE_BAD_DESCRIPTOR";
    snprintf(message, message_size, "call table lacks a required function (create, initialize, shutdown, destroy, free)");
    return -1;
  }
  return 0;
}

static void descriptor_json(buf *b) {
  buf_str(b, "{\"name\":");
  buf_json_string(b, descriptor->name);
  buf_str(b, ",\"version\":");
  buf_json_string(b, descriptor->version ? descriptor->version : "");
  buf_str(b, ",\"description\":");
  buf_json_string(b, descriptor->description ? descriptor->description : "");
  buf_fmt(b, ",\"abi_major\":%u,\"abi_minor\":%u,\"capabilities\":%llu,\"descriptor_size\":%u,\"calls_size\":%u",
          descriptor->abi_major, descriptor->abi_minor, (unsigned long long)descriptor->capabilities,
          descriptor->struct_size, calls->struct_size);
  buf_str(b, ",\"config_schema\":");
  buf_json_string(b, descriptor->config_schema_json);
  buf_str(b, "}");
}

/* ---------- host API (calls from the plugin) ---------- */

typedef struct pending {
  uint32_t id;
  int done;
  int32_t status;
  char *payload;
  size_t len;
  pthread_cond_t cond;
  struct pending *next;
} pending;

static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static pending *pending_list;
static uint32_t next_host_call_id = 1;

/* Sends a HOST_CALL and parks the calling thread until its answer arrives (or the service is gone). */
static void leave_reader_role(void);
static __thread bool asked_service; /* the running call made a host call that needed an answer */

static int32_t host_roundtrip(int kind, const char *payload, size_t len, char **answer) {
  if (host_gone) return BW_ERR_HOST_GONE;
  asked_service = true;
  leave_reader_role(); /* the answer comes through the channel: someone else must read it */
  pending p = {.done = 0, .payload = NULL};
  pthread_cond_init(&p.cond, NULL);
  pthread_mutex_lock(&pending_lock);
  p.id = next_host_call_id++;
  p.next = pending_list;
  pending_list = &p;
  pthread_mutex_unlock(&pending_lock);
  if (send_frame(F_HOST_CALL, p.id, kind, payload, len) != 0) host_gone = 1;
  pthread_mutex_lock(&pending_lock);
  while (!p.done && !host_gone) pthread_cond_wait(&p.cond, &pending_lock);
  for (pending **q = &pending_list; *q; q = &(*q)->next) {
    if (*q == &p) { *q = p.next; break; }
  }
  pthread_mutex_unlock(&pending_lock);
  pthread_cond_destroy(&p.cond);
  if (!p.done) { free(p.payload); return BW_ERR_HOST_GONE; }
  if (answer != NULL) *answer = p.payload; else free(p.payload);
  return p.status;
}

static void answer_host_call(uint32_t id, int32_t status, char *payload, size_t len) {
  pthread_mutex_lock(&pending_lock);
  for (pending *p = pending_list; p; p = p->next) {
    if (p->id == id) {
      p->status = status;
      p->payload = payload;
      p->len = len;
      p->done = 1;
      payload = NULL;
      pthread_cond_signal(&p->cond);
      break;
    }
  }
  pthread_mutex_unlock(&pending_lock);
  free(payload); /* an answer nobody waits for */
}

static void wake_all_host_calls(void) {
  pthread_mutex_lock(&pending_lock);
  host_gone = 1;
  for (pending *p = pending_list; p; p = p->next) pthread_cond_signal(&p->cond);
  pthread_mutex_unlock(&pending_lock);
}

static void api_log(bw_type_context_host_ptr ctx, bw_type_log_level level, const char *message) {
  (void)ctx;
  if (message != NULL && !host_gone) send_frame(F_LOG, 0, level, message, strlen(message));
}

static bw_type_status api_emit(bw_type_context_host_ptr ctx, const char *readings_json) {
  (void)ctx;
  if (readings_json == NULL) return BW_ERR;
  if (host_gone) return BW_ERR_HOST_GONE;
  return send_frame(F_EMIT, 0, 0, readings_json, strlen(readings_json)) == 0 ? BW_OK : BW_ERR_HOST_GONE;
}

static bw_type_status api_emit_durable(bw_type_context_host_ptr ctx, const char *document_json, int64_t *out_id,
                                       char **out_error) {
  (void)ctx;
  if (document_json == NULL) return BW_ERR;
  char *answer = NULL;
  int32_t status = host_roundtrip(HC_EMIT_DURABLE, document_json, strlen(document_json), &answer);
  if (status == BW_OK && out_id != NULL) *out_id = answer ? strtoll(answer, NULL, 10) : 0;
  if (status != BW_OK && out_error != NULL) { *out_error = answer; answer = NULL; }
  free(answer);
  return status;
}

static bw_type_status api_state_get(bw_type_context_host_ptr ctx, const char *key, char **out_value) {
  (void)ctx;
  if (key == NULL) return BW_ERR;
  char *answer = NULL;
  int32_t status = host_roundtrip(HC_STATE_GET, key, strlen(key), &answer);
  if (status == BW_OK && out_value != NULL) { *out_value = answer; answer = NULL; }
  free(answer);
  return status;
}

static bw_type_status api_state_set(bw_type_context_host_ptr ctx, const char *key, const char *value) {
  (void)ctx;
  if (key == NULL || value == NULL) return BW_ERR;
  size_t klen = strlen(key) + 1, vlen = strlen(value) + 1;
  char *payload = malloc(klen + vlen);
  if (payload == NULL) return BW_ERR;
  memcpy(payload, key, klen);
  memcpy(payload + klen, value, vlen);
  int32_t status = host_roundtrip(HC_STATE_SET, payload, klen + vlen, NULL);
  free(payload);
  return status;
}

/* One round trip for a whole batch; the service commits it in one transaction (ABI 1.1). */
static bw_type_status api_commit(bw_type_context_host_ptr ctx, const char *batch_json, char **out_ids) {
  (void)ctx;
  if (batch_json == NULL) return BW_ERR;
  char *answer = NULL;
  int32_t status = host_roundtrip(HC_COMMIT, batch_json, strlen(batch_json), &answer);
  if (out_ids != NULL) { *out_ids = answer; answer = NULL; }
  free(answer);
  return status;
}

/* Reads back the plugin's own documents (ABI 1.1); the answer is a JSON array or an error message. */
static bw_type_status api_documents_query(bw_type_context_host_ptr ctx, const char *query_json, char **out_json) {
  (void)ctx;
  if (query_json == NULL) return BW_ERR;
  char *answer = NULL;
  int32_t status = host_roundtrip(HC_DOCUMENTS_QUERY, query_json, strlen(query_json), &answer);
  if (out_json != NULL) { *out_json = answer; answer = NULL; }
  free(answer);
  return status;
}

/* Sets one document's status (ABI 1.1). Payload: the id in decimal, NUL, the status. */
static bw_type_status api_document_set_status(bw_type_context_host_ptr ctx, int64_t id, const char *status_text) {
  (void)ctx;
  if (status_text == NULL) return BW_ERR;
  char idtext[24];
  int idlen = snprintf(idtext, sizeof idtext, "%lld", (long long)id);
  size_t slen = strlen(status_text) + 1;
  char *payload = malloc((size_t)idlen + 1 + slen);
  if (payload == NULL) return BW_ERR;
  memcpy(payload, idtext, (size_t)idlen + 1);
  memcpy(payload + idlen + 1, status_text, slen);
  int32_t status = host_roundtrip(HC_DOCUMENT_STATUS, payload, (size_t)idlen + 1 + slen, NULL);
  free(payload);
  return status;
}

static void api_free(void *ptr) { free(ptr); }

static const bw_type_host_api host_api = {
    .struct_size = sizeof(bw_type_host_api),
    .log = api_log,
    .emit = api_emit,
    .emit_durable = api_emit_durable,
    .state_get = api_state_get,
    .state_set = api_state_set,
    .free = api_free,
    .commit = api_commit,
    .documents_query = api_documents_query,
    .document_set_status = api_document_set_status,
};

/* ---------- calls into the plugin ---------- */

typedef struct job {
  uint8_t type;
  uint32_t id;
  char *payload; /* NUL-terminated strings back to back; its last byte is a NUL */
  size_t len;
  struct job *next;
} job;

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static job *queue_head, *queue_tail;

/*
 * A kind of call whose run took over SLOW_NS, or that waited for the service, goes to the workers
 * until SLOW_RUNS runs in a row were quick again (so a box too busy to run a quick call in time
 * does not flip a kind back and forth, starting a reader thread each time).
 */
#define SLOW_NS 1000000L
#define SLOW_RUNS 64
static uint8_t slow_kind[256]; /* quick runs still needed before the kind runs inline again */

static void count_run(uint8_t type, bool slow) {
  uint8_t left = __atomic_load_n(&slow_kind[type], __ATOMIC_RELAXED);
  if (slow) __atomic_store_n(&slow_kind[type], SLOW_RUNS, __ATOMIC_RELAXED);
  else if (left > 0) __atomic_store_n(&slow_kind[type], left - 1, __ATOMIC_RELAXED);
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The i-th NUL-terminated string of a payload ("" past the end). */
static const char *arg(const job *j, int index) {
  size_t at = 0;
  for (int i = 0; i < index; i++) {
    size_t n = strnlen(j->payload + at, j->len - at);
    if (at + n >= j->len) return "";
    at += n + 1;
  }
  return at < j->len ? j->payload + at : "";
}

static void run_job(job *j) {
  char *out = NULL;
  int32_t status = BW_OK;
  int64_t started = now_ns();
  asked_service = false;
  switch (j->type) {
    case F_INIT:
      status = calls->initialize(instance, arg(j, 0), &out);
      break;
    case F_ENDPOINT:
      status = calls->process_endpoint_data ? calls->process_endpoint_data(instance, arg(j, 0), arg(j, 1), arg(j, 2), &out) : BW_NONE;
      break;
    case F_BEFORE:
      if (calls->before_request) status = calls->before_request(instance, arg(j, 0), &out);
      break;
    case F_AFTER:
      if (calls->after_response) status = calls->after_response(instance, arg(j, 0), arg(j, 1), &out);
      break;
    case F_HEALTH:
      if (calls->health) status = calls->health(instance, &out);
      break;
    case F_RELOAD:
      status = calls->on_config_reload ? calls->on_config_reload(instance, arg(j, 0), &out) : BW_ERR_UNSUPPORTED;
      break;
    case F_WRITE:
      status = calls->write ? calls->write(instance, arg(j, 0), arg(j, 1), arg(j, 2), &out) : BW_ERR_UNSUPPORTED;
      break;
    case F_SHUTDOWN:
      calls->shutdown(instance);
      host_gone = 1; /* the plugin makes no host call after shutdown */
      break;
    default:
      status = BW_ERR;
  }
  /* A call that waits for the service's answer would cost the reader role on every run: slow too. */
  count_run(j->type, asked_service || now_ns() - started > SLOW_NS);
  send_frame(F_RESULT, j->id, status, out, out ? strlen(out) : 0);
  if (out != NULL) calls->free(out);
  if (j->type == F_SHUTDOWN) {
    calls->destroy(instance);
    _exit(0);
  }
}

static void *worker_main(void *unused) {
  (void)unused;
  for (;;) {
    pthread_mutex_lock(&queue_lock);
    while (queue_head == NULL) pthread_cond_wait(&queue_cond, &queue_lock);
    job *j = queue_head;
    queue_head = j->next;
    if (queue_head == NULL) queue_tail = NULL;
    pthread_mutex_unlock(&queue_lock);
    run_job(j);
    free(j->payload);
    free(j);
  }
  return NULL;
}

static void enqueue(uint8_t type, uint32_t id, char *payload, size_t len) {
  job *j = malloc(sizeof *j);
  if (j == NULL) abort();
  *j = (job){.type = type, .id = id, .payload = payload, .len = len, .next = NULL};
  pthread_mutex_lock(&queue_lock);
  if (queue_tail) queue_tail->next = j; else queue_head = j;
  queue_tail = j;
  pthread_cond_signal(&queue_cond);
  pthread_mutex_unlock(&queue_lock);
}

/* ---------- the reader ---------- */

/* Frames up to this size are read through the reader's buffer, several per read() when they queue. */
#define READ_BUF (64u * 1024u)
/* An inline call running longer than this (checked every TAKEOVER_NS / 2) loses the reader role. */
#define TAKEOVER_NS 2000000L
/* The monitor sleeps for good after this long without an inline call, until the next one. */
#define MONITOR_IDLE_NS 1000000000L

typedef struct reader {
  unsigned char *buf;
  size_t start, end; /* unread bytes are buf[start, end) */
} reader;

enum { INLINE_IDLE, INLINE_RUNNING, INLINE_TAKEN };
/* The inline call in progress, guarded by inline_lock (uncontended but for the monitor's tick). */
static pthread_mutex_t inline_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t monitor_cond = PTHREAD_COND_INITIALIZER;
static int inline_state = INLINE_IDLE;
static uint8_t inline_type;
static int64_t inline_started;
static reader *inline_reader;
static bool monitor_parked;
static __thread bool is_inline_reader; /* this thread runs an inline call and still reads frames */

static void start_thread(void *(*fn)(void *), void *arg);
static void *reader_main(void *r);

static reader *new_reader(const unsigned char *unread, size_t len) {
  reader *r = malloc(sizeof *r);
  if (r == NULL || (r->buf = malloc(READ_BUF)) == NULL) abort();
  if (len > 0) memcpy(r->buf, unread, len);
  r->start = 0;
  r->end = len;
  return r;
}

/* Under inline_lock: a new reader thread takes the unread bytes; the inline call's kind is slow. */
static void hand_over_locked(void) {
  inline_state = INLINE_TAKEN;
  count_run(inline_type, true);
  start_thread(reader_main, new_reader(inline_reader->buf + inline_reader->start, inline_reader->end - inline_reader->start));
}

static void leave_reader_role(void) {
  if (!is_inline_reader) return;
  is_inline_reader = false;
  pthread_mutex_lock(&inline_lock);
  if (inline_state == INLINE_RUNNING) hand_over_locked();
  pthread_mutex_unlock(&inline_lock);
}

static void *monitor_main(void *unused) {
  (void)unused;
  struct timespec tick = {0, TAKEOVER_NS / 2};
  int64_t last_seen = now_ns();
  for (;;) {
    nanosleep(&tick, NULL);
    pthread_mutex_lock(&inline_lock);
    int64_t now = now_ns();
    if (inline_state == INLINE_RUNNING) {
      last_seen = now;
      if (now - inline_started >= TAKEOVER_NS) hand_over_locked();
    } else if (now - inline_started > MONITOR_IDLE_NS && now - last_seen > MONITOR_IDLE_NS) {
      monitor_parked = true; /* no wake-ups at all while the plugin is idle */
      while (monitor_parked) pthread_cond_wait(&monitor_cond, &inline_lock);
      last_seen = now_ns();
    }
    pthread_mutex_unlock(&inline_lock);
  }
  return NULL;
}

/* Runs a call on the reader thread. Returns false when the reader role was lost meanwhile. */
static bool run_inline(reader *r, uint8_t type, uint32_t id, char *payload, size_t len) {
  pthread_mutex_lock(&inline_lock);
  inline_state = INLINE_RUNNING;
  inline_type = type;
  inline_started = now_ns();
  inline_reader = r;
  if (monitor_parked) {
    monitor_parked = false;
    pthread_cond_signal(&monitor_cond);
  }
  pthread_mutex_unlock(&inline_lock);
  is_inline_reader = true;
  job j = {.type = type, .id = id, .payload = payload, .len = len};
  run_job(&j);
  is_inline_reader = false;
  pthread_mutex_lock(&inline_lock);
  bool still_reader = inline_state == INLINE_RUNNING;
  inline_state = INLINE_IDLE;
  pthread_mutex_unlock(&inline_lock);
  return still_reader;
}

/* Makes at least `need` unread bytes available. Returns -1 once the channel is closed. */
static int fill(reader *r, size_t need) {
  if (r->end - r->start >= need) return 0;
  if (r->start > 0) {
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start;
    r->start = 0;
  }
  while (r->end < need) {
    ssize_t n = read(channel_fd, r->buf + r->end, READ_BUF - r->end);
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    r->end += (size_t)n;
  }
  return 0;
}

static char *copy_payload(const unsigned char *from, size_t len) {
  char *copy = malloc(len + 1);
  if (copy == NULL) abort();
  memcpy(copy, from, len);
  copy[len] = '\0';
  return copy;
}

static bool inline_kind(uint8_t type) {
  return (type == F_ENDPOINT || type == F_BEFORE || type == F_AFTER || type == F_HEALTH || type == F_WRITE) &&
         !__atomic_load_n(&slow_kind[type], __ATOMIC_RELAXED);
}

/* Reads frames until the channel closes (then the process ends) or this thread loses the role. */
static void *reader_main(void *arg_reader) {
  reader *r = arg_reader;
  for (;;) {
    if (fill(r, 4 + HEADER_SIZE) != 0) break;
    const unsigned char *header = r->buf + r->start;
    uint32_t length = get_u32(header);
    if (length < HEADER_SIZE || length > MAX_FRAME) break;
    size_t len = length - HEADER_SIZE;
    uint8_t type = header[4];
    uint32_t id = get_u32(header + 5);
    int32_t status = (int32_t)get_u32(header + 9);
    char *owned = NULL; /* the payload, when it is not in the buffer */
    char *payload;
    if (4 + length <= READ_BUF) {
      if (fill(r, 4 + length) != 0) break;
      payload = (char *)r->buf + r->start + 4 + HEADER_SIZE;
      r->start += 4 + length;
    } else {
      size_t have = r->end - r->start - (4 + HEADER_SIZE);
      owned = malloc(len + 1);
      if (owned == NULL) break;
      memcpy(owned, r->buf + r->start + 4 + HEADER_SIZE, have);
      r->start = r->end = 0;
      if (read_full(owned + have, len - have) != 0) break;
      owned[len] = '\0';
      payload = owned;
    }
    if (type == F_HOST_ANSWER) {
      answer_host_call(id, status, owned ? owned : copy_payload((unsigned char *)payload, len), len);
    } else if (inline_kind(type) && (len == 0 || payload[len - 1] == '\0')) {
      bool still_reader = run_inline(r, type, id, payload, len);
      free(owned);
      if (!still_reader) { free(r->buf); free(r); pthread_exit(NULL); } /* the main thread too: the process goes on */
    } else {
      /* a worker's payload always ends in a NUL, even a frame's that did not */
      enqueue(type, id, owned ? owned : copy_payload((unsigned char *)payload, len), len + 1);
    }
  }
  /* The service closed the channel: it is gone or wants us gone. */
  wake_all_host_calls();
  _exit(0);
}

static void *heartbeat_main(void *arg_ms) {
  long ms = (long)(intptr_t)arg_ms;
  struct timespec interval = {ms / 1000, (ms % 1000) * 1000000L};
  for (;;) {
    nanosleep(&interval, NULL);
    if (send_frame(F_HEARTBEAT, 0, 0, NULL, 0) != 0) return NULL;
  }
}

static long env_long(const char *name, long fallback) {
  const char *v = getenv(name);
  return v && *v ? strtol(v, NULL, 10) : fallback;
}

static void start_thread(void *(*fn)(void *), void *arg) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1u << 20); /* plugins may recurse; 1 MB, not 8, counts against RLIMIT_AS */
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  if (pthread_create(&t, &attr, fn, arg) != 0) {
    send_frame(F_FATAL, 0, BW_ERR, "cannot start a host thread", 26);
    _exit(3);
  }
  pthread_attr_destroy(&attr);
}

static int inspect(const char *path) {
  const char *code;
  char message[1024];
  buf b = {0};
  if (load_plugin(path, &code, message, sizeof message) != 0) {
    buf_str(&b, "{\"error\":");
    buf_json_string(&b, code);
    buf_str(&b, ",\"message\":");
    buf_json_string(&b, message);
    buf_str(&b, "}\n");
  } else {
    descriptor_json(&b);
    buf_str(&b, "\n");
  }
  int fd = getenv("BW_HOST_FD") ? channel_fd : STDOUT_FILENO;
  if (write(fd, b.data, b.len) < 0) return 3;
  return strncmp(b.data, "{\"error\"", 8) == 0 ? 2 : 0;
}

int main(int argc, char **argv) {
  /* Die with the service, even when it is SIGKILLed; then make sure it had not died already. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  long parent = env_long("BW_PARENT_PID", 0);
  if (parent != 0 && getppid() != (pid_t)parent) return 1;
  channel_fd = (int)env_long("BW_HOST_FD", 3);
  signal(SIGPIPE, SIG_IGN);

  if (argc == 3 && strcmp(argv[1], "--inspect") == 0) return inspect(argv[2]);
  if (argc != 2) {
    fprintf(stderr, "usage: bw-plugin-host [--inspect] PATH\n");
    return 64;
  }
  /* Plugins print; keep their lines whole and in order even if the process dies. */
  setvbuf(stdout, NULL, _IOLBF, 0);

  long memory = env_long("BW_MEMORY_LIMIT", 0);
  if (memory > 0) {
    struct rlimit limit = {(rlim_t)memory, (rlim_t)memory};
    setrlimit(RLIMIT_AS, &limit);
  }

  const char *code;
  char message[1024];
  if (load_plugin(argv[1], &code, message, sizeof message) != 0) {
    buf b = {0};
    buf_str(&b, code);
    buf_add(&b, "", 1);
    buf_str(&b, message);
    send_frame(F_FATAL, 0, BW_ERR, b.data, b.len);
    return 2;
  }
  instance = calls->create(&host_api, sizeof host_api, NULL);
  if (instance == NULL) {
    const char fatal[] = "BW_ERR_NATIVE_CREATE\0create() returned NULL";
    send_frame(F_FATAL, 0, BW_ERR, fatal, sizeof fatal - 1);
    return 2;
  }
  buf ready = {0};
  descriptor_json(&ready);
  send_frame(F_READY, 0, 0, ready.data, ready.len);
  free(ready.data);

  start_thread(heartbeat_main, (void *)(intptr_t)env_long("BW_HEARTBEAT_MS", 500));
  long workers = env_long("BW_WORKERS", 4);
  for (long i = 0; i < (workers > 0 ? workers : 1); i++) start_thread(worker_main, NULL);

  start_thread(monitor_main, NULL);
  reader_main(new_reader(NULL, 0));
  return 0;
}

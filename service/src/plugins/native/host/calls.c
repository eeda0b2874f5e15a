/*
 * Calls into the plugin: running one (on a worker or inline on the reader), the worker threads and
 * their queue, and which kinds of call are quick enough to run inline.
 */
#define _GNU_SOURCE
#include "host.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bw_type_instance_plugin_ptr instance;

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

void count_run(uint8_t type, bool slow) {
  uint8_t left = __atomic_load_n(&slow_kind[type], __ATOMIC_RELAXED);
  if (slow) __atomic_store_n(&slow_kind[type], SLOW_RUNS, __ATOMIC_RELAXED);
  else if (left > 0) __atomic_store_n(&slow_kind[type], left - 1, __ATOMIC_RELAXED);
}

/* Whether a call of this kind runs inline on the reader: a kind that can be quick, not marked slow now. */
bool inline_kind(uint8_t type) {
  return (type == F_ENDPOINT || type == F_BEFORE || type == F_AFTER || type == F_HEALTH || type == F_WRITE) &&
         !__atomic_load_n(&slow_kind[type], __ATOMIC_RELAXED);
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

/*
 * An ENDPOINT call to process_endpoint_data_v2 (1.2), answered with a REPLY frame. The payload is
 * endpoint NUL method NUL body NUL, and the frame's status field holds the body's length: the body
 * may hold NULs.
 */
static void run_endpoint_v2(job *j) {
  const char *body = arg(j, 2);
  size_t room = (size_t)(j->payload + j->len - body);
  size_t body_len = j->status >= 0 && (size_t)j->status < room ? (size_t)j->status : strnlen(body, room);
  static const uint8_t empty[1];
  static __thread uint8_t space[16384]; /* the reply's body_host_ptr: a small answer needs no malloc */
  bw_type_endpoint_reply reply = {.struct_size = sizeof reply, .body_host_ptr = space, .body_host_capacity = sizeof space};
  int32_t status = calls->process_endpoint_data_v2(instance, arg(j, 0), arg(j, 1), body_len ? (const uint8_t *)body : empty,
                                                   body_len, &reply);
  buf b = {0};
  unsigned char http[4] = {(unsigned char)reply.http_status, (unsigned char)(reply.http_status >> 8),
                           (unsigned char)(reply.http_status >> 16), (unsigned char)(reply.http_status >> 24)};
  buf_add(&b, (const char *)http, 4);
  if (reply.content_type_plugin_ptr) buf_str(&b, reply.content_type_plugin_ptr);
  buf_add(&b, "", 1);
  const char *answer = reply.body_plugin_ptr ? reply.body_plugin_ptr
                       : reply.body_len <= sizeof space ? (const char *)space : NULL;
  if (answer && reply.body_len) buf_add(&b, answer, reply.body_len);
  send_frame(F_REPLY, j->id, status, b.data, b.len);
  free(b.data);
  if (reply.content_type_plugin_ptr) calls->free(reply.content_type_plugin_ptr);
  if (reply.body_plugin_ptr) calls->free(reply.body_plugin_ptr);
}

/* Runs one call and sends its RESULT; after SHUTDOWN the instance is destroyed and the process ends. */
void run_job(job *j) {
  char *out = NULL;
  int32_t status = BW_OK;
  int64_t started = now_ns();
  asked_service = false;
  switch (j->type) {
    case F_INIT:
      status = calls->initialize(instance, arg(j, 0), &out);
      break;
    case F_ENDPOINT:
      if (endpoint_v2) {
        run_endpoint_v2(j);
        count_run(j->type, asked_service || now_ns() - started > SLOW_NS);
        return;
      }
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

void *worker_main(void *unused) {
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

/* Queues a call for the workers, which free the job and its payload. */
void enqueue(uint8_t type, uint32_t id, int32_t status, char *payload, size_t len) {
  job *j = malloc(sizeof *j);
  if (j == NULL) abort();
  *j = (job){.type = type, .id = id, .status = status, .payload = payload, .len = len, .next = NULL};
  pthread_mutex_lock(&queue_lock);
  if (queue_tail) queue_tail->next = j; else queue_head = j;
  queue_tail = j;
  pthread_cond_signal(&queue_cond);
  pthread_mutex_unlock(&queue_lock);
}

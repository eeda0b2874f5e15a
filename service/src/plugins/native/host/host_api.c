/* The host API: what the plugin calls into the host (log, emit, emit_durable, state, commit, documents, emit_acknowledged). */
#define _GNU_SOURCE
#include "host.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile int host_gone; /* set once shutdown ran or the channel closed */
__thread bool asked_service; /* the running call made a host call that needed an answer */

/* A host call waiting for its answer; it lives on the waiting thread's stack. */
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

/* The reader got a HOST_ANSWER: hands it (and the payload's ownership) to the thread waiting for it. */
void answer_host_call(uint32_t id, int32_t status, char *payload, size_t len) {
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

/* The channel closed: no answer will come, so every waiting host call returns BW_ERR_HOST_GONE. */
void wake_all_host_calls(void) {
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

/* Readings committed (or refused, and then never stored) before it returns (ABI 1.2). */
static bw_type_status api_emit_acknowledged(bw_type_context_host_ptr ctx, const char *readings_json, char **out_error) {
  (void)ctx;
  if (readings_json == NULL) return BW_ERR;
  char *answer = NULL;
  int32_t status = host_roundtrip(HC_EMIT_ACKNOWLEDGED, readings_json, strlen(readings_json), &answer);
  if (status != BW_OK && out_error != NULL) { *out_error = answer; answer = NULL; }
  free(answer);
  return status;
}

static void api_free(void *ptr) { free(ptr); }

const bw_type_host_api host_api = {
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
    .emit_acknowledged = api_emit_acknowledged,
};

/*
 * What the files of bw-plugin-host share, and nothing else: everything file-local stays static in
 * its file. Private to this folder. main.c describes the process and lists the files. Each .c file
 * defines _GNU_SOURCE and includes this header before any other.
 */
#ifndef BW_PLUGIN_HOST_H
#define BW_PLUGIN_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "backworks_plugin.h"

/* The frame types and host-call kinds, mirrored in ../protocol.ts; main.c describes a frame. */
enum frame_type {
  /* service -> host */
  F_INIT = 1, F_ENDPOINT = 2, F_BEFORE = 3, F_AFTER = 4, F_HEALTH = 5, F_RELOAD = 6, F_WRITE = 7,
  F_SHUTDOWN = 8, F_HOST_ANSWER = 20,
  /* host -> service */
  F_READY = 64, F_RESULT = 65, F_HEARTBEAT = 66, F_LOG = 67, F_EMIT = 68, F_HOST_CALL = 69, F_FATAL = 70,
  F_REPLY = 71, /* an endpoint answer of process_endpoint_data_v2: i32 http status | content type NUL | body */
};
enum host_call_kind {
  HC_EMIT_DURABLE = 1, HC_STATE_GET = 2, HC_STATE_SET = 3, HC_COMMIT = 4, HC_DOCUMENTS_QUERY = 5, HC_DOCUMENT_STATUS = 6, HC_EMIT_ACKNOWLEDGED = 7
};

#define HEADER_SIZE 9 /* type, id, status: what follows the length */
#define MAX_FRAME (64u * 1024u * 1024u)

/* ---------- frames.c ---------- */

extern int channel_fd;
uint32_t get_u32(const unsigned char *p);
int send_frame(uint8_t type, uint32_t id, int32_t status, const char *payload, size_t len);
int read_full(void *into, size_t len);

/* ---------- buf.c ---------- */

typedef struct buf { char *data; size_t len, cap; } buf;

void buf_add(buf *b, const char *s, size_t n);
void buf_str(buf *b, const char *s);
void buf_fmt(buf *b, const char *fmt, ...);
void buf_json_string(buf *b, const char *s);

/* ---------- descriptor.c ---------- */

extern const bw_type_calls *calls;
extern bool endpoint_v2; /* the plugin has process_endpoint_data_v2 (1.2): endpoint calls go there */
int load_plugin(const char *path, const char **code, char *message, size_t message_size);
void descriptor_json(buf *b);
int inspect(const char *path);

/* ---------- host_api.c ---------- */

extern const bw_type_host_api host_api;
extern volatile int host_gone; /* set once shutdown ran or the channel closed */
extern __thread bool asked_service; /* the running call made a host call that needed an answer */
void answer_host_call(uint32_t id, int32_t status, char *payload, size_t len);
void wake_all_host_calls(void);

/* ---------- calls.c ---------- */

typedef struct job {
  uint8_t type;
  uint32_t id;
  int32_t status; /* the frame's status field: an ENDPOINT frame's body length */
  char *payload; /* NUL-terminated strings back to back; its last byte is a NUL */
  size_t len;
  struct job *next;
} job;

extern bw_type_instance_plugin_ptr instance;
void run_job(job *j);
void *worker_main(void *unused);
void enqueue(uint8_t type, uint32_t id, int32_t status, char *payload, size_t len);
void count_run(uint8_t type, bool slow);
bool inline_kind(uint8_t type);

/* ---------- reader.c ---------- */

typedef struct reader reader;
reader *new_reader(const unsigned char *unread, size_t len);
void *reader_main(void *arg_reader);
void *monitor_main(void *unused);
void leave_reader_role(void);

/* ---------- main.c ---------- */

void start_thread(void *(*fn)(void *), void *arg);

static inline int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

#endif

/*
 * The reader: reads frames from the channel, runs a quick call inline, queues the others to the
 * workers and hands HOST_ANSWERs to the waiting threads. A monitor thread takes the reader role
 * away from an inline call that runs too long (main.c tells the whole story).
 */
#define _GNU_SOURCE
#include "host.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Frames up to this size are read through the reader's buffer, several per read() when they queue. */
#define READ_BUF (64u * 1024u)
/* An inline call running longer than this (checked every TAKEOVER_NS / 2) loses the reader role. */
#define TAKEOVER_NS 2000000L
/* The monitor sleeps for good after this long without an inline call, until the next one. */
#define MONITOR_IDLE_NS 1000000000L

struct reader {
  unsigned char *buf;
  size_t start, end; /* unread bytes are buf[start, end) */
};

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

/* A reader whose buffer starts with `unread` (the bytes a previous reader had not used yet). */
reader *new_reader(const unsigned char *unread, size_t len) {
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

/* Called before waiting for the service: if this thread is the inline reader, another one takes over. */
void leave_reader_role(void) {
  if (!is_inline_reader) return;
  is_inline_reader = false;
  pthread_mutex_lock(&inline_lock);
  if (inline_state == INLINE_RUNNING) hand_over_locked();
  pthread_mutex_unlock(&inline_lock);
}

/* Wakes every TAKEOVER_NS / 2; an inline call that has run TAKEOVER_NS loses the reader role. Parks while idle. */
void *monitor_main(void *unused) {
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
static bool run_inline(reader *r, uint8_t type, uint32_t id, int32_t status, char *payload, size_t len) {
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
  job j = {.type = type, .id = id, .status = status, .payload = payload, .len = len};
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

/* Reads frames until the channel closes (then the process ends) or this thread loses the role. */
void *reader_main(void *arg_reader) {
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
      bool still_reader = run_inline(r, type, id, status, payload, len);
      free(owned);
      if (!still_reader) { free(r->buf); free(r); pthread_exit(NULL); } /* the main thread too: the process goes on */
    } else {
      /* a worker's payload always ends in a NUL, even a frame's that did not */
      enqueue(type, id, status, owned ? owned : copy_payload((unsigned char *)payload, len), len + 1);
    }
  }
  /* The service closed the channel: it is gone or wants us gone. */
  wake_all_host_calls();
  _exit(0);
}

/*
 * bw-plugin-host: runs one native plugin in its own process, so a crash, abort or endless loop
 * costs only that plugin. The service starts it, one per isolated plugin:
 *
 *     bw-plugin-host [NAME] PATH     run the plugin, speaking the frame protocol on fd BW_HOST_FD
 *                                    (NAME, the plugin's name in backworks.yaml, is there for ps)
 *     bw-plugin-host --inspect PATH  print the descriptor as JSON (to BW_HOST_FD, else stdout), exit
 *
 * Why C and not a Node child: ~1 MB instead of a V8 heap per plugin, microsecond round trips, and
 * prctl(PR_SET_PDEATHSIG), so the host dies with the service even when the service is SIGKILLed.
 *
 * Frames (little-endian), both directions: u32 length of what follows | u8 type | u32 id |
 * i32 status | payload. Multi-string payloads are NUL-terminated strings back to back; an ENDPOINT
 * frame's last string is the body as bytes, its length in the status field, and a plugin with
 * process_endpoint_data_v2 (ABI 1.2) answers it with a REPLY frame (calls.c). The types
 * are mirrored in ../protocol.ts. stdout and stderr are left to the plugin: the service turns
 * them into log lines tagged with the plugin's name.
 *
 * Threads: one reader thread reads frames. The main thread only waits: a process whose main
 * thread has exited shows as <defunct> in ps, without its command line. A call of a kind that has been
 * quick runs on the reader itself, inline: no hand-off to another thread, so a round trip costs
 * what a bare echo over the socket costs plus the plugin's own work. Other calls are queued to
 * BW_WORKERS worker threads. A monitor thread watches an inline call: one still running after
 * TAKEOVER_NS, or one that makes a host call needing an answer, loses the reader role to a new
 * reader thread (which gets the unread bytes), its kind is marked slow and goes to the workers
 * until a call of it is quick again; the old reader thread ends when its call returns. So a slow
 * or hung call never stops the others for more than a few milliseconds. One thread sends
 * heartbeats. Host API calls that need an answer (emit_durable, state) park the calling thread
 * until the reader receives the service's HOST_ANSWER with the same id.
 *
 * The files, one job each (host.h holds what they share):
 *
 *     main.c        startup: checks, limits, loading, the threads, heartbeats
 *     frames.c      the channel to the service: frames out (from any thread) and bytes in
 *     reader.c      the reader thread(s), inline calls and the monitor that takes the role over
 *     calls.c       calls into the plugin: running one, the workers, which kinds are slow
 *     host_api.c    the host API the plugin calls (log, emit, state, commit, documents)
 *     descriptor.c  loading the plugin library, its descriptor as JSON, --inspect
 *     buf.c         a growing text buffer, and JSON strings in it
 */
#define _GNU_SOURCE
#include "host.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* A HEARTBEAT frame every BW_HEARTBEAT_MS, so the service sees a host that has stopped answering. */
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

/* Starts a detached thread with a 1 MB stack; the host cannot go on without it, so failing is fatal. */
void start_thread(void *(*fn)(void *), void *arg) {
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

int main(int argc, char **argv) {
  /* Die with the service, even when it is SIGKILLed; then make sure it had not died already. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  long parent = env_long("BW_PARENT_PID", 0);
  if (parent != 0 && getppid() != (pid_t)parent) return 1;
  channel_fd = (int)env_long("BW_HOST_FD", 3);
  signal(SIGPIPE, SIG_IGN);

  if (argc == 3 && strcmp(argv[1], "--inspect") == 0) return inspect(argv[2]);
  /* Plugin names never begin with '-' (backworks.yaml's NAME_PATTERN). */
  if (argc != 2 && !(argc == 3 && argv[1][0] != '-')) {
    fprintf(stderr, "usage: bw-plugin-host [NAME] PATH | bw-plugin-host --inspect PATH\n");
    return 64;
  }
  const char *path = argv[argc - 1];
  /* Plugins print; keep their lines whole and in order even if the process dies. */
  setvbuf(stdout, NULL, _IOLBF, 0);

  long memory = env_long("BW_MEMORY_LIMIT", 0);
  if (memory > 0) {
    struct rlimit limit = {(rlim_t)memory, (rlim_t)memory};
    setrlimit(RLIMIT_AS, &limit);
  }

  const char *code;
  char message[1024];
  if (load_plugin(path, &code, message, sizeof message) != 0) {
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
  start_thread(reader_main, new_reader(NULL, 0));
  for (;;) pause(); /* a reader ends the process when the channel closes */
}

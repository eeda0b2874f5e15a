/*
 * abi-driver.c — drives libedi_plugin.so exactly the way the plugin host does: dlopen, the
 * descriptor's call table, create/initialize with a host API table, process_endpoint_data, the
 * plugin's own free. Host calls are answered in memory (state in a small table, durable emits
 * counted) so nothing but the plugin is measured or fuzzed.
 *
 *   abi-driver fuzz LIB COUNT SEED FIXTURE...   random and mutated inputs; prints a JSON summary
 *   abi-driver bench LIB FILE ITERATIONS ENDPOINT  prints {"bytes","seconds"} for ITERATIONS calls
 *
 * A crash of the plugin is a crash of this process: the test sees the signal.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backworks_plugin.h"

#define STATE_SLOTS 16
static char *state_keys[STATE_SLOTS], *state_values[STATE_SLOTS];
static int64_t durable_count;

static void host_log(bw_type_context_host_ptr ctx, bw_type_log_level level, const char *message) {
  (void)ctx, (void)level, (void)message;
}
static bw_type_status host_emit(bw_type_context_host_ptr ctx, const char *json) {
  (void)ctx, (void)json;
  return BW_OK;
}
static bw_type_status host_emit_durable(bw_type_context_host_ptr ctx, const char *json, int64_t *id, char **error) {
  (void)ctx, (void)error;
  if (json == NULL || json[0] != '{') return BW_ERR;
  *id = ++durable_count;
  return BW_OK;
}
static bw_type_status host_state_get(bw_type_context_host_ptr ctx, const char *key, char **out) {
  (void)ctx;
  for (int i = 0; i < STATE_SLOTS; i++)
    if (state_keys[i] && strcmp(state_keys[i], key) == 0) { *out = strdup(state_values[i]); return BW_OK; }
  return BW_NONE;
}
static bw_type_status host_state_set(bw_type_context_host_ptr ctx, const char *key, const char *value) {
  (void)ctx;
  for (int i = 0; i < STATE_SLOTS; i++) {
    if (state_keys[i] == NULL) state_keys[i] = strdup(key);
    if (strcmp(state_keys[i], key) == 0) { free(state_values[i]); state_values[i] = strdup(value); return BW_OK; }
  }
  return BW_ERR;
}
static void host_free(void *p) { free(p); }

static const bw_type_host_api host_api = {
  .struct_size = sizeof(bw_type_host_api), .log = host_log, .emit = host_emit, .emit_durable = host_emit_durable,
  .state_get = host_state_get, .state_set = host_state_set, .free = host_free,
};

static const char *CONFIG =
  "{\"trading_partners\":[{\"id\":\"WALMART\",\"formats\":[\"850\",\"855\",\"856\"]},"
  "{\"id\":\"AMAZON\",\"formats\":[\"850\",\"997\"]},{\"id\":\"TARGET\",\"formats\":[\"810\",\"856\"]}],"
  "\"interchange\":{\"id\":\"BACKWORKS\"}}";

static const bw_type_calls *calls;
static bw_type_instance_plugin_ptr instance;

static void open_plugin(const char *lib) {
  void *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!handle) { fprintf(stderr, "dlopen: %s\n", dlerror()); exit(2); }
  bw_plugin_descriptor_fn describe = (bw_plugin_descriptor_fn)dlsym(handle, BW_DESCRIPTOR_SYMBOL);
  if (!describe) { fprintf(stderr, "no %s\n", BW_DESCRIPTOR_SYMBOL); exit(2); }
  const bw_type_descriptor *d = describe();
  if (d->abi_major != BW_ABI_MAJOR || d->calls == NULL) { fprintf(stderr, "ABI mismatch\n"); exit(2); }
  calls = d->calls;
  instance = calls->create(&host_api, sizeof host_api, NULL);
  if (!instance) { fprintf(stderr, "create returned NULL\n"); exit(2); }
  char *error = NULL;
  if (calls->initialize(instance, CONFIG, &error) != BW_OK) { fprintf(stderr, "initialize: %s\n", error ? error : "?"); exit(2); }
  calls->free(error);
}

static int call(const char *endpoint, const char *data, size_t *out_len) {
  char *out = NULL;
  int status = calls->process_endpoint_data(instance, endpoint, "POST", data, &out);
  if (out_len) *out_len = out ? strlen(out) : 0;
  calls->free(out);
  return status;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(2); }
  buf[n] = 0;
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* xorshift64*: reproducible from the seed the test prints. */
static uint64_t rng;
static uint64_t next(void) {
  rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1DULL;
}
static size_t below(size_t n) { return n ? (size_t)(next() % n) : 0; }

static const char INTERESTING[] = "*~>^|:\n\r ISAGSTSEGEIEAHL0123456789";

/* One input into buf (capacity cap): random bytes, or a fixture with a few mutations. */
static size_t make_input(char *buf, size_t cap, char **fixtures, size_t *lens, int nfix) {
  size_t len;
  int kind = (int)below(10);
  if (kind == 0 || nfix == 0) {
    len = below(300);
    for (size_t i = 0; i < len; i++) buf[i] = (char)(below(4) ? INTERESTING[below(sizeof INTERESTING - 1)] : (char)(1 + below(255)));
  } else if (kind == 1) {
    /* A valid ISA followed by random segments. */
    const char *f = fixtures[below((size_t)nfix)];
    len = 106;
    memcpy(buf, f, len);
    size_t extra = below(400);
    for (size_t i = 0; i < extra; i++) buf[len++] = INTERESTING[below(sizeof INTERESTING - 1)];
  } else {
    size_t which = below((size_t)nfix);
    len = lens[which] < cap ? lens[which] : cap - 1;
    memcpy(buf, fixtures[which], len);
    int mutations = 1 + (int)below(8);
    for (int m = 0; m < mutations && len > 0; m++) {
      size_t at = below(len);
      switch (below(6)) {
        case 0: buf[at] = (char)(1 + below(255)); break;                         /* flip a byte */
        case 1: buf[at] = INTERESTING[below(sizeof INTERESTING - 1)]; break;      /* a separator */
        case 2: memmove(buf + at, buf + at + 1, len - at - 1); len--; break;      /* delete */
        case 3: if (len + 1 < cap) { memmove(buf + at + 1, buf + at, len - at); buf[at] = INTERESTING[below(sizeof INTERESTING - 1)]; len++; } break;
        case 4: len = at; break;                                                  /* truncate */
        case 5: {                                                                 /* duplicate a slice */
          size_t span = below(64), from = below(len);
          if (from + span > len) span = len - from;
          if (len + span < cap) { memmove(buf + at + span, buf + at, len - at); memcpy(buf + at, buf + from + (from >= at ? span : 0), span); len += span; }
          break;
        }
      }
    }
  }
  for (size_t i = 0; i < len; i++) if (buf[i] == 0) buf[i] = ' '; /* the ABI carries C strings */
  buf[len] = 0;
  return len;
}

static int fuzz(int argc, char **argv) {
  long count = atol(argv[3]);
  rng = strtoull(argv[4], NULL, 10) | 1;
  int nfix = argc - 5;
  char **fixtures = calloc((size_t)nfix + 1, sizeof *fixtures);
  size_t *lens = calloc((size_t)nfix + 1, sizeof *lens);
  for (int i = 0; i < nfix; i++) fixtures[i] = read_file(argv[5 + i], &lens[i]);
  size_t cap = 1 << 16;
  char *buf = malloc(cap);
  static const char *endpoints[] = {"/edi/x12/parse", "/edi/x12", "/edi/x12/outbound/855", "/edi/x12/outbound/856"};
  long by_status[4] = {0}; /* ok, none, client error, server error */
  long bytes = 0;
  for (long i = 0; i < count; i++) {
    int e = (int)below(10);
    const char *endpoint = e < 5 ? endpoints[0] : e < 9 ? endpoints[1] : endpoints[2 + below(2)];
    size_t len = make_input(buf, cap, fixtures, lens, nfix);
    bytes += (long)len;
    int status = call(endpoint, buf, NULL);
    if (status == BW_OK) by_status[0]++;
    else if (status == BW_NONE) by_status[1]++;
    else if (status <= -400 && status > -500) by_status[2]++;
    else by_status[3]++;
  }
  /* Outbound JSON, random and mutated. */
  static const char *json_seeds[] = {
    "{\"partner\":\"WALMART\",\"transaction\":{\"BAK\":{\"purpose_code\":\"00\",\"acknowledgment_type\":\"AC\",\"po_number\":\"1\",\"po_date\":\"20240301\"}}}",
    "{\"partner\":\"WALMART\",\"transaction\":{\"BSN\":{\"purpose_code\":\"00\",\"shipment_id\":\"S1\",\"date\":\"20240301\",\"time\":\"1200\"},\"HL_loop\":[{\"HL\":{\"level_code\":\"S\"},\"children\":[{\"HL\":{\"level_code\":\"O\"}}]}]}}",
  };
  long json_inputs = count / 10;
  for (long i = 0; i < json_inputs; i++) {
    const char *seed = json_seeds[below(2)];
    size_t len = strlen(seed);
    memcpy(buf, seed, len);
    for (int m = 0; m < 3; m++) buf[below(len)] = INTERESTING[below(sizeof INTERESTING - 1)];
    buf[len] = 0;
    int status = call(i % 2 ? "/edi/x12/outbound/855" : "/edi/x12/outbound/856", buf, NULL);
    if (status == BW_OK) by_status[0]++;
    else if (status <= -400 && status > -500) by_status[2]++;
    else by_status[3]++;
  }
  calls->shutdown(instance);
  calls->destroy(instance);
  printf("{\"inputs\":%ld,\"bytes\":%ld,\"ok\":%ld,\"none\":%ld,\"client_errors\":%ld,\"server_errors\":%ld,\"stored\":%lld}\n",
         count + json_inputs, bytes, by_status[0], by_status[1], by_status[2], by_status[3], (long long)durable_count);
  return 0;
}

static int bench(char **argv) {
  size_t len;
  char *doc = read_file(argv[3], &len);
  long iterations = atol(argv[4]);
  const char *endpoint = argv[5];
  size_t out_len = 0;
  if (call(endpoint, doc, &out_len) != BW_OK) { fprintf(stderr, "bench: %s refused the document\n", endpoint); return 1; }
  /* CPU time of this process as well as wall time: on a shared box the first does not move when
   * other processes take the cores. */
  struct timespec a, b, ca, cb;
  clock_gettime(CLOCK_MONOTONIC, &a);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
  for (long i = 0; i < iterations; i++) call(endpoint, doc, NULL);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double seconds = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  double cpu = (double)(cb.tv_sec - ca.tv_sec) + (double)(cb.tv_nsec - ca.tv_nsec) / 1e9;
  printf("{\"bytes\":%zu,\"iterations\":%ld,\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"output_bytes\":%zu}\n", len, iterations, seconds, cpu, out_len);
  calls->shutdown(instance);
  calls->destroy(instance);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "fuzz") == 0) { open_plugin(argv[2]); return fuzz(argc, argv); }
  if (argc == 6 && strcmp(argv[1], "bench") == 0) { open_plugin(argv[2]); return bench(argv); }
  fprintf(stderr, "usage: abi-driver fuzz LIB COUNT SEED FIXTURE... | bench LIB FILE ITERATIONS ENDPOINT\n");
  return 2;
}

/*
 * Fuzzes the HL7 plugin through its C ABI, as the plugin host calls it: dlopen, the descriptor's
 * call table, create, initialize, then process_endpoint_data on /hl7/parse and /hl7/fhir with
 * random and mutated inputs. A crash (signal) fails the test; every answer must be BW_OK or a
 * 4xx/5xx error status with a message.
 *
 *   fuzz LIBRARY ITERATIONS SEED FIXTURE...   prints {"runs":N,"ok":N,"errors":N}
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backworks_plugin.h"

static unsigned long long state;
static unsigned rnd(void) {
  state ^= state << 13; state ^= state >> 7; state ^= state << 17;
  return (unsigned)(state >> 11);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc(*len + 1);
  if (fread(data, 1, *len, f) != *len) exit(2);
  data[*len] = 0;
  fclose(f);
  return data;
}

static const char *tokens[] = {"|", "^", "~", "\\", "&", "\r", "\n", "\\F\\", "\\S\\", "\\X41\\", "\\X4\\", "\\", "MSH|^~\\&|",
                               "PID|", "OBX|1|NM|", "OBR|1|", "PV1|1|I|", "2.5", "ADT^A01", "ORU^R01", "|||||||||||",
                               "99999999999999999999", "-1e999", "NaN", "\xc3\x28", "\xff", "\\.br\\", "\\H\\"};

/* One input: random bytes, or a fixture with a few mutations. NUL-free (the ABI takes C strings). */
static size_t make_input(char *out, size_t cap, char **fixtures, size_t *lens, int nfix) {
  size_t len = 0;
  if (rnd() % 8 == 0) {
    len = rnd() % 512;
    for (size_t i = 0; i < len; i++) out[i] = (char)(rnd() % 255 + 1);
  } else {
    int f = (int)(rnd() % (unsigned)nfix);
    len = lens[f] < cap ? lens[f] : cap - 1;
    memcpy(out, fixtures[f], len);
    int mutations = 1 + (int)(rnd() % 6);
    for (int m = 0; m < mutations && len > 0; m++) {
      size_t at = rnd() % len;
      switch (rnd() % 6) {
        case 0: out[at] = (char)(rnd() % 255 + 1); break;                  /* replace a byte */
        case 1: memmove(out + at, out + at + 1, len - at - 1); len--; break; /* delete a byte */
        case 2: len = at; break;                                             /* truncate */
        case 3: {                                                            /* insert a token */
          const char *t = tokens[rnd() % (sizeof tokens / sizeof *tokens)];
          size_t tl = strlen(t);
          if (len + tl < cap) { memmove(out + at + tl, out + at, len - at); memcpy(out + at, t, tl); len += tl; }
          break;
        }
        case 4: {                                                            /* duplicate a span */
          size_t span = rnd() % 64;
          if (at + span <= len && len + span < cap) { memmove(out + at + span, out + at, len - at); len += span; }
          break;
        }
        default: out[at] = "|^~\\&\r"[rnd() % 6];                             /* a delimiter */
      }
    }
  }
  out[len] = 0;
  return len;
}

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: fuzz LIBRARY ITERATIONS SEED FIXTURE...\n"); return 64; }
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 2; }
  bw_plugin_descriptor_fn get = (bw_plugin_descriptor_fn)dlsym(lib, BW_DESCRIPTOR_SYMBOL);
  const bw_type_calls *calls = get()->calls;
  long iterations = atol(argv[2]);
  state = strtoull(argv[3], NULL, 10) | 1;
  int nfix = argc - 4;
  char **fixtures = malloc(sizeof(char *) * (size_t)nfix);
  size_t *lens = malloc(sizeof(size_t) * (size_t)nfix);
  for (int i = 0; i < nfix; i++) fixtures[i] = read_file(argv[4 + i], &lens[i]);

  /* No host table: the plugin runs endpoint-only, as in a bare harness. */
  bw_type_instance_plugin_ptr instance = calls->create(NULL, 0, NULL);
  char *error = NULL;
  if (calls->initialize(instance, "{}", &error) != BW_OK) { fprintf(stderr, "initialize: %s\n", error); return 3; }

  static char input[1 << 16];
  long ok = 0, errors = 0;
  for (long i = 0; i < iterations; i++) {
    make_input(input, sizeof input, fixtures, lens, nfix);
    char *out = NULL;
    const char *endpoint = (i & 1) ? "/hl7/fhir" : "/hl7/parse";
    bw_type_status status = calls->process_endpoint_data(instance, endpoint, "POST", input, &out);
    if (status == BW_OK) ok++;
    else if (status < 0 && out != NULL) errors++;
    else { fprintf(stderr, "unexpected status %d (out %s) for input %ld\n", status, out ? out : "NULL", i); return 4; }
    if (status == -500 || status == BW_ERR) { fprintf(stderr, "internal error for input %ld: %s\n", i, out); return 5; }
    calls->free(out);
  }
  calls->shutdown(instance);
  calls->destroy(instance);
  printf("{\"runs\":%ld,\"ok\":%ld,\"errors\":%ld}\n", iterations, ok, errors);
  return 0;
}

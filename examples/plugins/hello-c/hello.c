/*
 * hello-c: the my-plugin example written in plain C against sdk/c/backworks_plugin.h only.
 * GET or POST /my-feature answers {"message":"Hello from my plugin!"}; every other path is
 * "not mine". Build: cc -shared -fPIC -O2 -I../../../sdk/c hello.c -o libhello_c.so
 */
#include <stdlib.h>
#include <string.h>

#include "backworks_plugin.h"

typedef struct hello {
  const bw_type_host_api *host;
  bw_type_context_host_ptr ctx;
} hello;

static char *copy_string(const char *text) {
  size_t len = strlen(text) + 1;
  char *copy = malloc(len);
  if (copy != NULL) memcpy(copy, text, len);
  return copy;
}

static bw_type_instance_plugin_ptr hello_create(const bw_type_host_api *host, uint32_t host_size,
                                                bw_type_context_host_ptr ctx) {
  (void)host_size; /* log is in every 1.x table */
  hello *self = calloc(1, sizeof *self);
  if (self == NULL) return NULL;
  self->host = host;
  self->ctx = ctx;
  return self;
}

static bw_type_status hello_initialize(bw_type_instance_plugin_ptr instance, const char *config_json,
                                       char **out_error) {
  (void)config_json;
  (void)out_error;
  hello *self = instance;
  self->host->log(self->ctx, BW_LOG_INFO, "hello-c initialized");
  return BW_OK;
}

static bw_type_status hello_process(bw_type_instance_plugin_ptr instance, const char *endpoint,
                                    const char *method, const char *data, char **out) {
  (void)instance;
  (void)method;
  (void)data;
  if (strcmp(endpoint, "/my-feature") != 0) return BW_NONE;
  *out = copy_string("{\"message\":\"Hello from my plugin!\"}");
  return *out != NULL ? BW_OK : BW_ERR;
}

static void hello_shutdown(bw_type_instance_plugin_ptr instance) { (void)instance; }
static void hello_destroy(bw_type_instance_plugin_ptr instance) { free(instance); }
static void hello_free(void *ptr) { free(ptr); }

static const bw_type_calls hello_calls = {
    .struct_size = sizeof(bw_type_calls),
    .create = hello_create,
    .initialize = hello_initialize,
    .process_endpoint_data = hello_process,
    .shutdown = hello_shutdown,
    .destroy = hello_destroy,
    .free = hello_free,
};

static const bw_type_descriptor hello_descriptor = {
    .struct_size = sizeof(bw_type_descriptor),
    .abi_major = BW_ABI_MAJOR,
    .abi_minor = BW_ABI_MINOR,
    .name = "hello-c",
    .version = "1.0.0",
    .description = "The my-plugin example in plain C",
    .capabilities = BW_CAP_ENDPOINT,
    .config_schema_json = "{\"type\":\"object\"}",
    .calls = &hello_calls,
};

BW_PLUGIN_EXPORT const bw_type_descriptor *bw_plugin_descriptor(void) { return &hello_descriptor; }

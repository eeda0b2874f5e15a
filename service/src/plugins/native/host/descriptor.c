/* Loading the plugin library and checking its descriptor; the descriptor as JSON; --inspect. */
#define _GNU_SOURCE
#include "host.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const bw_type_descriptor *descriptor;
const bw_type_calls *calls;
bool endpoint_v2;

/* Loads the library and checks its descriptor; on failure writes a code and message and returns -1. */
int load_plugin(const char *path, const char **code, char *message, size_t message_size) {
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
  endpoint_v2 = BW_HAS_MEMBER(calls, bw_type_calls, process_endpoint_data_v2) && calls->process_endpoint_data_v2 != NULL;
  return 0;
}

void descriptor_json(buf *b) {
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

/* --inspect PATH: the descriptor, or why it cannot be loaded, as one line of JSON. Exits 0, 2 or 3. */
int inspect(const char *path) {
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

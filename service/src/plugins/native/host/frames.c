/* The channel to the service (fd BW_HOST_FD): length-prefixed frames out, bytes in. */
#define _GNU_SOURCE
#include "host.h"

#include <errno.h>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

int channel_fd = 3;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = (v >> 24) & 0xff;
}
uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Sends one frame atomically with respect to other threads. Returns 0, or -1 when the service is gone. */
int send_frame(uint8_t type, uint32_t id, int32_t status, const char *payload, size_t len) {
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

int read_full(void *into, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(channel_fd, (char *)into + got, len - got);
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    got += (size_t)n;
  }
  return 0;
}

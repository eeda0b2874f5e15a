/* The floor of an isolated call: reads whatever arrives on fd 3 and writes the same bytes back,
 * with no framing, no thread hand-off and no plugin. bench/native/run.mjs times it beside the host. */
#include <unistd.h>

int main(void) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(3, buf, sizeof buf);
    if (n <= 0) return 0;
    if (write(3, buf, (size_t)n) != n) return 1;
  }
}

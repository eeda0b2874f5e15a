import { defineConfig } from 'vitest/config';

// Many suites start real services, brokers and plugin hosts; on a loaded 2-core box a single
// step can take seconds. Timeouts bound a hang, they do not measure speed.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

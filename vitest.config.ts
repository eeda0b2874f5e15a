import { configDefaults, defineConfig } from 'vitest/config';

// Many suites start real services, brokers and plugin hosts; on a loaded 2-core box a single
// step can take seconds. Timeouts bound a hang, they do not measure speed.
//
// The .deb suite (test/deploy) builds both packages, debootstraps a Debian root and runs the arm64
// build under qemu: minutes of work that needs root and Debian's mirror. It runs with
// `npm run test:package`, not in `npm test`.
const packaging = process.env.BACKWORKS_PACKAGE_TESTS === '1';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    exclude: packaging ? configDefaults.exclude : [...configDefaults.exclude, 'test/deploy/**'],
  },
});

import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Dataset ledgers (lib/privacy/dataset-ledger.ts) of test runs go to a scratch home, never the user's ~/.dpzo: one per
// test file (test/helpers/dpzo-home.ts) under this root.
process.env.DPZO_TEST_HOME_ROOT ??= process.env.DPZO_HOME ?? join(tmpdir(), `dpzo-test-home-${process.pid}`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/dpzo-home.ts'],
    // the CLI tests run dist/cli/main.js: compile lib/ first when it changed (test/helpers/build-dist.ts)
    globalSetup: ['test/helpers/build-dist.ts'],
    pool: 'forks',
    // at least two test files at once: most of a file's time is a child process starting or a single-threaded JS path,
    // so on a 2-core machine (CI) two workers finish the suite in about three quarters of the time of vitest's default
    // there (cores - 1 = one worker)
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

import { tmpdir } from 'node:os';
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
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

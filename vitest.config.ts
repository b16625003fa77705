import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Dataset ledgers (lib/privacy/dataset-ledger.ts) of test runs go to a scratch home, never the user's ~/.dpzo.
process.env.DPZO_HOME ??= join(tmpdir(), `dpzo-test-home-${process.pid}`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

// Vitest setup file: each test file gets a dataset-ledger home of its own (under the run's scratch root,
// vitest.config.ts). With one home for the whole run, two files training on the same generated data at once
// contended for that file's dataset ledger, and the second run failed with ERR_LEDGER_LOCKED (exit 2), as two
// users' runs on one file at one time are meant to.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

process.env.DPZO_HOME = join(process.env.DPZO_TEST_HOME_ROOT!, randomUUID());

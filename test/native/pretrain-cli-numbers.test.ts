// `dpzo pretrain` reads --steps, --batch-size, --seed, --max-length and the intervals as integers, not
// as thread counts: before, anything above 1024 (and a --seed of 0, its own default) was refused as
// "an integer in [1, 1024]", so the demo model's recipe could not be given on the command line.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ROOT, dpzo } from '../helpers/cli.js';

describe('dpzo pretrain numbers', () => {
  it('accepts steps and batch sizes above 1024 and seed 0, and still refuses a non-integer', { timeout: 60_000 }, async () => {
    const model = join(ROOT, 'data', 'models', 'byte-llama');
    const missing = join(ROOT, 'no-such-dir', 'train.jsonl');
    const r = await dpzo('pretrain', '--model', model, '--data', missing, '--out', join(ROOT, 'no-such-dir', 'out'), '--steps', '5000', '--batch-size', '2048', '--seed', '0', '--eval-every', '1500', '--max-length', '2000');
    expect(r.status).toBe(2);
    // it got past the options to the data file
    expect(r.stderr).toMatch(/train\.jsonl/);
    expect(r.stderr).not.toMatch(/1024/);
    const bad = await dpzo('pretrain', '--model', model, '--data', missing, '--out', join(ROOT, 'no-such-dir', 'out'), '--steps', '1.5');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--steps.*must be an integer/);
  });
});

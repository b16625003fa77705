// `dpzo pretrain` reads --steps, --batch-size, --seed, --max-length and the intervals as integers, not
// as thread counts: before, anything above 1024 (and a --seed of 0, its own default) was refused as
// "an integer in [1, 1024]", so the demo model's recipe could not be given on the command line.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

  it('refuses 0 and negative counts naming the flag, and a run refused before its first step leaves no --out behind', { timeout: 60_000 }, async () => {
    const model = join(ROOT, 'data', 'models', 'byte-llama');
    const tmp = mkdtempSync(join(tmpdir(), 'dpzo-pretrain-numbers-'));
    try {
      const data = join(tmp, 'train.jsonl');
      writeFileSync(data, '{"text": "public words for a test"}\n');
      for (const [flag, v] of [
        ['--steps', '0'],
        ['--batch-size', '-3'],
        ['--max-length', '0'],
        ['--eval-every', '0'],
      ]) {
        const out = join(tmp, `out${flag}`);
        const r = await dpzo('pretrain', '--model', model, '--data', data, '--out', out, flag!, v!);
        expect(r.status, `${flag} ${v}`).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`${flag}.*must be a positive integer`));
        expect(existsSync(out), `${flag} ${v}`).toBe(false);
      }
      // refused inside pretrain (a learning rate below 0), after --out was made: it is removed again (it was left empty)
      const out = join(tmp, 'out-lr');
      const r = await dpzo('pretrain', '--model', model, '--data', data, '--out', out, '--steps', '2', '--lr', '-1');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/lr/);
      expect(existsSync(out)).toBe(false);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

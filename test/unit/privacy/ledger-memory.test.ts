// The ledger's storage seam: a memory ledger (API runs without a run directory) keeps the same
// lines as a file ledger and refuses at the same release with the same error, because both go
// through one BudgetCheck; nothing is written.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { DpzoError } from '../../../lib/errors.js';
import { DatasetLedger, PrivacyBudgetExceededError, PrivacyLedger, type ReleaseInput } from '../../../lib/privacy/index.js';

const rel = (step: number): ReleaseInput => ({ step, mechanism: 'laplace', sampleRate: 0.05, laplaceScale: 4, clip: 1, directions: 3 });

async function fillUntilRefused(l: PrivacyLedger): Promise<{ count: number; error: unknown }> {
  for (let i = 0; i < 10_000; i++) {
    try {
      await l.append(rel(i));
    } catch (error) {
      return { count: l.length, error };
    }
  }
  return { count: l.length, error: null };
}

describe('PrivacyLedger in memory', () => {
  it('refuses at the same release as a file ledger, with the one budget error, and chains the same hashes', async () => {
    const budget = { epsilon: 1, delta: 1e-5 };
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dpzo-ledger-mem-'));
    const file = await PrivacyLedger.open(path.join(dir, 'l.jsonl'), { budget, accountant: 'rdp' });
    const mem = PrivacyLedger.inMemory({ budget, accountant: 'rdp' });
    const a = await fillUntilRefused(file);
    const b = await fillUntilRefused(mem);
    await file.close();
    expect(a.count).toBeGreaterThan(1);
    expect(b.count).toBe(a.count);
    for (const e of [a.error, b.error]) {
      expect(e).toBeInstanceOf(PrivacyBudgetExceededError);
      expect(e).toBeInstanceOf(DpzoError);
      expect(e).toMatchObject({ code: 'ERR_BUDGET_EXCEEDED' });
    }
    expect(mem.wouldExceed(rel(b.count))).toBe(true);
    expect(mem.spent().epsilon).toBeLessThanOrEqual(1);
    expect(mem.spent()).toEqual(file.spent());
    // the same release lines (the header differs in its creation time, so the chains differ from line 1 on)
    expect(mem.entries.map(({ prevHash: _p, hash: _h, ...r }) => r)).toEqual(file.entries.map(({ prevHash: _p, hash: _h, ...r }) => r));
    expect(mem.path).toBe('(memory)');
    expect(await fsp.readdir(dir)).toEqual(['l.jsonl']);
  });

  it('a closed memory ledger refuses appends', async () => {
    const mem = PrivacyLedger.inMemory({ accountant: 'pld' });
    await mem.append(rel(0));
    await mem.close();
    await expect(mem.append(rel(1))).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringContaining('closed') });
  });
});

describe('ledger options', () => {
  it('a name that is not an option is ERR_ARGUMENT naming it (a misspelt budget enforced none; a misspelt readOnly opened for writing)', async () => {
    expect(() => PrivacyLedger.inMemory({ budgett: { epsilon: 1, delta: 1e-5 } } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('budgett') }),
    );
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dpzo-ledger-opts-'));
    const file = path.join(dir, 'ledger.jsonl');
    await expect(PrivacyLedger.open(file, { readonly: true } as never)).rejects.toMatchObject({
      code: 'ERR_ARGUMENT',
      message: expect.stringContaining('readonly'),
    });
    // nothing was created
    await expect(fsp.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(DatasetLedger.open('a'.repeat(64), { home: dir, budgett: { epsilon: 1, delta: 1e-5 } } as never)).rejects.toMatchObject({
      code: 'ERR_ARGUMENT',
      message: expect.stringContaining('budgett'),
    });
    await fsp.rm(dir, { recursive: true, force: true });
  });
});

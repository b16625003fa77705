// Mutation-found gap: a ledger that stopped following its own history (the budget check or an accountant not told
// of a stored release, or the check composing one release fewer) was caught only by the file-ledger test running
// on to its 1,000-append bound (minutes). Here, fast and in memory: the refusal comes at exactly the first release
// whose ε(δ) exceeds the budget, and both accountants rebuilt from the ledger equal fresh ones given its releases.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { DpzoError } from '../../../lib/errors.js';
import { PldAccountant, PrivacyLedger, RdpAccountant, type ReleaseInput } from '../../../lib/privacy/index.js';
import type { LedgerStore } from '../../../lib/privacy/ledger-store.js';
import { makeTempDir } from '../../helpers/checkpoints.js';

const tmp = makeTempDir('dpzo-ledger-mutants-');
afterAll(() => tmp.cleanup());

const sigma = 2;
const q = 0.05;
const rel = (step: number): ReleaseInput => ({ step, mechanism: 'gaussian', sampleRate: q, noiseMultiplier: sigma, clip: 1, directions: 2 });
const mech = { kind: 'gaussian' as const, sampleRate: q, noiseMultiplier: sigma };

describe('PrivacyLedger append path (mutants)', () => {
  it.each(['rdp', 'pld'] as const)('%s: refuses exactly the first release over the budget, within a bounded number of appends', async (kind) => {
    const budget = { epsilon: 1, delta: 1e-5 };
    const fresh = () => (kind === 'pld' ? new PldAccountant() : new RdpAccountant());
    let first = 1;
    while (fresh().step(mech, first).getEpsilon(budget.delta).epsilon <= budget.epsilon) first++;
    expect(first).toBeGreaterThan(3);
    expect(first).toBeLessThan(200);
    const l = PrivacyLedger.inMemory({ accountant: kind, budget });
    let refusedAt = -1;
    for (let i = 0; i < first + 20; i++) {
      const err = await l.append(rel(i)).then(
        () => null,
        (e: unknown) => e,
      );
      if (err) {
        expect((err as { code?: string }).code).toBe('ERR_BUDGET_EXCEEDED');
        refusedAt = i;
        break;
      }
    }
    expect(refusedAt).toBe(first - 1);
    expect(l.length).toBe(first - 1);
    // what it reports spent is what a fresh accountant of each kind gives the same releases
    const s = l.spent(budget.delta);
    expect(s.epsilon).toBeLessThanOrEqual(budget.epsilon);
    expect(l.accountant('rdp').getEpsilon(budget.delta).epsilon).toBe(new RdpAccountant().step(mech, first - 1).getEpsilon(budget.delta).epsilon);
    expect(l.accountant('pld').getEpsilon(budget.delta).epsilon).toBeCloseTo(new PldAccountant().step(mech, first - 1).getEpsilon(budget.delta).epsilon, 9);
    expect(l.epsilonAfter(rel(first - 1), budget.delta)).toBeCloseTo(fresh().step(mech, first).getEpsilon(budget.delta).epsilon, 9);
  });
});

describe('PrivacyLedger append order (mutant: the release recorded in memory before it is stored)', () => {
  // The file is the ledger: the trainer applies an update only after append() returns, and a resume, `dpzo account` and the
  // dataset ledger read the file. So a release enters the in-memory history (its length, head hash, accountants, budget check)
  // only once the store holds it durably. An append that fails (disk full, a read-only file system: ERR_IO) released
  // nothing — the caller applies no update — and must leave the ledger as it was, so the same step can be retried and the
  // file stays a verifiable chain. Recorded first, the ledger counted a release the file lacks, refused the retry as
  // a misnumbered step, and chained the next line to a line never written: the file no longer opened (ERR_LEDGER_CORRUPT).
  it('leaves the ledger as it was when the durable append fails, and the retried release chains onto the file', async () => {
    const file = join(tmp.dir, 'append-fails.jsonl');
    const l = await PrivacyLedger.open(file, { accountant: 'rdp', budget: { epsilon: 50, delta: 1e-5 } });
    await l.append(rel(0));
    await l.append(rel(1));
    const before = { length: l.length, head: l.head, spent: l.spent().epsilon, text: readFileSync(file, 'utf8') };

    // the store's contract: append stores the line durably or throws (AppendLog undoes a failed write)
    const store = (l as unknown as { store: LedgerStore }).store;
    const durable = store.append.bind(store);
    let full = true;
    (store as { append: (line: string) => void }).append = (line) => {
      if (full) throw new DpzoError('ERR_IO', `${file}: write failed after 0 of ${line.length + 1} bytes (ENOSPC); nothing further was written`);
      durable(line);
    };
    await expect(l.append(rel(2))).rejects.toMatchObject({ code: 'ERR_IO' });
    expect(l.length).toBe(before.length);
    expect(l.entries.map((e) => e.step)).toEqual([0, 1]);
    expect(l.head).toEqual(before.head);
    expect(l.spent().epsilon).toBe(before.spent);
    expect(readFileSync(file, 'utf8')).toBe(before.text);

    // the disk has room again: the same step is stored and counted once
    full = false;
    const entry = await l.append(rel(2));
    expect(entry.step).toBe(2);
    expect(l.length).toBe(3);
    const spent = l.spent().epsilon;
    expect(spent).toBeGreaterThan(before.spent);
    await l.close();
    const back = await PrivacyLedger.open(file, { readOnly: true });
    try {
      expect(back.entries.map((e) => e.step)).toEqual([0, 1, 2]);
      expect(back.head).toEqual({ length: 3, hash: entry.hash });
      expect(back.spent().epsilon).toBe(spent);
    } finally {
      await back.close();
    }
  });
});

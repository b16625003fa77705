// Mutation-found gap: a ledger that stopped following its own history (the budget check or an accountant not told
// of a stored release, or the check composing one release fewer) was caught only by the file-ledger test running
// on to its 1,000-append bound (minutes). Here, fast and in memory: the refusal comes at exactly the first release
// whose ε(δ) exceeds the budget, and both accountants rebuilt from the ledger equal fresh ones given its releases.
import { describe, expect, it } from 'vitest';

import { PldAccountant, PrivacyLedger, RdpAccountant, type ReleaseInput } from '../../../lib/privacy/index.js';

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

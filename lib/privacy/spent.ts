// defines: ε spent — by a history of releases (the ledger's, `dpzo account`'s T releases of one mechanism,
// a plan's T identical steps) under each accountant: PLD (tight, the default), RDP, and pure ε when every
// release is Laplace. The one place ε of a history is computed outside the accountants themselves.
import { PldAccountant, RdpAccountant, type AccountantKind } from './accountant.js';
import { type HistoryEntry, type Mechanism, stepRdpAt } from './mechanism.js';
import { DP_ACCOUNTING_ORDERS } from './orders.js';
import { pureEpsilon } from './pure.js';
import { epsilonFromRdp } from './rdp.js';

/** What PrivacyLedger.spent reports: ε by the ledger's accountant, with both accountants' values. */
export interface SpentResult {
  epsilon: number;
  delta: number;
  accountant: AccountantKind;
  pld?: { epsilon: number; interval?: number };
  rdp?: { epsilon: number; order?: number };
  /** Pure ε (basic composition) when every release is Laplace. */
  pure?: number;
}

/** ε spent as a training report states it: both accountants at the budget's δ (and pure ε for Laplace). */
export interface Spent {
  delta: number;
  pld: number;
  rdp: number;
  rdpOrder?: number;
  /** Laplace only: pure ε by amplification + basic composition. */
  pure?: number;
}

/** SpentResult of the accountants' common history at δ. */
export function spentOf(rdp: RdpAccountant, pld: PldAccountant, delta: number, kind: AccountantKind): SpentResult {
  const r = rdp.getEpsilon(delta);
  const p = pld.getEpsilon(delta);
  const out: SpentResult = {
    epsilon: kind === 'pld' ? p.epsilon : r.epsilon,
    delta,
    accountant: kind,
    pld: { epsilon: p.epsilon, interval: p.interval },
    rdp: { epsilon: r.epsilon, order: r.order },
  };
  const pure = pureEpsilon(rdp.history);
  if (rdp.steps > 0 && Number.isFinite(pure)) out.pure = pure;
  return out;
}

/** A SpentResult as a training report states it (no releases: ε = 0 by both accountants). */
export function spentReport(s: SpentResult, releases: number): Spent {
  if (releases === 0) return { delta: s.delta, pld: 0, rdp: 0 };
  return { delta: s.delta, pld: s.pld!.epsilon, rdp: s.rdp!.epsilon, rdpOrder: s.rdp!.order, ...(s.pure !== undefined ? { pure: s.pure } : {}) };
}

/** ε at δ after `steps` identical releases of `m`, by one accountant. */
export function epsilonOfSteps(m: Mechanism, steps: number, delta: number, accountant: AccountantKind): number {
  const acc = accountant === 'pld' ? new PldAccountant() : new RdpAccountant();
  if (steps > 0) acc.step(m, steps);
  return acc.getEpsilon(delta).epsilon;
}

/** ε by RDP after t identical releases: the per-order RDP of one step is computed once, then scaled by t. */
export function rdpTracker(m: Mechanism, delta: number): (steps: number) => number {
  const orders = DP_ACCOUNTING_ORDERS;
  const one = Float64Array.from(orders, (a) => stepRdpAt(m, a));
  return (steps) =>
    steps === 0
      ? 0
      : epsilonFromRdp(
          orders,
          one.map((r) => r * steps),
          delta,
        ).epsilon;
}

export type AccountantChoice = 'rdp' | 'pld' | 'all';

export interface AccountResult {
  accountant: 'rdp' | 'pld' | 'pure';
  epsilon: number;
  order?: number;
  interval?: number;
}

/** ε(δ) of a history under the chosen accountants (PLD first: it is the tight, default one; `all` adds pure ε for Laplace). */
export function accountHistory(history: readonly HistoryEntry[], delta: number, which: AccountantChoice, interval?: number): AccountResult[] {
  const out: AccountResult[] = [];
  if (which === 'pld' || which === 'all') {
    const a = new PldAccountant(interval === undefined ? {} : { interval });
    for (const h of history) a.step(h.mechanism, h.times);
    const r = a.getEpsilon(delta);
    out.push({ accountant: 'pld', epsilon: r.epsilon, ...(r.interval !== undefined ? { interval: r.interval } : {}) });
  }
  if (which === 'rdp' || which === 'all') {
    const a = new RdpAccountant();
    for (const h of history) a.step(h.mechanism, h.times);
    const r = a.getEpsilon(delta);
    out.push({ accountant: 'rdp', epsilon: r.epsilon, order: r.order });
  }
  const pure = history.length > 0 ? pureEpsilon(history) : Infinity;
  if (which === 'all' && Number.isFinite(pure)) out.push({ accountant: 'pure', epsilon: pure });
  return out;
}

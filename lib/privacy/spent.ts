// defines: ε spent — by a history of releases (the ledger's, `dpzo account`'s T releases of one mechanism,
// a plan's T identical steps) under each accountant: PLD (tight, the default), RDP, and pure ε when every
// release is Laplace. The one place ε of a history is computed outside the accountants themselves.
import { ACCOUNTANT_KINDS, PldAccountant, RdpAccountant, type AccountantKind, type AccountantName } from './accountant.js';
import { accountantNamed } from './accountant-name.js';
import { type HistoryEntry, type Mechanism, stepRdpAt } from './mechanism.js';
import { checkSteps } from './errors.js';
import { DP_ACCOUNTING_ORDERS } from './orders.js';
import { pureEpsilon } from './pure.js';
import type { ComposedPld } from './pld.js';
import { epsilonFromRdp } from './rdp.js';

/**
 * What PrivacyLedger.spent reports: ε by the ledger's accountant, with both accountants' values. With no releases every ε is 0,
 * and neither `pld.interval` nor `rdp.order` is present (no loss grid was used, no order converted), nor `pure`.
 */
export interface SpentResult {
  /** ε by the ledger's accountant (`accountant`) at `delta`. */
  epsilon: number;
  /** The δ it was computed at. */
  delta: number;
  /** The accountant that enforces the budget. */
  accountant: AccountantKind;
  /** ε by PLD, and the loss grid interval it used (absent with no releases, or when no grid could hold the history). */
  pld?: { epsilon: number; interval?: number };
  /** ε by RDP, and the order of the tightest conversion (absent with no releases). */
  rdp?: { epsilon: number; order?: number };
  /** Pure ε (basic composition) when every release is Laplace. */
  pure?: number;
}

/** ε spent as a training report states it: both accountants at the budget's δ (and pure ε for Laplace). */
export interface Spent {
  /** The δ ε is stated at (the budget's). */
  delta: number;
  /** ε by PLD (tight). */
  pld: number;
  /** ε by RDP (an upper bound, looser). */
  rdp: number;
  /** The Rényi order of RDP's tightest conversion. */
  rdpOrder?: number;
  /** Laplace only: pure ε by amplification + basic composition. */
  pure?: number;
}

/** SpentResult of the accountants' common history at δ. */
export function spentOf(rdp: RdpAccountant, pld: PldAccountant, delta: number, kind: AccountantKind): SpentResult {
  // nothing released, nothing spent: the accountants' empty answers read rdp.order NaN (a minimum over no conversion) and
  // pld.interval undefined, which a reader had to tell apart from a history no grid could hold
  if (rdp.steps === 0 && pld.steps === 0) return { epsilon: 0, delta, accountant: kind, pld: { epsilon: 0 }, rdp: { epsilon: 0 } };
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

/** ε at δ after `steps` identical releases of `m`, by one accountant (`'prv'`: the PLD's). */
export function epsilonOfSteps(m: Mechanism, steps: number, delta: number, accountant: AccountantName): number {
  // (-5 answered ε = 0)
  checkSteps(steps, 'steps');
  // any name but 'pld' was RDP: 'prv', Opacus' name for the PLD accounting, answered the looser RDP ε
  const acc = accountantNamed(accountant, ACCOUNTANT_KINDS, 'accountant') === 'pld' ? new PldAccountant() : new RdpAccountant();
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

/**
 * Which accountants {@link accountHistory} runs: one (`'prv'`, Opacus' name for the PLD accounting, is `'pld'`), or `'all'` (PLD, RDP, and pure ε
 * for a Laplace-only history).
 */
export type AccountantChoice = 'rdp' | 'pld' | 'prv' | 'all';

const ACCOUNTANT_CHOICES: readonly Exclude<AccountantChoice, 'prv'>[] = ['pld', 'rdp', 'all'];

/** ε by one accountant, as {@link accountHistory} reports it. */
export interface AccountResult {
  /** The accountant. */
  accountant: 'rdp' | 'pld' | 'pure';
  /** ε at the requested δ. */
  epsilon: number;
  /** RDP: the order of the tightest conversion. */
  order?: number;
  /** PLD: the loss grid interval used (absent when no grid could hold the history). */
  interval?: number;
  /** PLD: `'rdp'` or `'pure'` when that smaller valid bound of the same history is reported instead of the PLD's own (see PldAccountant.getEpsilon). */
  bound?: 'rdp' | 'pure';
  /**
   * PLD, only when δ is below the composed probability mass at ε = ∞ (the truncated tails, counted pessimistically): the
   * PLD itself then has no finite ε at this δ (ε is Infinity, or the RDP bound with `bound: 'rdp'`).
   */
  infinityMass?: number;
}

/** The larger of the two directions' masses at ε = +∞: δ below it has no finite PLD ε. */
function pldInfinityMass(c: ComposedPld): number {
  return Math.max(c.remove.infinityMass, c.add?.infinityMass ?? 0);
}

/** ε(δ) of a history under the chosen accountants (PLD first: it is the tight, default one; `all` adds pure ε for Laplace). */
export function accountHistory(history: readonly HistoryEntry[], delta: number, choice: AccountantChoice, interval?: number): AccountResult[] {
  // 'prv' (or a misspelt name) ran no accountant and answered [] in silence
  const which = accountantNamed(choice, ACCOUNTANT_CHOICES, 'accountant');
  const out: AccountResult[] = [];
  if (which === 'pld' || which === 'all') {
    const a = new PldAccountant(interval === undefined ? {} : { interval });
    for (const h of history) a.step(h.mechanism, h.times);
    const r = a.getEpsilon(delta);
    // δ below the PLD's mass at +∞ (its truncated tails): no finite PLD ε of its own (say so, it is not a release without noise)
    const c = r.interval !== undefined ? a.pld() : null;
    const mass = c && !(pldInfinityMass(c) <= delta) ? { infinityMass: pldInfinityMass(c) } : {};
    const bound = r.bound === 'rdp' || r.bound === 'pure' ? { bound: r.bound } : {};
    out.push({ accountant: 'pld', epsilon: r.epsilon, ...(r.interval !== undefined ? { interval: r.interval } : {}), ...bound, ...mass });
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

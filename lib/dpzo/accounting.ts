// defines: the trainer's view of privacy accounting (lib/privacy): noise
// calibration, the release ledger (a file in a run directory, or in memory for
// API runs without one), and ε spent by PLD and RDP (plus pure ε for Laplace).
import { DpzoError } from '../errors.js';
import { PldAccountant, RdpAccountant } from '../privacy/accountant.js';
import { calibrateNoise, maxSteps } from '../privacy/calibrate.js';
import { PrivacyLedger } from '../privacy/ledger.js';
import { DP_ACCOUNTING_ORDERS } from '../privacy/orders.js';
import { epsilonFromRdp, rdpSubsampledGaussian } from '../privacy/rdp.js';
import { rdpSubsampledLaplace } from '../privacy/rdp-laplace.js';

import type { AccountantKind, Budget } from '../privacy/index.js';
export type { AccountantKind, Budget };
/** Which noise the release uses (the privacy layer's Mechanism also carries its parameters). */
export type MechanismKind = 'gaussian' | 'laplace';
type Mechanism = MechanismKind;

/** One step's release, as the ledger records it. */
export interface Release {
  step: number;
  mechanism: Mechanism;
  sampleRate: number;
  noiseMultiplier?: number;
  laplaceScale?: number;
  clip: number;
  directions: number;
}


export interface NoisePlan {
  mechanism: Mechanism;
  sampleRate: number;
  steps: number;
  clip: number;
  noiseMultiplier?: number;
  laplaceScale?: number;
  /** ε the accountant predicts after all steps. */
  epsilon: number;
}

export interface ReleaseLedger {
  readonly count: number;
  wouldExceed(r: Release): boolean;
  append(r: Release): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface Spent {
  delta: number;
  pld: number;
  rdp: number;
  rdpOrder?: number;
  /** Laplace only: pure ε by amplification + basic composition. */
  pure?: number;
}

type AccountantEvent =
  | { kind: 'gaussian'; sampleRate: number; noiseMultiplier: number }
  | { kind: 'laplace'; sampleRate: number; clip: number; scale: number };

function event(r: Pick<Release, 'mechanism' | 'sampleRate' | 'noiseMultiplier' | 'laplaceScale' | 'clip'>): AccountantEvent {
  return r.mechanism === 'gaussian'
    ? { kind: 'gaussian', sampleRate: r.sampleRate, noiseMultiplier: r.noiseMultiplier! }
    : { kind: 'laplace', sampleRate: r.sampleRate, clip: r.clip, scale: r.laplaceScale! };
}

/** σ (or b) reaching `budget` after `steps` steps at rate q, by bisection on the accountant. */
export function calibrate(budget: Budget, p: { mechanism: Mechanism; sampleRate: number; steps: number; clip: number; accountant: AccountantKind }): NoisePlan {
  let r: { noiseMultiplier?: number; laplaceScale?: number; epsilon: number };
  try {
    r = calibrateNoise({ epsilon: budget.epsilon, delta: budget.delta, sampleRate: p.sampleRate, steps: p.steps, mechanism: p.mechanism, accountant: p.accountant, clip: p.clip });
  } catch (e) {
    throw new DpzoError('ERR_BUDGET_IMPOSSIBLE', `no noise level reaches ε = ${budget.epsilon}, δ = ${budget.delta} in ${p.steps} steps at sampling rate ${p.sampleRate.toPrecision(3)}: ${(e as Error).message}`);
  }
  const scale = p.mechanism === 'gaussian' ? r.noiseMultiplier : r.laplaceScale;
  if (scale === undefined || !Number.isFinite(scale) || scale <= 0) {
    throw new DpzoError('ERR_BUDGET_IMPOSSIBLE', `no noise level reaches ε = ${budget.epsilon}, δ = ${budget.delta} in ${p.steps} steps at sampling rate ${p.sampleRate.toPrecision(3)}`);
  }
  return { mechanism: p.mechanism, sampleRate: p.sampleRate, steps: p.steps, clip: p.clip, noiseMultiplier: r.noiseMultiplier, laplaceScale: r.laplaceScale, epsilon: r.epsilon };
}

/** ε at `delta` after `steps` identical releases of `plan` (for an explicitly given noise level). */
export function epsilonOf(plan: Omit<NoisePlan, 'epsilon'>, delta: number, accountant: AccountantKind): number {
  const acc = accountant === 'pld' ? new PldAccountant() : new RdpAccountant();
  if (plan.steps > 0) acc.step(event({ ...plan }), plan.steps);
  return acc.getEpsilon(delta).epsilon;
}

/**
 * wouldExceed for a run's releases, which are all identical: the affordable count is found
 * once by bisection on the accountant (composing T steps per check would cost a PLD per step).
 */
function budgetGuard(budget: Budget, accountant: AccountantKind, plannedSteps: number, entries: () => readonly Release[]): (r: Release) => boolean {
  // for one signature: `max` releases fit (exact: max + 1 do not; else max is a lower bound)
  let known: { sig: string; max: number; exact: boolean } | null = null;
  let uniformUpTo = 0;
  let uniformSig: string | null = null;
  return (r) => {
    const sig = signature(r);
    const all = entries();
    if (uniformSig === null && all.length > 0) uniformSig = signature(all[0]!);
    while (uniformUpTo < all.length && uniformSig !== null && signature(all[uniformUpTo]!) === uniformSig) uniformUpTo++;
    const uniform = uniformUpTo === all.length && (uniformSig === null || uniformSig === sig);
    if (!uniform) return epsilonOfEntries([...all, r], budget.delta, accountant) > budget.epsilon;
    for (;;) {
      if (known === null || known.sig !== sig) {
        const limit = Math.max(plannedSteps, all.length) + 1;
        const max = maxSteps({ epsilon: budget.epsilon, delta: budget.delta, sampleRate: r.sampleRate, mechanism: r.mechanism, noiseMultiplier: r.noiseMultiplier, laplaceScale: r.laplaceScale, clip: r.clip, accountant, limit }).steps;
        known = { sig, max, exact: max < limit };
      }
      if (all.length + 1 <= known.max) return false;
      if (known.exact) return true;
      known = null;
      plannedSteps = 2 * Math.max(plannedSteps, all.length + 1);
    }
  };
}

/** The file ledger of a run directory (lib/privacy's PrivacyLedger: hash-chained, fsynced lines). */
export async function openFileLedger(path: string, budget: Budget, accountant: AccountantKind, plannedSteps: number, create: boolean, repairTornTail = false): Promise<ReleaseLedger & { entries(): Release[] }> {
  const ledger = await PrivacyLedger.open(path, { budget, accountant, create, repairTornTail });
  const entries = () => ledger.entries as readonly Release[];
  return {
    get count() {
      return ledger.length;
    },
    wouldExceed: budgetGuard(budget, accountant, plannedSteps, entries),
    append: async (r) => {
      await ledger.append(r);
    },
    entries: () => entries().map((e) => ({ step: e.step, mechanism: e.mechanism, sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier, laplaceScale: e.laplaceScale, clip: e.clip, directions: e.directions })),
    close: () => ledger.close(),
  };
}

function signature(r: Release): string {
  return JSON.stringify(event(r));
}

/** A ledger in memory for API runs without a run directory: same budget rule, nothing written. */
export function memoryLedger(budget: Budget, accountant: AccountantKind, plannedSteps: number): ReleaseLedger & { entries(): Release[] } {
  const entries: Release[] = [];
  const exceeds = budgetGuard(budget, accountant, plannedSteps, () => entries);
  return {
    get count() {
      return entries.length;
    },
    wouldExceed: exceeds,
    append: (r) => {
      if (exceeds(r)) throw new DpzoError('ERR_BUDGET_EXCEEDED', `step ${r.step} would exceed ε = ${budget.epsilon}`);
      entries.push({ ...r });
    },
    entries: () => entries.map((e) => ({ ...e })),
  };
}

/** Groups identical consecutive releases so accountants compose them as `times`. */
function compose(entries: Release[], acc: { step(e: AccountantEvent, times: number): unknown }): void {
  let i = 0;
  while (i < entries.length) {
    const e = event(entries[i]!);
    let j = i + 1;
    while (j < entries.length && JSON.stringify(event(entries[j]!)) === JSON.stringify(e)) j++;
    acc.step(e, j - i);
    i = j;
  }
}

function epsilonOfEntries(entries: Release[], delta: number, accountant: AccountantKind): number {
  if (entries.length === 0) return 0;
  const acc = accountant === 'pld' ? new PldAccountant() : new RdpAccountant();
  compose(entries, acc);
  return acc.getEpsilon(delta).epsilon;
}

/** ε spent by the releases, by both accountants (and pure ε for Laplace). */
export function spent(entries: Release[], delta: number): Spent {
  if (entries.length === 0) return { delta, pld: 0, rdp: 0 };
  const pld = new PldAccountant();
  const rdp = new RdpAccountant();
  compose(entries, pld);
  compose(entries, rdp);
  const r = rdp.getEpsilon(delta);
  const out: Spent = { delta, pld: pld.getEpsilon(delta).epsilon, rdp: r.epsilon, rdpOrder: r.order };
  if (entries.every((e) => e.mechanism === 'laplace')) {
    // pure ε: per step ε0 = C/b amplified to log(1 + q(e^ε0 − 1)) (Balle et al. 2018), composed by summation
    out.pure = entries.reduce((s, e) => s + Math.log1p(e.sampleRate * Math.expm1(e.clip / e.laplaceScale!)), 0);
  }
  return out;
}

/** ε by RDP after t identical releases: the per-order RDP of one step is computed once, then scaled by t. */
export function rdpTracker(p: { mechanism: Mechanism; sampleRate: number; clip: number; noiseMultiplier?: number; laplaceScale?: number }, delta: number): (steps: number) => number {
  const orders = DP_ACCOUNTING_ORDERS;
  const one = Float64Array.from(orders, (a) =>
    p.mechanism === 'gaussian' ? rdpSubsampledGaussian(p.sampleRate, p.noiseMultiplier!, a) : rdpSubsampledLaplace(p.sampleRate, p.clip / p.laplaceScale!, a),
  );
  return (steps) => (steps === 0 ? 0 : epsilonFromRdp(orders, one.map((r) => r * steps), delta).epsilon);
}

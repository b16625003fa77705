// defines: the trainer's view of privacy accounting (lib/privacy): noise
// calibration, the release ledger (a file in a run directory, or in memory for
// API runs without one), and ε spent by PLD and RDP (plus pure ε for Laplace).
import { DpzoError } from '../errors.js';
import { PldAccountant, RdpAccountant } from '../privacy/accountant.js';
import { calibrateNoise, maxSteps } from '../privacy/calibrate.js';

export type Mechanism = 'gaussian' | 'laplace';
export type AccountantKind = 'pld' | 'rdp';

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

export interface Budget {
  epsilon: number;
  delta: number;
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
  close?(): void;
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

interface PrivacyLedgerLike {
  readonly entries: Release[];
  wouldExceed(r: Release): boolean;
  append(r: Release): void;
  close?(): void;
}

/** The file ledger of a run directory (lib/privacy's PrivacyLedger: hash-chained, fsynced lines). */
export async function openFileLedger(path: string, budget: Budget, accountant: AccountantKind, create: boolean): Promise<ReleaseLedger & { entries(): Release[] }> {
  const spec = '../privacy/ledger.js';
  const mod = (await import(spec)) as { PrivacyLedger: { open(path: string, o: { budget: Budget; accountant: AccountantKind; create: boolean }): PrivacyLedgerLike } };
  const ledger = mod.PrivacyLedger.open(path, { budget, accountant, create });
  return {
    get count() {
      return ledger.entries.length;
    },
    wouldExceed: (r) => ledger.wouldExceed(r),
    append: (r) => ledger.append(r),
    entries: () => ledger.entries.map((e) => ({ ...e })),
    close: () => ledger.close?.(),
  };
}

function signature(r: Release): string {
  return JSON.stringify(event(r));
}

/** A ledger in memory for API runs without a run directory: same budget rule, nothing written. */
export function memoryLedger(budget: Budget, accountant: AccountantKind): ReleaseLedger & { entries(): Release[] } {
  const entries: Release[] = [];
  // all releases of a run are identical: the affordable count is found once (bisection on the accountant)
  const affordable = new Map<string, number>();
  const exceeds = (r: Release): boolean => {
    const sig = signature(r);
    if (entries.every((e) => signature(e) === sig)) {
      let max = affordable.get(sig);
      if (max === undefined) {
        max = maxSteps({ epsilon: budget.epsilon, delta: budget.delta, sampleRate: r.sampleRate, mechanism: r.mechanism, noiseMultiplier: r.noiseMultiplier, laplaceScale: r.laplaceScale, clip: r.clip, accountant }).steps;
        affordable.set(sig, max);
      }
      return entries.length + 1 > max;
    }
    return epsilonOfEntries([...entries, r], budget.delta, accountant) > budget.epsilon;
  };
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

// defines: RdpAccountant, PldAccountant — stateful accountants over a compressed history of (mechanism, times);
// the analysis they call is pure (rdp.ts, rdp-laplace.ts, pld.ts), as in Opacus and dp_accounting.

import { accountantNamed } from './accountant-name.js';
import { argumentError, checkDelta, checkEpsilon, checkSteps, PrivacyError } from './errors.js';
import { checkMechanism, mechanismKey, pushHistory, stepRdpAt, type HistoryEntry, type Mechanism } from './mechanism.js';
import { DP_ACCOUNTING_ORDERS } from './orders.js';
import { deltaFromRdp, epsilonFromRdp, type RdpConversion } from './rdp.js';
import { checkOrders } from './errors.js';
import { pureEpsilon } from './pure.js';
import { composeHistory, PldGridError, pldDelta, pldEpsilon, resolvePldOptions, type ComposedPld, type PldOptions, type ResolvedPldOptions } from './pld.js';

/** ε spent, as an accountant's getEpsilon(δ) reports it. */
export interface EpsilonResult {
  /** ε (≥ 0; Infinity when no finite ε holds at this δ). */
  epsilon: number;
  /** RDP only: the Rényi order at which the conversion is tightest (absent for an empty history). */
  order?: number;
}

/**
 * Which bound a PLD accountant's answer is: its own (`'pld'`), or a smaller valid bound of the same history that it reports
 * instead — the RDP bound (`'rdp'`, where the loss grid is too coarse for the per-step losses: very many steps with tiny
 * losses, or a history no grid can hold) or the pure ε of a Laplace-only history (`'pure'`).
 */
export type PldBound = 'pld' | 'rdp' | 'pure';

/** δ at a given ε, as an accountant's getDelta(ε) reports it. */
export interface DeltaResult {
  /** δ in [0, 1]. */
  delta: number;
  /** RDP only: the Rényi order at which the conversion is tightest (absent for an empty history). */
  order?: number;
}

function parseHistory(h: unknown): HistoryEntry[] {
  if (!Array.isArray(h)) throw argumentError('history', h, 'an array of { mechanism, times }');
  const out: HistoryEntry[] = [];
  for (const e of h) {
    const o = e as { mechanism?: unknown; times?: unknown };
    pushHistory(out, checkMechanism(o.mechanism), checkSteps(o.times, 'times'));
  }
  return out;
}

abstract class AccountantBase {
  /** The compressed history of releases (identical consecutive steps merged); read it through `history`. */
  protected readonly _history: HistoryEntry[] = [];

  /** Records `times` releases of `mechanism` (validated; identical consecutive steps are merged). */
  step(mechanism: Mechanism, times = 1): this {
    const m = checkMechanism(mechanism);
    const t = checkSteps(times, 'times');
    if (t > 0) {
      pushHistory(this._history, m, t);
      this.invalidate();
    }
    return this;
  }

  /** The compressed history (copies). */
  get history(): HistoryEntry[] {
    return this._history.map((h) => ({ mechanism: { ...h.mechanism }, times: h.times }));
  }

  /** Number of releases recorded. */
  get steps(): number {
    return this._history.reduce((s, h) => s + h.times, 0);
  }

  protected abstract invalidate(): void;
}

/** Rényi DP accountant (Mironov 2017; subsampled Gaussian by MTZ 2019); default orders of dp_accounting. */
export class RdpAccountant extends AccountantBase {
  /** Rényi orders α the RDP curve is tracked at (default: dp_accounting's). */
  readonly orders: readonly number[];
  /** RDP → (ε, δ) conversion (default `'improved'`). */
  readonly conversion: RdpConversion;
  private readonly perStep = new Map<string, Float64Array>();
  private total: Float64Array | null = null;

  /**
   * @param options `orders`: Rényi orders (default {@link DP_ACCOUNTING_ORDERS}); `conversion`: `'improved'` (default) or `'classic'`.
   * @throws {@link PrivacyError} `ERR_ARGUMENT` for bad orders or conversion.
   */
  constructor(options: { orders?: readonly number[]; conversion?: RdpConversion } = {}) {
    super();
    this.orders = Array.from(checkOrders(options.orders ?? DP_ACCOUNTING_ORDERS));
    this.conversion = options.conversion ?? 'improved';
    if (this.conversion !== 'improved' && this.conversion !== 'classic') throw argumentError('conversion', this.conversion, "'improved' or 'classic'");
  }

  /** Drops the cached composition after a new step. */
  protected invalidate(): void {
    this.total = null;
  }

  private stepRdp(m: Mechanism): Float64Array {
    const key = mechanismKey(m);
    let r = this.perStep.get(key);
    if (!r) {
      r = new Float64Array(this.orders.length);
      for (let k = 0; k < this.orders.length; k++) {
        r[k] = stepRdpAt(m, this.orders[k]);
      }
      this.perStep.set(key, r);
    }
    return r;
  }

  /** The composed RDP curve at `orders` (RDP adds up over steps). */
  rdp(): Float64Array {
    if (!this.total) {
      const t = new Float64Array(this.orders.length);
      for (const h of this._history) {
        const r = this.stepRdp(h.mechanism);
        for (let k = 0; k < t.length; k++) t[k] += r[k] === 0 ? 0 : h.times * r[k];
      }
      this.total = t;
    }
    return this.total;
  }

  /**
   * ε spent by the history at `delta` (0 for an empty history), minimised over the orders.
   * @throws {@link PrivacyError} `ERR_ARGUMENT` for δ outside (0, 1).
   */
  getEpsilon(delta: number): EpsilonResult {
    checkDelta(delta);
    // nothing released: ε 0 with no order (NaN here read as null in JSON, a minimum over no conversion)
    if (this._history.length === 0) return { epsilon: 0 };
    return epsilonFromRdp(this.orders, this.rdp(), delta, this.conversion);
  }

  /**
   * δ of the history at `epsilon` (0 for an empty history), minimised over the orders.
   * @throws {@link PrivacyError} `ERR_ARGUMENT` for a negative or non-finite ε.
   */
  getDelta(epsilon: number): DeltaResult {
    checkEpsilon(epsilon);
    if (this._history.length === 0) return { delta: 0 };
    return deltaFromRdp(this.orders, this.rdp(), epsilon, this.conversion);
  }

  /** An independent copy (same orders, conversion and history). */
  clone(): RdpAccountant {
    const c = new RdpAccountant({ orders: this.orders, conversion: this.conversion });
    for (const h of this._history) c.step(h.mechanism, h.times);
    for (const [k, v] of this.perStep) c.perStep.set(k, v);
    return c;
  }

  /** A JSON-safe snapshot: `{ type: 'rdp', orders, conversion, history }`, read back by {@link RdpAccountant.fromJSON}. */
  toJSON(): { type: 'rdp'; orders: number[]; conversion: RdpConversion; history: HistoryEntry[] } {
    return { type: 'rdp', orders: [...this.orders], conversion: this.conversion, history: this.history };
  }

  /**
   * Rebuilds an accountant from {@link RdpAccountant.toJSON}'s output, validating every field.
   * @throws {@link PrivacyError} `ERR_ARGUMENT` naming the bad field.
   */
  static fromJSON(json: unknown): RdpAccountant {
    const j = json as { type?: unknown; orders?: number[]; conversion?: RdpConversion; history?: unknown };
    if (typeof j !== 'object' || j === null || j.type !== 'rdp') throw argumentError('json.type', j?.type, "'rdp'");
    const a = new RdpAccountant({ orders: j.orders, conversion: j.conversion });
    for (const h of parseHistory(j.history)) a.step(h.mechanism, h.times);
    return a;
  }
}

/** Privacy-loss-distribution accountant (tight; pessimistic discretisation, FFT composition). */
export class PldAccountant extends AccountantBase {
  /** The PLD options with their defaults applied (interval 1e-4, connect-dots, tail mass 1e-15, FFT size 2^22). */
  readonly options: ResolvedPldOptions;
  private composed: ComposedPld | null = null;
  private rdpShadow: RdpAccountant | null = null;

  /**
   * @param options Grid and truncation options (see {@link PldOptions}).
   * @throws {@link PrivacyError} `ERR_ARGUMENT` for a bad option.
   */
  constructor(options: PldOptions = {}) {
    super();
    this.options = resolvePldOptions(options);
  }

  /** Drops the cached composition after a new step. */
  protected invalidate(): void {
    this.composed = null;
    this.rdpShadow = null;
  }

  /** True when a release without noise is in the history: ε = ∞, δ(ε) = 1, and no PLD to compose. */
  private get noiseless(): boolean {
    return this._history.some((h) => h.mechanism.kind === 'none');
  }

  /** The composed PLD of the history (cached until the next step). */
  pld(): ComposedPld {
    if (this._history.length === 0) throw new PrivacyError('ERR_ARGUMENT', 'the history is empty: nothing has been released');
    if (this.noiseless) throw new PrivacyError('ERR_ARGUMENT', 'the history holds a release without noise: it has no privacy loss distribution (ε = ∞)');
    if (!this.composed) this.composed = composeHistory(this._history, this.options);
    return this.composed;
  }

  /**
   * ε spent by the history at `delta` (0 for an empty history): the smallest of the PLD bound, the RDP bound of the same history (dp_accounting's orders,
   * improved conversion) and, for a Laplace-only history, the pure ε of basic composition — each is a valid upper bound, and `bound` says which one this
   * is. The RDP bound wins where the loss grid is far coarser than one step's losses (σ ≈ 2e4 at q = 0.01 beyond ~1e6 steps: the pessimistic
   * discretisation's error then grows with T) or no grid can hold the history at all (~1e15 steps). Infinity when a release without noise (`'none'`)
   * is in the history. `interval` is the loss grid actually used (coarser than requested when the composition needed it; absent when none could hold it).
   * @throws {@link PrivacyError} `ERR_ARGUMENT` for δ outside (0, 1).
   */
  getEpsilon(delta: number): EpsilonResult & { interval?: number; bound?: PldBound } {
    checkDelta(delta);
    if (this._history.length === 0) return { epsilon: 0 };
    if (this.noiseless) return { epsilon: Infinity };
    // every candidate is a valid (ε, δ) upper bound of the same history at this δ, so the smallest is one too
    const rdp = this.rdpAccountant().getEpsilon(delta).epsilon;
    const pure = pureEpsilon(this._history);
    const c = this.pldOrNull();
    const pld = c ? pldEpsilon(c, delta) : Infinity;
    const interval = c ? { interval: c.interval } : {};
    if (c && pld <= rdp && pld <= pure) return { epsilon: pld, ...interval, bound: 'pld' };
    if (pure <= rdp) return { epsilon: pure, ...interval, bound: 'pure' };
    return { epsilon: rdp, ...interval, bound: 'rdp' };
  }

  /**
   * δ of the history at `epsilon` (0 for an empty history, and at or above a Laplace-only history's pure ε; 1 with a release without noise): the PLD
   * bound, or the RDP bound where that is smaller (see {@link PldAccountant.getEpsilon}).
   * @throws {@link PrivacyError} `ERR_ARGUMENT` for a negative or non-finite ε.
   */
  getDelta(epsilon: number): DeltaResult {
    checkEpsilon(epsilon);
    if (this._history.length === 0) return { delta: 0 };
    if (this.noiseless) return { delta: 1 };
    if (epsilon >= pureEpsilon(this._history)) return { delta: 0 };
    const c = this.pldOrNull();
    const rdp = this.rdpAccountant().getDelta(epsilon).delta;
    return { delta: c ? Math.min(pldDelta(c, epsilon), rdp) : rdp };
  }

  /** The composed PLD, or null when no grid can hold the history (it then has only its RDP and pure bounds). */
  private pldOrNull(): ComposedPld | null {
    try {
      return this.pld();
    } catch (e) {
      if (e instanceof PldGridError) return null;
      throw e;
    }
  }

  /** An RDP accountant (dp_accounting's orders, improved conversion) of the same history: its bound caps the PLD's. */
  private rdpAccountant(): RdpAccountant {
    if (!this.rdpShadow) {
      this.rdpShadow = new RdpAccountant();
      for (const h of this._history) this.rdpShadow.step(h.mechanism, h.times);
    }
    return this.rdpShadow;
  }

  /** An independent copy (same options and history; the cached composition is shared until either steps). */
  clone(): PldAccountant {
    const c = new PldAccountant(this.options);
    for (const h of this._history) c.step(h.mechanism, h.times);
    c.composed = this.composed;
    return c;
  }

  /** A JSON-safe snapshot: `{ type: 'pld', options, history }`, read back by {@link PldAccountant.fromJSON}. */
  toJSON(): { type: 'pld'; options: ResolvedPldOptions; history: HistoryEntry[] } {
    return { type: 'pld', options: { ...this.options }, history: this.history };
  }

  /**
   * Rebuilds an accountant from {@link PldAccountant.toJSON}'s output, validating every field.
   * @throws {@link PrivacyError} `ERR_ARGUMENT` naming the bad field.
   */
  static fromJSON(json: unknown): PldAccountant {
    const j = json as { type?: unknown; options?: PldOptions; history?: unknown };
    if (typeof j !== 'object' || j === null || j.type !== 'pld') throw argumentError('json.type', j?.type, "'pld'");
    const a = new PldAccountant(j.options ?? {});
    for (const h of parseHistory(j.history)) a.step(h.mechanism, h.times);
    return a;
  }
}

/** Either accountant: both record steps and answer getEpsilon(δ) / getDelta(ε). */
export type Accountant = RdpAccountant | PldAccountant;
/** `'rdp'` (Rényi DP: fast, looser) or `'pld'` (privacy loss distribution: tight, the default of training). */
export type AccountantKind = 'rdp' | 'pld';
/** An accountant as the API takes it by name: {@link AccountantKind}, or `'prv'` (Opacus' name for the same PLD accounting, taken as `'pld'`). */
export type AccountantName = AccountantKind | 'prv';

/** The accountants by name, 'pld' first (the default; 'prv' stands for it). */
export const ACCOUNTANT_KINDS: readonly AccountantKind[] = ['pld', 'rdp'];

/**
 * A fresh accountant of the given kind (`'prv'`: the PLD accountant).
 * @param options `rdp`: {@link RdpAccountant} options; `pld`: {@link PldOptions}.
 * @throws {@link PrivacyError} `ERR_ARGUMENT` for an unknown kind or a bad option.
 * @example
 * ```ts
 * import { createAccountant } from 'dpzo';
 *
 * const acc = createAccountant('pld');
 * acc.step({ kind: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1.1 }, 1000);
 * console.log(acc.getEpsilon(1e-5).epsilon); // ε after 1000 releases at δ = 1e-5
 * ```
 */
export function createAccountant(
  kind: AccountantName,
  options: { rdp?: { orders?: readonly number[]; conversion?: RdpConversion }; pld?: PldOptions } = {},
): Accountant {
  if (accountantNamed(kind, ACCOUNTANT_KINDS, 'accountant') === 'rdp') return new RdpAccountant(options.rdp);
  return new PldAccountant(options.pld);
}

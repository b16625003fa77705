// defines: RdpAccountant, PldAccountant — stateful accountants over a compressed history of (mechanism, times);
// the analysis they call is pure (rdp.ts, rdp-laplace.ts, pld.ts), as in Opacus and dp_accounting.

import { argumentError, checkDelta, checkEpsilon, checkSteps, PrivacyError } from './errors.js';
import { checkMechanism, mechanismKey, pushHistory, stepRdpAt, type HistoryEntry, type Mechanism } from './mechanism.js';
import { DP_ACCOUNTING_ORDERS } from './orders.js';
import { deltaFromRdp, epsilonFromRdp, type RdpConversion } from './rdp.js';
import { checkOrders } from './errors.js';
import { pureEpsilon } from './pure.js';
import { composeHistory, pldDelta, pldEpsilon, resolvePldOptions, type ComposedPld, type PldOptions, type ResolvedPldOptions } from './pld.js';

export interface EpsilonResult {
  epsilon: number;
  /** RDP only: the Rényi order at which the conversion is tightest. */
  order?: number;
}

export interface DeltaResult {
  delta: number;
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
  readonly orders: readonly number[];
  readonly conversion: RdpConversion;
  private readonly perStep = new Map<string, Float64Array>();
  private total: Float64Array | null = null;

  constructor(options: { orders?: readonly number[]; conversion?: RdpConversion } = {}) {
    super();
    this.orders = Array.from(checkOrders(options.orders ?? DP_ACCOUNTING_ORDERS));
    this.conversion = options.conversion ?? 'improved';
    if (this.conversion !== 'improved' && this.conversion !== 'classic') throw argumentError('conversion', this.conversion, "'improved' or 'classic'");
  }

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

  getEpsilon(delta: number): EpsilonResult {
    checkDelta(delta);
    if (this._history.length === 0) return { epsilon: 0, order: NaN };
    return epsilonFromRdp(this.orders, this.rdp(), delta, this.conversion);
  }

  getDelta(epsilon: number): DeltaResult {
    checkEpsilon(epsilon);
    if (this._history.length === 0) return { delta: 0, order: NaN };
    return deltaFromRdp(this.orders, this.rdp(), epsilon, this.conversion);
  }

  clone(): RdpAccountant {
    const c = new RdpAccountant({ orders: this.orders, conversion: this.conversion });
    for (const h of this._history) c.step(h.mechanism, h.times);
    for (const [k, v] of this.perStep) c.perStep.set(k, v);
    return c;
  }

  toJSON(): { type: 'rdp'; orders: number[]; conversion: RdpConversion; history: HistoryEntry[] } {
    return { type: 'rdp', orders: [...this.orders], conversion: this.conversion, history: this.history };
  }

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
  readonly options: ResolvedPldOptions;
  private composed: ComposedPld | null = null;

  constructor(options: PldOptions = {}) {
    super();
    this.options = resolvePldOptions(options);
  }

  protected invalidate(): void {
    this.composed = null;
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

  getEpsilon(delta: number): EpsilonResult & { interval?: number } {
    checkDelta(delta);
    if (this._history.length === 0) return { epsilon: 0 };
    if (this.noiseless) return { epsilon: Infinity };
    const c = this.pld();
    // a Laplace-only history also has a pure ε (basic composition); both bounds hold, so the smaller is reported
    return { epsilon: Math.min(pldEpsilon(c, delta), pureEpsilon(this._history)), interval: c.interval };
  }

  getDelta(epsilon: number): DeltaResult {
    checkEpsilon(epsilon);
    if (this._history.length === 0) return { delta: 0 };
    if (this.noiseless) return { delta: 1 };
    if (epsilon >= pureEpsilon(this._history)) return { delta: 0 };
    return { delta: pldDelta(this.pld(), epsilon) };
  }

  clone(): PldAccountant {
    const c = new PldAccountant(this.options);
    for (const h of this._history) c.step(h.mechanism, h.times);
    c.composed = this.composed;
    return c;
  }

  toJSON(): { type: 'pld'; options: ResolvedPldOptions; history: HistoryEntry[] } {
    return { type: 'pld', options: { ...this.options }, history: this.history };
  }

  static fromJSON(json: unknown): PldAccountant {
    const j = json as { type?: unknown; options?: PldOptions; history?: unknown };
    if (typeof j !== 'object' || j === null || j.type !== 'pld') throw argumentError('json.type', j?.type, "'pld'");
    const a = new PldAccountant(j.options ?? {});
    for (const h of parseHistory(j.history)) a.step(h.mechanism, h.times);
    return a;
  }
}

export type Accountant = RdpAccountant | PldAccountant;
export type AccountantKind = 'rdp' | 'pld';

export function createAccountant(
  kind: AccountantKind,
  options: { rdp?: { orders?: readonly number[]; conversion?: RdpConversion }; pld?: PldOptions } = {},
): Accountant {
  if (kind === 'rdp') return new RdpAccountant(options.rdp);
  if (kind === 'pld') return new PldAccountant(options.pld);
  throw argumentError('accountant', kind, "'rdp' or 'pld'");
}

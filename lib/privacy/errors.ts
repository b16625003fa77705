// defines: PrivacyError (a DpzoError of the privacy layer), PrivacyBudgetExceededError (the one budget
// refusal), and the argument checks shared by the accountants (code ERR_ARGUMENT naming the parameter)
import { DpzoError, type PrivacyErrorCode } from '../errors.js';

/** An error of the privacy layer: a DpzoError with one of the privacy codes. */
export class PrivacyError extends DpzoError {
  /** The privacy-layer code. */
  declare readonly code: PrivacyErrorCode;
  /**
   * A privacy-layer error.
   *
   * @param code The error code (`ERR_ARGUMENT` names the error a RangeError).
   * @param message One line naming the parameter or file and the reason.
   */
  constructor(code: PrivacyErrorCode, message: string) {
    super(code, message);
    this.name = code === 'ERR_ARGUMENT' ? 'RangeError' : 'PrivacyError';
  }
}

/** The one budget refusal: a release (ledger) or a plan (calibration) that would exceed the (ε, δ) budget. */
export class PrivacyBudgetExceededError extends PrivacyError {
  /** ε the refused release or plan would reach (at the budget's δ). */
  readonly epsilon: number;
  /** The (ε, δ) budget it would exceed. */
  readonly budget: { epsilon: number; delta: number };
  /**
   * A refusal with code `ERR_BUDGET_EXCEEDED`.
   *
   * @param message What was refused and why.
   * @param epsilon ε it would reach.
   * @param budget The budget.
   */
  constructor(message: string, epsilon: number, budget: { epsilon: number; delta: number }) {
    super('ERR_BUDGET_EXCEEDED', message);
    this.name = 'PrivacyBudgetExceededError';
    this.epsilon = epsilon;
    this.budget = budget;
  }
}

/** A discretisation grid or FFT would exceed its size limit; `needed` lets the caller coarsen the grid in one jump. */
export class GridTooLargeError extends PrivacyError {
  /** Grid points (or FFT length) the request needs. */
  readonly needed: number;
  /** The limit it exceeds (DiscretizeOptions.maxPoints, ComposeOptions.maxFftSize). */
  readonly limit: number;
  /**
   * A refusal with code `ERR_ARGUMENT`.
   *
   * @param message What needs how many points, and the limit.
   * @param needed Points needed.
   * @param limit The limit.
   */
  constructor(message: string, needed: number, limit: number) {
    super('ERR_ARGUMENT', message);
    this.needed = needed;
    this.limit = limit;
  }
}

export function argumentError(name: string, value: unknown, expected: string): PrivacyError {
  return new PrivacyError('ERR_ARGUMENT', `${name} must be ${expected}, got ${String(value)}`);
}

export function checkNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw argumentError(name, v, 'a number');
  return v;
}

/** q ∈ (0, 1] (or [0, 1] with allowZero: q = 0 is a step that touches no one). */
export function checkSampleRate(v: unknown, allowZero = false, name = 'sampleRate'): number {
  const q = checkNumber(name, v);
  if (!(allowZero ? q >= 0 : q > 0) || q > 1) throw argumentError(name, v, allowZero ? 'in [0, 1]' : 'in (0, 1]');
  return q;
}

export function checkPositive(name: string, v: unknown): number {
  const x = checkNumber(name, v);
  if (!(x > 0) || !Number.isFinite(x)) throw argumentError(name, v, 'a finite number > 0');
  return x;
}

export function checkNonNegative(name: string, v: unknown): number {
  const x = checkNumber(name, v);
  if (!(x >= 0) || !Number.isFinite(x)) throw argumentError(name, v, 'a finite number >= 0');
  return x;
}

export function checkDelta(v: unknown, name = 'delta'): number {
  const d = checkNumber(name, v);
  if (!(d > 0 && d < 1)) throw argumentError(name, v, 'in (0, 1)');
  return d;
}

export function checkEpsilon(v: unknown, name = 'epsilon'): number {
  const e = checkNumber(name, v);
  if (!(e >= 0) || !Number.isFinite(e)) throw argumentError(name, v, 'a finite number >= 0');
  return e;
}

export function checkSteps(v: unknown, name = 'steps', allowZero = true): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (allowZero ? 0 : 1)) {
    throw argumentError(name, v, allowZero ? 'a non-negative integer' : 'a positive integer');
  }
  return v;
}

export function checkOrders(orders: ArrayLike<number>, name = 'orders'): Float64Array {
  if (orders.length === 0) throw argumentError(name, '[]', 'a non-empty list of Rényi orders > 1');
  const out = new Float64Array(orders.length);
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i];
    if (typeof a !== 'number' || Number.isNaN(a) || !(a > 1)) throw argumentError(`${name}[${i}]`, a, 'a Rényi order > 1');
    out[i] = a;
  }
  return out;
}

// defines: the one reading of a number typed on the command line. Decimal only: Number() would also
// read '0x10' as 16, '0b11' as 3, '' as 0 and ' 4 ' as 4, so a typo could silently become a budget.
import { InvalidArgumentError } from 'commander';

import { argumentError } from '../privacy/errors.js';

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The value of a decimal literal (1, -2.5, .5, 1e-6), or NaN for anything else. */
export function decimal(text: string): number {
  return DECIMAL.test(text) ? Number(text) : Number.NaN;
}

/** commander parser: a finite decimal number. */
export function parseNumber(v: string): number {
  const x = decimal(v);
  if (!Number.isFinite(x)) throw new InvalidArgumentError('must be a decimal number');
  return x;
}

/** commander parser: ε, a decimal number or 'inf' (the non-private baseline). */
export function parseEpsilon(v: string): number {
  return /^\+?inf(inity)?$/i.test(v.trim()) ? Infinity : parseNumber(v);
}

/** commander parser: a decimal integer (a safe integer: 2^53 and beyond would be rounded). */
export function parseInteger(v: string): number {
  const x = /^[+-]?\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(x)) throw new InvalidArgumentError('must be an integer');
  return x;
}

/** commander parser: a decimal integer >= 1 (a count: sequences per batch), with no cap but a safe integer's. */
export function parsePositiveInteger(v: string): number {
  const x = parseInteger(v);
  if (x < 1) throw new InvalidArgumentError('must be a positive integer');
  return x;
}

/** commander parser: a decimal integer >= 0 (a count that may be none: warmup steps). */
export function parseNonNegativeInteger(v: string): number {
  const x = parseInteger(v);
  if (x < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return x;
}

/** A privacy command's flag (`account`, `calibrate`) as a decimal number, or ERR_ARGUMENT naming the flag when it is missing or not a decimal. */
export function flagNumber(flag: string, v: string | undefined): number {
  if (v === undefined) throw argumentError(flag, 'nothing', 'given');
  const x = decimal(v.trim());
  if (Number.isNaN(x)) throw argumentError(flag, v, 'a decimal number');
  return x;
}

/**
 * A privacy command's count flag (`--steps`) as a safe integer >= `min`, or ERR_ARGUMENT naming the flag and the text as
 * typed: checked after float64 rounding, `--steps 9007199254740993` was refused as "got 9007199254740992".
 */
export function flagInteger(flag: string, v: string | undefined, min: 0 | 1): number {
  const x = flagNumber(flag, v);
  if (!Number.isSafeInteger(x) || x < min) throw argumentError(flag, v, min === 0 ? 'a non-negative integer' : 'a positive integer');
  return x;
}

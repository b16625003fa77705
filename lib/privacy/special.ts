// defines: erfc, logErfc, normCdf, logNormCdf, logAddExp, logSumExp — double-precision special functions
// with full relative accuracy in the tails (the accountants evaluate Gaussian tails down to 1e-300).

const SQRT_PI = Math.sqrt(Math.PI);
const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);
// Below this x the power series for erf is used, above it the continued fraction for erfc.
const SERIES_LIMIT = 2;

/** erf(x) for 0 <= x < SERIES_LIMIT: erf(x) = 2/√π · x·e^{−x²} · Σ (2x²)^n / (2n+1)!! (all terms positive, no cancellation). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = 1;
  let sum = 1;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return (2 / SQRT_PI) * x * Math.exp(-x2) * sum;
}

/** K(x) with erfc(x) = e^{−x²}/√π · K(x), x >= SERIES_LIMIT: Laplace's continued fraction 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), modified Lentz. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 2e-16) break;
  }
  return 1 / f;
}

/** Complementary error function, relative accuracy ~1e-15 for x >= 0 (absolute for x < 0). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < SERIES_LIMIT) return 1 - erfSeries(x);
  if (x > 27.3) return 0;
  return (Math.exp(-x * x) / SQRT_PI) * erfcContinuedFraction(x);
}

/** log erfc(x), accurate for large positive x where erfc underflows. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < SERIES_LIMIT) return Math.log(erfc(x));
  if (x === Infinity) return -Infinity;
  return -x * x - LOG_SQRT_PI + Math.log(erfcContinuedFraction(x));
}

/** Standard normal CDF Φ(x) = erfc(−x/√2)/2, relative accuracy in the lower tail. */
export function normCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** log Φ(x). */
export function logNormCdf(x: number): number {
  return Math.log(0.5) + logErfc(-x / Math.SQRT2);
}

/** log(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  if (m === Infinity) return Infinity;
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** log Σ e^{v_i}. */
export function logSumExp(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  if (m === -Infinity || m === Infinity) return m;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.exp(values[i] - m);
  return m + Math.log(s);
}

/** CDF of the standard Laplace distribution (scale 1). */
export function laplaceCdf(x: number): number {
  return x < 0 ? 0.5 * Math.exp(x) : 1 - 0.5 * Math.exp(-x);
}

/** Survival 1 − F(x) of the standard Laplace distribution, accurate in the upper tail. */
export function laplaceSf(x: number): number {
  return x > 0 ? 0.5 * Math.exp(-x) : 1 - 0.5 * Math.exp(x);
}

/** log(1 + q(e^x − 1)) for q ∈ [0, 1], without overflow for x > 709 (Laplace losses with a tiny scale b). */
export function log1pQExpm1(q: number, x: number): number {
  if (q === 0) return 0;
  if (x > 1) return x + Math.log(q + (1 - q) * Math.exp(-x));
  return Math.log1p(q * Math.expm1(x));
}

// defines: composePlds — the T-fold composition of discretised PLDs: one FFT per distinct step, powers taken in the
// Fourier domain (T identical steps cost one transform, like repeated squaring done exactly), one inverse FFT.

import FFT from 'fft.js';
import { GridTooLargeError, PrivacyError } from './errors.js';
import type { DiscretePld } from './pld-discretize.js';

/** One kind of step in a composition: its discretised PLD and how many times it was released. */
export interface ComposeGroup {
  /** The step's PLD (every group on the same grid interval). */
  pld: DiscretePld;
  /** Number of identical steps (a non-negative integer). */
  times: number;
}

/** Limits of {@link composePlds}. */
export interface ComposeOptions {
  /** Mass allowed outside the output window, per tail (bounded by Chernoff; added to +∞ for pessimism). */
  tailMass: number;
  /** Largest FFT length. */
  maxFftSize: number;
}

/**
 * An upper bound on log Σ_j p_j e^{t j} (index units, j relative to the offset). Powers of e^{±t} are accumulated from
 * the end where the exponent is largest (no overflow; the far end underflows harmlessly), one multiply per point instead
 * of one exp; the relative slack covers the rounding of that recurrence, so the Chernoff window stays valid.
 *
 * The sum stops once every further term is below half an ulp of s, so that s + term would round back to s: the result is
 * bit for bit that of the full pass. The full pass was most of a composition's time: for e^{−|t|} > 1/2 the weight never
 * reaches 0 but sticks at the smallest subnormal, and millions of subnormal products ran ~50 times slower.
 */
function logMgf(probs: Float64Array, t: number, maxProb: number): number {
  const n = probs.length;
  const r = Math.exp(-Math.abs(t));
  // a later term is at most maxProb·w·(1 + 2^−52) (w only falls); below s·2^−54 < ulp(s)/2 when w < stop·s
  const stop = 2 ** -55 / Math.max(1, maxProb);
  let s = 0;
  let w = 1;
  if (t >= 0) {
    for (let j = n - 1; j >= 0; j--) {
      s += probs[j] * w;
      w *= r;
      if (w < stop * s) break;
    }
    return t * (n - 1) + Math.log(s + UNDERFLOW) + 1e-9 + n * 4e-16;
  }
  for (let j = 0; j < n; j++) {
    s += probs[j] * w;
    w *= r;
    if (w < stop * s) break;
  }
  return Math.log(s + UNDERFLOW) + 1e-9 + n * 4e-16;
}

/** Covers the terms whose weight underflowed to 0 (each below ~1e-308, at most n·1e-308 < 1e-290 together). */
const UNDERFLOW = 1e-290;

const fftCache = new Map<number, FFT>();
function fftOfSize(size: number): FFT {
  let f = fftCache.get(size);
  if (!f) {
    if (fftCache.size >= 4) fftCache.clear();
    f = new FFT(size);
    fftCache.set(size, f);
  }
  return f;
}

/**
 * Output window [lo, hi] (grid indices) holding all but `tail` of the composed mass in each tail, by Chernoff:
 * P(S >= u) <= e^{−tu} Π M_g(t)^{T_g} for t > 0 (and symmetrically for t < 0), minimised over a grid of t.
 */
function chernoffWindow(groups: ComposeGroup[], tail: number): [number, number, number, number] {
  let supportLo = 0;
  let supportHi = 0;
  for (const g of groups) {
    supportLo += g.times * g.pld.offset;
    supportHi += g.times * (g.pld.offset + g.pld.probs.length - 1);
  }
  const interval = groups[0].pld.interval;
  let hi = supportHi;
  let lo = supportLo;
  const logTail = Math.log(tail);
  const maxProbs = groups.map((g) => g.pld.probs.reduce((m, p) => Math.max(m, p), 0));
  // t in index units; t/Δ spans 1e-3 .. 1e8 in loss units (a composition of tiny per-step losses, refined to a grid of
  // 1e-8 nats, has a spread of ~1e-5 nats and its tightest t near 1e6: stopping at 1e4 left the window at the full support)
  for (let k = -12; k <= 32; k++) {
    const tLoss = 10 ** (k / 4);
    const t = tLoss * interval;
    for (const sgn of [1, -1]) {
      let logM = 0;
      groups.forEach((g, i) => {
        logM += g.times * (logMgf(g.pld.probs, sgn * t, maxProbs[i]) + sgn * t * g.pld.offset);
      });
      if (!Number.isFinite(logM)) continue;
      const bound = (logM - logTail) / t; // S·sgn >= bound has probability <= tail
      if (sgn > 0) hi = Math.min(hi, Math.ceil(bound));
      else lo = Math.max(lo, Math.floor(-bound));
    }
  }
  return [Math.min(lo, hi), hi, supportLo, supportHi];
}

function nextPow2(n: number): number {
  let p = 2;
  while (p < n) p *= 2;
  return p;
}

/** Composes groups of identical steps (all on the same grid). The result is pessimistic: see docs/privacy.md. */
export function composePlds(groups: ComposeGroup[], opts: ComposeOptions): DiscretePld {
  const active = groups.filter((g) => g.times > 0);
  if (active.length === 0) throw new PrivacyError('ERR_ARGUMENT', 'nothing to compose');
  const interval = active[0].pld.interval;
  for (const g of active) {
    if (g.pld.interval !== interval) throw new PrivacyError('ERR_ARGUMENT', 'PLDs to compose must share the discretisation interval');
  }
  // mass at +∞ composes as 1 − Π (1 − p∞)^T
  let logFinite = 0;
  for (const g of active) logFinite += g.times * Math.log1p(-g.pld.infinityMass);
  const composedInfinity = -Math.expm1(logFinite);
  if (!(composedInfinity >= 0)) throw new PrivacyError('ERR_INTERNAL', 'the composed mass at +∞ is not finite');
  if (active.length === 1 && active[0].times === 1) return active[0].pld;

  const [lo, hi, fullLo, fullHi] = chernoffWindow(active, opts.tailMass);
  let maxLen = 0;
  for (const g of active) maxLen = Math.max(maxLen, g.pld.probs.length);
  const size = nextPow2(Math.max(hi - lo + 1, maxLen));
  if (size > opts.maxFftSize) {
    throw new GridTooLargeError(
      `composition needs an FFT of ${size} points (limit ${opts.maxFftSize}); use a larger discretisation interval`,
      size,
      opts.maxFftSize,
    );
  }
  const fft = fftOfSize(size);
  const half = size / 2;
  // accumulate Σ_g T_g·log X_g(k) as (log modulus, phase) for k = 0..N/2
  const logMod = new Float64Array(half + 1);
  const phase = new Float64Array(half + 1);
  const input = new Float64Array(size);
  const spec = new Float64Array(2 * size);
  let supportLo = 0;
  for (const g of active) {
    supportLo += g.times * g.pld.offset;
    input.fill(0);
    input.set(g.pld.probs);
    fft.realTransform(spec, input);
    for (let k = 0; k <= half; k++) {
      const re = spec[2 * k];
      const im = spec[2 * k + 1];
      logMod[k] += g.times * 0.5 * Math.log(re * re + im * im);
      phase[k] = (phase[k] + g.times * Math.atan2(im, re)) % (2 * Math.PI);
    }
  }
  // Hermitian spectrum of the composed PMF, then the inverse transform
  spec.fill(0);
  for (let k = 0; k <= half; k++) {
    const r = Math.exp(logMod[k]);
    const re = r * Math.cos(phase[k]);
    const im = r * Math.sin(phase[k]);
    spec[2 * k] = re;
    spec[2 * k + 1] = im;
    if (k > 0 && k < half) {
      spec[2 * (size - k)] = re;
      spec[2 * (size - k) + 1] = -im;
    }
  }
  const out = new Float64Array(2 * size);
  fft.inverseTransform(out, spec);
  // read the window out of the circular result; mass outside it aliases into it (only ever adding mass)
  const probs = new Float64Array(hi - lo + 1);
  for (let m = lo; m <= hi; m++) {
    const k = (((m - supportLo) % size) + size) % size;
    const v = out[2 * k];
    if (Number.isNaN(v)) throw new PrivacyError('ERR_INTERNAL', 'the composed privacy loss distribution is not finite (refusing to account with it)');
    probs[m - lo] = v > 0 ? v : 0;
  }
  // the true mass above the window (<= tailMass) is counted at +∞, and so is the lower tail's (for ε below the window)
  const cut = (hi < fullHi ? opts.tailMass : 0) + (lo > fullLo ? opts.tailMass : 0);
  // Mass the transform lost is counted at +∞ too. Each step's total is 1 only up to rounding (~1e-16), and the power
  // X(0)^T takes it to (1 − 1e-16)^T: at T = 1e10 the composed PMF was 4.7e-7 short, mass that had been above every ε
  // and silently fell out of δ(ε). (Excess mass stays: it only adds to δ.)
  // (compensated sum: its error, and that of 1 − total, is below 4 ulp + n·ulp², added so the deficit is not missed)
  let total = 0;
  let carry = 0;
  for (let j = 0; j < probs.length; j++) {
    const t = total + probs[j];
    carry += Math.abs(total) >= probs[j] ? total - t + probs[j] : probs[j] - t + total;
    total = t;
  }
  const lost = 1 - (total + carry + composedInfinity + cut);
  const missing = Math.max(0, lost + 4 * 2 ** -52 + probs.length * 2 ** -104);
  return { interval, offset: lo, probs, infinityMass: Math.min(1, composedInfinity + cut + missing) };
}

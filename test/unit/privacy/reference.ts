// Reference values for the PLD tests, written independently of lib/privacy (own quadrature, own normal CDF):
// exact one-step hockey-stick divergences by direct quadrature, and rigorous lower bounds on the T-step δ(ε).
//
// Lower bounds use post-processing (data processing for the hockey-stick divergence): for any map K applied to every
// output, δ_{K(P),K(Q)}(ε) <= δ_{P,Q}(ε). Two maps are used on the T-fold product of a dominating pair:
// - count: y = #{i : x_i beyond a threshold}, binomial under both P and Q, hockey-stick summed exactly;
// - sum (Gaussian): y = Σ x_i / √T, a binomial mixture of unit Gaussians vs one unit Gaussian, whose likelihood ratio is
//   monotone in y, so a threshold set {y <= s} attains its hockey-stick (any s still gives a lower bound).

/** Gauss–Legendre nodes and weights on [−1, 1] (Newton on the Legendre recurrence). */
function gaussLegendre(n: number): { x: Float64Array; w: Float64Array } {
  const x = new Float64Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = z;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = (n * (z * p1 - p0)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    x[i] = z;
    w[i] = 2 / ((1 - z * z) * dp * dp);
  }
  return { x, w };
}

const GL = gaussLegendre(24);

/** ∫_a^b f by Gauss–Legendre on `panels` equal panels. */
export function integrate(f: (x: number) => number, a: number, b: number, panels: number): number {
  if (!(b > a)) return 0;
  const h = (b - a) / panels;
  let s = 0;
  for (let p = 0; p < panels; p++) {
    const c = a + (p + 0.5) * h;
    for (let i = 0; i < GL.x.length; i++) s += GL.w[i] * f(c + 0.5 * h * GL.x[i]);
  }
  return 0.5 * h * s;
}

/** log(e^a + e^b). */
export function lae(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log Φ(x). For x <= 0, Φ(x) = φ(x)·∫_0^∞ e^{xs − s²/2} ds (substituting t = x − s), integrated by quadrature up to
 * where the integrand is below e^{−40} of its start: full relative accuracy far into the tail (Φ(−50) ≈ 1e−545 included).
 */
export function logPhi(x: number): number {
  if (x === -Infinity) return -Infinity;
  if (x === Infinity) return 0;
  if (x > 0) return Math.log1p(-Math.exp(logPhi(-x)));
  const upper = Math.min(12, 40 / Math.max(1e-9, -x));
  const i = integrate((s) => Math.exp(x * s - (s * s) / 2), 0, upper, 6);
  return -(x * x) / 2 - LOG_SQRT_2PI + Math.log(i);
}

/** log of the standard Laplace CDF F(y) = e^y/2 (y < 0), 1 − e^{−y}/2 (y >= 0). */
export function logLapCdf(y: number): number {
  return y < 0 ? y + Math.log(0.5) : Math.log1p(-0.5 * Math.exp(-y));
}

/** The root of a decreasing function g on the real line (bisection after bracketing). */
function decreasingRoot(g: (x: number) => number, start = 0): number {
  let lo = start - 1;
  let hi = start + 1;
  while (g(lo) < 0) lo = start - 2 * (start - lo);
  while (g(hi) > 0) hi = start + 2 * (hi - start);
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, Math.abs(lo)); i++) {
    const m = (lo + hi) / 2;
    if (g(m) > 0) lo = m;
    else hi = m;
  }
  return (lo + hi) / 2;
}

export type Adj = 'remove' | 'add';

const phi = (x: number) => Math.exp(-(x * x) / 2 - LOG_SQRT_2PI);

/**
 * Exact H_{e^ε}(P‖Q) of one Poisson-subsampled Gaussian step (noise 1, sensitivity μ) by quadrature of (p − e^ε q)_+:
 * remove P = q·N(−μ,1) + (1−q)·N(0,1), Q = N(0,1); add P = N(0,1), Q = q·N(μ,1) + (1−q)·N(0,1).
 * p/q is decreasing in x, so the integrand is positive exactly left of the crossing x*, found by bisection.
 */
export function gaussianHockeyStick(q: number, mu: number, adj: Adj, eps: number): number {
  const lq = Math.log(q);
  const l1q = q === 1 ? -Infinity : Math.log1p(-q);
  const logLr = adj === 'remove' ? (x: number) => lae(lq - mu * x - (mu * mu) / 2, l1q) : (x: number) => -lae(lq + mu * x - (mu * mu) / 2, l1q);
  if (adj === 'add' && q < 1 && eps >= -l1q) return 0; // p/q < 1/(1 − q) everywhere
  const xs = decreasingRoot((x) => logLr(x) - eps, adj === 'remove' ? -mu / 2 : mu / 2);
  // e^ε enters only through exponents, so nothing overflows at ε > 709
  const ePhi = (x: number) => Math.exp(eps - (x * x) / 2 - LOG_SQRT_2PI);
  const f =
    adj === 'remove' ? (x: number) => q * phi(x + mu) + (1 - q) * phi(x) - ePhi(x) : (x: number) => phi(x) - q * ePhi(x - mu) - (q < 1 ? (1 - q) * ePhi(x) : 0);
  const lo = Math.min(xs, adj === 'remove' ? -mu : 0) - 40;
  return integrate((x) => Math.max(0, f(x)), lo, xs, Math.ceil((xs - lo) / 0.2));
}

/**
 * Exact H_{e^ε}(P‖Q) of one Poisson-subsampled Laplace step (scale 1, sensitivity ε0) by quadrature of (p − e^ε q)_+
 * on panels split at the kinks of the densities (−ε0, 0 or 0, ε0) and at the crossing of p/q with e^ε.
 */
export function laplaceHockeyStick(q: number, eps0: number, adj: Adj, eps: number): number {
  const lap = (x: number) => 0.5 * Math.exp(-Math.abs(x));
  const f =
    adj === 'remove'
      ? (x: number) => q * lap(x + eps0) + (1 - q) * lap(x) - Math.exp(eps - Math.abs(x)) / 2
      : (x: number) => lap(x) - (q * Math.exp(eps - Math.abs(x - eps0)) + (q < 1 ? (1 - q) * Math.exp(eps - Math.abs(x)) : 0)) / 2;
  const kinks = adj === 'remove' ? [-eps0, 0] : [0, eps0];
  // p/q is monotone on the ramp between the kinks: a sign change of f there is the crossing
  const [k0, k1] = kinks;
  const cuts = [k0 - 60, k0, k1, k1 + 60];
  if (f(k0 + 1e-12) > 0 !== f(k1 - 1e-12) > 0) {
    let a = k0;
    let b = k1;
    const sa = f(k0 + 1e-12) > 0;
    for (let i = 0; i < 200; i++) {
      const m = (a + b) / 2;
      if (f(m) > 0 === sa) a = m;
      else b = m;
    }
    cuts.splice(2, 0, (a + b) / 2);
  }
  let s = 0;
  for (let i = 0; i + 1 < cuts.length; i++)
    s += integrate((x) => Math.max(0, f(x)), cuts[i], cuts[i + 1], Math.max(1, Math.ceil((cuts[i + 1] - cuts[i]) / 0.25)));
  return s;
}

/** log C(T, k) for k = 0..T. */
function logBinomials(T: number): Float64Array {
  const out = new Float64Array(T + 1);
  for (let k = 1; k <= T; k++) out[k] = out[k - 1] + Math.log((T - k + 1) / k);
  return out;
}

/**
 * Σ_k (Bin(k; T, p) − e^ε Bin(k; T, r))_+ from log p, log(1 − p), log r, log(1 − r): the hockey-stick of the counts.
 */
function binomialHockeyStick(T: number, lp: number, l1p: number, lr: number, l1r: number, eps: number): number {
  const lc = logBinomials(T);
  let s = 0;
  for (let k = 0; k <= T; k++) {
    const a = lc[k] + (k === 0 ? 0 : k * lp) + (k === T ? 0 : (T - k) * l1p);
    const b = eps + lc[k] + (k === 0 ? 0 : k * lr) + (k === T ? 0 : (T - k) * l1r);
    if (a > b) s += Math.exp(a) * -Math.expm1(b - a);
  }
  return s;
}

/**
 * Count-map lower bound on δ_T(ε) of the subsampled Gaussian, maximised over thresholds a:
 * remove counts x_i < −a (P: q Φ(μ−a) + (1−q)Φ(−a), Q: Φ(−a)); add counts x_i > a (P: Φ(−a), Q: the mixture's).
 */
export function gaussianCountBound(q: number, mu: number, T: number, adj: Adj, eps: number): number {
  const lq = Math.log(q);
  const l1q = q === 1 ? -Infinity : Math.log1p(-q);
  const thresholds = [-2, -1, 0, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12];
  for (const f of [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) thresholds.push(f * mu);
  let best = 0;
  for (const a of thresholds) {
    // mixture tail beyond the threshold, and its complement
    const lm = lae(lq + logPhi(mu - a), l1q + logPhi(-a));
    const l1m = lae(lq + logPhi(a - mu), l1q + logPhi(a));
    const lg = logPhi(-a);
    const l1g = logPhi(a);
    const d = adj === 'remove' ? binomialHockeyStick(T, lm, l1m, lg, l1g, eps) : binomialHockeyStick(T, lg, l1g, lm, l1m, eps);
    best = Math.max(best, d);
  }
  return best;
}

/** Count-map lower bound for the subsampled Laplace mechanism (scale 1, sensitivity ε0), as gaussianCountBound. */
export function laplaceCountBound(q: number, eps0: number, T: number, adj: Adj, eps: number): number {
  const lq = Math.log(q);
  const l1q = q === 1 ? -Infinity : Math.log1p(-q);
  let best = 0;
  for (const f of [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.2, 1.5]) {
    const a = f * eps0;
    const lm = lae(lq + logLapCdf(eps0 - a), l1q + logLapCdf(-a));
    const l1m = lae(lq + logLapCdf(a - eps0), l1q + logLapCdf(a));
    const lg = logLapCdf(-a);
    const l1g = logLapCdf(a);
    const d = adj === 'remove' ? binomialHockeyStick(T, lm, l1m, lg, l1g, eps) : binomialHockeyStick(T, lg, l1g, lm, l1m, eps);
    best = Math.max(best, d);
  }
  return best;
}

/**
 * Sum-map lower bound on δ_T(ε) of the subsampled Gaussian: y = Σ x_i/√T, μ' = μ/√T, w_k = Bin(k; T, q).
 * remove: P' = Σ w_k N(−kμ', 1), Q' = N(0, 1); add: P' = N(0, 1), Q' = Σ w_k N(kμ', 1). δ' = P'(y <= s) − e^ε Q'(y <= s)
 * at the crossing s of the likelihood ratio. Remove drops components of weight < 1e-40 (P' only shrinks: still a lower
 * bound); add keeps every component of Q'. Exact (not just a bound) for q = 1.
 */
export function gaussianSumBound(q: number, mu: number, T: number, adj: Adj, eps: number): number {
  const m = mu / Math.sqrt(T);
  const lc = logBinomials(T);
  const lq = Math.log(q);
  const l1q = q === 1 ? -Infinity : Math.log1p(-q);
  const lw: number[] = [];
  const ks: number[] = [];
  for (let k = 0; k <= T; k++) {
    const v = lc[k] + (k === 0 ? 0 : k * lq) + (k === T ? 0 : (T - k) * l1q);
    if (adj === 'add' || v > Math.log(1e-40)) {
      lw.push(v);
      ks.push(k);
    }
  }
  const lse = (f: (i: number) => number) => {
    let acc = -Infinity;
    for (let i = 0; i < ks.length; i++) acc = lae(acc, f(i));
    return acc;
  };
  if (adj === 'remove') {
    // log(p'/q')(s) = log Σ w_k e^{−k m s − k² m²/2}, decreasing in s
    const s = decreasingRoot((y) => lse((i) => lw[i] - ks[i] * m * y - (ks[i] * m) ** 2 / 2) - eps, -m * q * T);
    const lp = lse((i) => lw[i] + logPhi(s + ks[i] * m));
    const lqs = eps + logPhi(s);
    return lp > lqs ? Math.exp(lp) * -Math.expm1(lqs - lp) : 0;
  }
  // log(p'/q')(s) = −log Σ w_k e^{k m s − k² m²/2}
  const s = decreasingRoot((y) => -lse((i) => lw[i] + ks[i] * m * y - (ks[i] * m) ** 2 / 2) - eps, m * q * T);
  const lp = logPhi(s);
  const lqs = eps + lse((i) => lw[i] + logPhi(s - ks[i] * m));
  return lp > lqs ? Math.exp(lp) * -Math.expm1(lqs - lp) : 0;
}

/** The largest ε (within 1e-6 relative) at which `delta(ε)` still exceeds `target`, for decreasing `delta`: a lower bound on ε(target). */
export function epsilonWhereAbove(delta: (eps: number) => number, target: number): number {
  if (!(delta(0) > target)) return 0;
  let lo = 0;
  let hi = 1;
  while (delta(hi) > target) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1e-6 * hi) {
    const m = (lo + hi) / 2;
    if (delta(m) > target) lo = m;
    else hi = m;
  }
  return lo;
}

// defines: Adam — the optimizer of `dpzo pretrain` and of DP-SGD with
// `optimizer: 'adam'` (Kingma & Ba 2015) over one flat float32 parameter vector
// in canonical order. It returns the step Δθ to
// add (the model owns θ; decoupled weight decay, AdamW's, is the update's factor
// f = 1 − ηλ applied natively). Moments are float32 as in PyTorch's default; each
// element's arithmetic is float64, rounded once when stored: the step is computed
// from this step's float64 moments, before their rounding to the stored float32
// (PyTorch rounds after each float32 op, so steps agree to a few ulps, not bits).
// The next step reads only the stored m, v and t, so a run restored from a
// checkpoint of them steps bit for bit as the uninterrupted one.

/** Adam's constants (PyTorch's defaults). */
export interface AdamOptions {
  /** β1, the first moment's decay (default 0.9). */
  beta1?: number;
  /** β2, the second moment's decay (default 0.999). */
  beta2?: number;
  /** ε added to √v̂ (default 1e-8). */
  eps?: number;
}

/** Adam's state and step over a flat parameter vector. */
export class Adam {
  /** First moments, one per parameter. */
  readonly m: Float32Array;
  /** Second moments, one per parameter. */
  readonly v: Float32Array;
  /** Steps taken (the bias correction's t). */
  t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;

  constructor(size: number, o: AdamOptions = {}) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
  }

  /** Restores a saved state (a DP-SGD checkpoint): the moments copied exactly, t as saved. */
  restore(m: Float32Array, v: Float32Array, t: number): void {
    if (m.length !== this.m.length || v.length !== this.v.length) throw new RangeError('Adam.restore: sizes differ');
    if (!(Number.isInteger(t) && t >= 0)) throw new RangeError('Adam.restore: t must be a non-negative integer');
    this.m.set(m);
    this.v.set(v);
    this.t = t;
  }

  /** The step for gradient `g` at learning rate `lr`, Δθ = −lr·m̂/(√v̂ + ε), written into `out`. */
  step(g: Float32Array, lr: number, out: Float32Array): Float32Array {
    if (g.length !== this.m.length || out.length !== this.m.length) throw new RangeError('Adam.step: sizes differ');
    this.t += 1;
    const { beta1: b1, beta2: b2, eps } = this;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    for (let i = 0; i < g.length; i++) {
      const gi = g[i]!;
      const m = (this.m[i] = b1 * this.m[i]! + (1 - b1) * gi);
      const v = (this.v[i] = b2 * this.v[i]! + (1 - b2) * gi * gi);
      out[i] = (-lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
    }
    return out;
  }
}

// A pure-TS Model for hand-checkable trainer tests: θ ∈ R^d in float32, a
// seeded Gaussian direction per seed (not Philox: the trainer only needs
// determinism), and the loss ℓ_i(θ) = ½ Σ_j (θ_j − x_{ids[1], j})² with a fixed
// table x of targets, or NaN when ids[1] is the token `nanToken`.
import type { CallOptions, LossBatch, LossResult, Model, Seed, SeedCoeff, UpdateOptions } from '../../lib/model/types.js';

const f = Math.fround;

/** Deterministic N(0,1) float32 vector of length d from a 64-bit seed (splitmix64 + Box-Muller). */
export function direction(seed: Seed, d: number): Float32Array {
  let s = BigInt.asUintN(64, BigInt(seed));
  const next = () => {
    s = BigInt.asUintN(64, s + 0x9e3779b97f4a7c15n);
    let z = s;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    z = z ^ (z >> 31n);
    return (Number(z >> 11n) + 1) / 2 ** 53;
  };
  const out = new Float32Array(d);
  for (let j = 0; j < d; j += 2) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const a = 2 * Math.PI * next();
    out[j] = r * Math.cos(a);
    if (j + 1 < d) out[j + 1] = r * Math.sin(a);
  }
  return out;
}

export class FakeModel implements Model {
  readonly dir = '/fake';
  readonly dtype = 'float32' as const;
  readonly backend = 'cpu' as const;
  readonly threads = 1;
  readonly config = {
    modelType: 'llama' as const,
    vocabSize: 64,
    hiddenSize: 4,
    numLayers: 1,
    numHeads: 1,
    numKvHeads: 1,
    headDim: 4,
    intermediateSize: 4,
    maxPositions: 64,
    tieWordEmbeddings: false,
    bosTokenId: 1,
    eosTokenId: 2,
  };
  theta: Float32Array;
  readonly targets: Float64Array[];
  nanToken = 63;
  /** Every weight operation, in order, for tests that compare call sequences. */
  readonly log: string[] = [];

  constructor(d: number, theta0?: ArrayLike<number>) {
    this.theta = new Float32Array(d);
    if (theta0) this.theta.set(theta0);
    this.targets = Array.from({ length: 64 }, (_, t) => Float64Array.from({ length: d }, (_, j) => Math.sin(t * 1.7 + j * 0.3)));
  }
  get numParameters() {
    return this.theta.length;
  }
  get numTrainable() {
    return this.theta.length;
  }
  parameterNames() {
    return ['theta'];
  }
  trainableNames() {
    return ['theta'];
  }
  getParameter() {
    return this.theta.slice();
  }
  parameterShape() {
    return [this.theta.length];
  }
  /** The loss in float64 at an arbitrary θ (for hand computations). */
  lossAt(theta: ArrayLike<number>, ids: ArrayLike<number>): number {
    if (ids[1] === this.nanToken) return NaN;
    const x = this.targets[ids[1]!]!;
    let s = 0;
    for (let j = 0; j < theta.length; j++) s += (theta[j]! - x[j]!) ** 2;
    return s / 2;
  }
  async perturb(seed: Seed, scale: number, _o?: CallOptions): Promise<void> {
    this.log.push(`perturb ${seed} ${scale}`);
    const z = direction(seed, this.theta.length);
    const c = f(scale);
    for (let j = 0; j < z.length; j++) this.theta[j] = f(this.theta[j]! + f(c * z[j]!));
  }
  async update(pairs: SeedCoeff[], o?: UpdateOptions): Promise<void> {
    this.log.push(`update ${pairs.map((p) => `${p.seed}:${p.coeff}`).join(',')}`);
    const acc = new Float32Array(this.theta.length);
    for (const p of pairs) {
      const z = direction(p.seed, this.theta.length);
      const c = f(p.coeff);
      for (let j = 0; j < z.length; j++) acc[j] = f(acc[j]! + f(c * z[j]!));
    }
    for (let j = 0; j < acc.length; j++) this.theta[j] = f(this.theta[j]! + acc[j]!);
    // fused decay: in float32 the same bits as a separate decay pass after the update
    if (o?.decay !== undefined && o.decay !== 1) await this.decay(o.decay);
  }
  /** θ ← factor·θ in float32 (the fake's one tensor counts as a weight matrix). */
  async decay(factor: number, _o?: CallOptions): Promise<void> {
    this.log.push(`decay ${factor}`);
    const c = f(factor);
    for (let j = 0; j < this.theta.length; j++) this.theta[j] = f(c * this.theta[j]!);
  }
  async perExampleLoss(batch: LossBatch): Promise<LossResult> {
    const n = batch.inputIds.length;
    const loss = new Float64Array(n);
    for (let i = 0; i < n; i++) loss[i] = this.lossAt(this.theta, batch.inputIds[i]!);
    return { loss, targets: new Int32Array(n).fill(1) };
  }
  /** Losses at θ + Σ c·z per point, θ untouched (float32 reads, as the native virtual forward). */
  async perExampleLossAt(batch: LossBatch, points: SeedCoeff[][]): Promise<LossResult[]> {
    this.log.push(`lossAt ${points.map((p) => p.map((q) => `${q.seed}:${q.coeff}`).join(',')).join(' ')}`);
    return points.map((pairs) => {
      const at = Float32Array.from(this.theta);
      for (const p of pairs) {
        const z = direction(p.seed, at.length);
        const c = f(p.coeff);
        for (let j = 0; j < z.length; j++) at[j] = f(at[j]! + f(c * z[j]!));
      }
      const n = batch.inputIds.length;
      const loss = new Float64Array(n);
      for (let i = 0; i < n; i++) loss[i] = this.lossAt(at, batch.inputIds[i]!);
      return { loss, targets: new Int32Array(n).fill(1) };
    });
  }
  async logits(): Promise<Float32Array[]> {
    throw new Error('not in the fake');
  }
  async generate(): Promise<number[]> {
    throw new Error('not in the fake');
  }
  async weightsHash(): Promise<string> {
    const { createHash } = await import('node:crypto');
    return createHash('sha256')
      .update(Buffer.from(this.theta.buffer, this.theta.byteOffset, this.theta.byteLength))
      .digest('hex');
  }
  memory() {
    return { hostBytes: this.theta.byteLength, hostPeakBytes: this.theta.byteLength, deviceBytes: 0, devicePeakBytes: 0 };
  }
  async save(): Promise<void> {}
  dispose(): void {}
}

/** A tokens-task dataset whose example i has ids [1, token_i]. */
export function tokenDataset(tokens: number[]) {
  return {
    task: { kind: 'tokens' as const },
    source: 'fake',
    examples: tokens.map((t) => ({ inputIds: Int32Array.from([1, t]) })),
    generative: false,
  };
}

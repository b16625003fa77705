// defines: TrainOptions (everything a run is configured by) and makePlan, which
// validates them and calibrates the noise before any release: a bad option or
// an impossible budget is an error here, never mid-training.
import type { Dataset } from '../data/tasks.js';
import { type RunConfig, TRAIN_DEFAULTS, TRAIN_KEYS, type TrainKey } from './config.js';
import { DpzoError } from '../errors.js';
import { unknownKey } from '../unknown-key.js';
import { type AccountantKind, type Mechanism as Release, type ReleaseInput, planNoise, releaseOf } from '../privacy/index.js';
import type { ScheduleKind } from './schedule.js';

/** The training method of a run: DP-ZO (ARCHITECTURE §3) or DP-SGD (Abadi et al. 2016) through the backward pass. */
export type TrainMethod = 'dpzo' | 'dpsgd';
/** The optimizer a DP-SGD run's released gradient drives: plain SGD (θ ← θ − ηĝ) or Adam on ĝ. */
export type GradientOptimizer = 'sgd' | 'adam';
/** How DP-SGD computes per-example clipping (both give the same release): ghost norms, or per-example gradients held in micro-batches. */
export type ClipRegime = 'ghost' | 'per-example';

/** DP-SGD's default learning rates (DP-ZO's 1e-6 would not move a gradient step): by optimizer. */
export const DPSGD_LR = { sgd: 1e-2, adam: 1e-3 } as const;

/** Which noise a step adds (the parameters are in the plan); 'none' only in a non-private baseline (epsilon ∞). */
export type MechanismKind = 'gaussian' | 'laplace' | 'none';
type Mechanism = MechanismKind;

/** The run's fields the trainer reads, as RunConfig declares them (config.ts: one table for flags, config files and these options). */
type ConfigFields = Omit<Pick<RunConfig, TrainKey>, 'batchSize'>;

/**
 * Everything a training run is configured by: the data, the privacy budget, the mechanism and the DP-ZO hyperparameters. Passed to {@link DPZOTrainer};
 * {@link makePlan} validates it and calibrates the noise before any release. {@link prepareRun} builds it from a {@link RunConfig}.
 *
 * The fields shared with the run configuration (one table, `RUN_FIELDS` in lib/dpzo/config.ts, which also gives the CLI flags and
 * their help) are documented below; their defaults are applied by {@link makePlan}, not by the constructor.
 *
 * @property method `'dpzo'` (default): DP-ZO, ARCHITECTURE §3. `'dpsgd'`: DP-SGD (Abadi et al. 2016) — per-example gradients from the backward pass
 * clipped to L2 norm C, summed, Gaussian noise σC per coordinate, over B — with the same sampler, calibration, ledgers and budget; needs float32 weights on the
 * CPU backend. Its release is one Gaussian mechanism of sensitivity C at rate q, accounted exactly as a DP-ZO step (the dimension does not change the
 * privacy). `mechanism: 'laplace'`, `directions`, `zoEps` and `constantTimeSteps` do not apply to it and are refused.
 * @property optimizer DP-SGD: `'sgd'` (default; θ ← (1 − ηλ)(θ − ηĝ)) or `'adam'` (PyTorch's β1 0.9, β2 0.999, ε 1e-8; decoupled decay as AdamW).
 * @property clipRegime DP-SGD: `'ghost'` (default: per-example norms without per-example gradients, then one reweighted backward) or `'per-example'`
 * (each example's gradient materialised, `microBatch` at a time). Both release the same clipped sum up to float rounding.
 * @property microBatch DP-SGD per-example regime: gradients held at once (default 8); memory only, not the result. Refused with the ghost regime,
 * which holds no per-example gradients (`maxBatchTokens` bounds its memory).
 * @property checkpointEvery DP-SGD with a run directory: save the trainable weights and optimizer state every k steps, and always at the end (default 1:
 * an interruption loses at most the one update in flight; its privacy cost stays in the ledger). Refused without `runDir`.
 * @property epsilon The privacy budget ε (> 0) the run may spend, as measured by `accountant`. Required. `Infinity`: a NOT PRIVATE baseline that
 * measures what privacy costs: no noise, no clipping unless `clip` is given, and `mechanism`, `noiseMultiplier`, `laplaceScale` refused.
 * @property delta The privacy budget δ, in (0, 1); ε is reported at this δ. Required.
 * @property accountant `'pld'` (default), `'prv'` (Opacus' name for the same PLD accounting) or `'rdp'`; calibrates σ (or b) and enforces the budget.
 * @property mechanism `'gaussian'` (default) or `'laplace'` noise on the released sum.
 * @property noiseMultiplier Explicit Gaussian σ (a multiple of the sensitivity) instead of calibration; must fit the budget.
 * @property laplaceScale Explicit Laplace scale b of the noise on the clipped sum (the privacy depends on b/C) instead of calibration; must fit the budget.
 * @property sampleRate Poisson sampling rate q in (0, 1] fixed a priori; the dataset size N is then never used in a release nor recorded (add/remove DP), and `batchSize` is the public divisor. Default: q = batchSize / N (N treated as public).
 * @property steps Number of DP-ZO steps (releases). Exclusive with `epochs`; one of them is required.
 * @property epochs Steps = ceil(epochs·N / batchSize); not allowed with `sampleRate` (it would publish N).
 * @property lr Peak learning rate η (≥ 0; default 1e-6 for DP-ZO, for DP-SGD 1e-2 with SGD and 1e-3 with Adam).
 * @property schedule Learning-rate schedule `'constant'` (default), `'linear'` or `'cosine'` (both decay from `lr` towards 0 at `steps`, after warmup).
 * @property warmupSteps Linear warmup over this many steps: η·(t+1)/warmupSteps at step t, so the first step already moves (η/warmupSteps, not
 * Hugging Face's 0: a step at η = 0 would spend privacy for nothing) and step warmupSteps − 1 reaches η (default 0; at most `steps`).
 * @property zoEps Perturbation scale ε_zo of the two-point estimate (default 1e-3).
 * @property clip Per-example clipping threshold C on the vector of an example's directional derivatives (L2 norm for Gaussian, L1 for Laplace; default 1, none in a non-private baseline); the sensitivity of the released sum is C (2C with cutting constant-time steps).
 * @property directions Random directions z per step (default 1); each adds one released scalar ĝ.
 * @property weightDecay Decoupled weight decay λ, θ ← (1 − ηλ)θ on weight matrices only, never biases or norms (default 0; ηλ must stay below 1).
 * @property evalEvery Evaluate `eval` every k steps (default 0: before and after the run only).
 * @property evalPublic Declare the evaluation set public (default false: a warning says its metrics are outside the guarantee).
 * @property privateDiagnostics Also report statistics of the private batches (loss, batch size, clipping), NOT covered by the guarantee (default false).
 * @property datasetBudget An ε budget of the training file over all runs on it (at this run's δ), kept in its dataset ledger; fixed by the first run that sets it.
 * @property maxBatchTokens Most tokens per native forward call (default 16384), and per backward call of DP-SGD's ghost regime; bounds memory, not the result.
 * @property constantTimeSteps Every step evaluates this many example slots of the dataset's maximum length (padded with dummies or cut at the bound), so a step's duration does not depend on the private batch; a possible cut doubles the sensitivity (docs/privacy.md); at most 2^20 slots and 2^25 slot tokens (MAX_CONSTANT_TIME_SLOTS, MAX_CONSTANT_TIME_TOKENS).
 *
 * @throws {@link DpzoError} `ERR_TRAIN_OPTION` from {@link makePlan} (and so from `DPZOTrainer.plan()`/`train()`) for a value out of range or of the wrong
 * type, a missing/conflicting field, or a name that is not an option (a typo is never ignored), `ERR_DATA_EMPTY` for an empty training set, and a {@link PrivacyError} (`ERR_BUDGET_IMPOSSIBLE`, `ERR_BUDGET_EXCEEDED`) when no
 * noise fits the budget or the explicit σ/b does not.
 */
export interface TrainOptions extends ConfigFields {
  /** The private training set (from {@link loadDataset} or {@link buildDataset}). Its `source` file, when it is one, keys the dataset ledger. */
  train: Dataset;
  /** Held-out set evaluated before, after (not after a cancel), and every `evalEvery` steps. */
  eval?: Dataset;
  /** Evaluate on the first n examples of `eval` only (default: all). */
  evalMaxExamples?: number;
  /** Tokenizer decode, for generation metrics on prompt/completion eval data. */
  decode?: (ids: number[]) => string;
  /** Token id that ends a generation (the tokenizer's EOS, else the model config's); null or absent: generate up to the token limit. */
  eosTokenId?: number | null;
  /** Expected batch size q·N (Poisson sampling: actual batches vary). */
  batchSize: number;
  /** Trajectory checkpoint directory (run.json, trajectory.jsonl, ledger.jsonl). */
  runDir?: string;
  /**
   * Continue the run in `runDir` from its last complete step (replaying its trajectory) instead of starting a new one (default false). The options must match
   * the plan in its run.json, else `ERR_RUN_MISMATCH`. A finished run (its `metrics.jsonl`, as `dpzo train` writes it, ending in the report of a completed
   * run or of one stopped at its budget) is not replayed: train() returns the report it recorded, evaluating and writing nothing.
   */
  resume?: boolean;
  /** Trainable patterns the model was loaded with (recorded for export/resume). */
  trainable?: string[];
  /**
   * Record every release in the training file's dataset ledger too (default true when `train` was read
   * from a file): runs on the same private data compose, and a rolled-back run directory is refused.
   */
  datasetLedger?: boolean;
  /** Where dataset ledgers live (default $DPZO_HOME, else ~/.dpzo). */
  dpzoHome?: string;
  /** Free-form facts recorded in run.json (the CLI puts its data files and task here). */
  meta?: Record<string, unknown>;
}

/**
 * The validated, calibrated plan of a run ({@link makePlan}): every default applied, σ (or b) chosen, the steps fixed. Recorded in run.json; a resume must
 * reproduce it.
 */
export interface TrainPlan {
  /** The training method (run.json of runs made before DP-SGD existed has none: DP-ZO). */
  method: TrainMethod;
  /** DP-SGD: the optimizer ĝ drives. */
  optimizer?: GradientOptimizer;
  /** DP-SGD: how per-example clipping is computed. */
  clipRegime?: ClipRegime;
  /**
   * N, when the run treats it as public (q = B/N derived from it). Absent when the sampling rate was
   * fixed a priori (TrainOptions.sampleRate): N is then in no run file, report or release.
   */
  datasetSize?: number;
  /** B: the expected batch q·N, or with a given sampling rate the public divisor of ĝ. */
  expectedBatch: number;
  /** Poisson sampling rate q in (0, 1]: each example joins each step's batch independently with probability q. */
  sampleRate: number;
  /** Planned number of steps T (releases). */
  steps: number;
  /** The noise mechanism of every release (`'none'` in a non-private baseline: epsilon ∞). */
  mechanism: Mechanism;
  /** Gaussian noise multiplier σ (noise standard deviation σ·sensitivity); present for the Gaussian mechanism. */
  noiseMultiplier?: number;
  /** Laplace scale b of the noise on the clipped sum; present for the Laplace mechanism. */
  laplaceScale?: number;
  /** Per-example clipping threshold C (L2 norm over the directions for Gaussian noise, L1 for Laplace). */
  clip: number;
  /** Random directions per step (released scalars ĝ per step); 1 for DP-SGD, whose step releases one noisy gradient vector. */
  directions: number;
  /** Perturbation scale ε_zo of the two-point estimate (ℓ(θ + ε_zo·z) − ℓ(θ − ε_zo·z)) / 2ε_zo; absent for DP-SGD. */
  zoEps?: number;
  /** Peak learning rate η. */
  lr: number;
  /** Learning-rate schedule after warmup. */
  schedule: ScheduleKind;
  /** Steps of linear warmup from `lr`/warmupSteps (the first step) to `lr` (schedule.ts). */
  warmupSteps: number;
  /** Decoupled weight decay λ (0: none). */
  weightDecay: number;
  /** The (ε, δ) budget the run may spend. */
  budget: { epsilon: number; delta: number };
  /** The accountant that calibrated the noise and enforces the budget (`'prv'` is stored as `'pld'`). */
  accountant: AccountantKind;
  /** ε the accountant predicts after all planned steps. */
  predictedEpsilon: number;
  /** Whether σ/b came from calibration (else given explicitly). */
  calibrated: boolean;
  /**
   * Constant-time steps: every step evaluates `slots` example slots of `length` tokens (the sampled batch
   * padded with dummy slots, or cut to `slots` uniformly at random), so a step's duration does not depend
   * on the private batch. A cut lets one example displace another, so the released sum's sensitivity is
   * 2C whenever a cut is possible (releaseSensitivity).
   */
  constantTime?: { slots: number; length: number };
}

/**
 * The sensitivity of the released sum Σ_i clip(g_i) under add/remove adjacency: C, or 2C when constant-time
 * steps may cut a batch (a cut can drop an example to make room for the added one). No cut is possible only
 * when N is public and every example of either neighbour fits in the slots: the added neighbour has N + 1
 * examples, so K > N (with K = N and q = 1 its batch of N + 1 was always cut, and Δ = C understated the release).
 */
export function releaseSensitivity(p: Pick<TrainPlan, 'clip' | 'constantTime' | 'datasetSize'>): number {
  const cut = p.constantTime !== undefined && !(p.datasetSize !== undefined && p.constantTime.slots > p.datasetSize);
  return cut ? 2 * p.clip : p.clip;
}

const DEFAULTS = TRAIN_DEFAULTS;

/**
 * The clip of a non-private baseline run given no clip: every per-example vector passes unchanged. The
 * largest double rather than ∞, because run.json and the ledger are JSON (which has no ∞).
 */
export const NO_CLIP = Number.MAX_VALUE;

/** The norm per-example vectors are clipped in: L1 for the Laplace mechanism (its sensitivity), else L2. */
export function clipNorm(p: Pick<TrainPlan, 'mechanism'>): 'l1' | 'l2' {
  return p.mechanism === 'laplace' ? 'l1' : 'l2';
}

/** The budget a run's ledger enforces: none in a non-private run (ε ∞ has nothing to enforce, and JSON has no ∞). */
export function ledgerBudget(p: Pick<TrainPlan, 'budget'>): { epsilon: number; delta: number } | undefined {
  return Number.isFinite(p.budget.epsilon) ? p.budget : undefined;
}

/** A plan without privacy: epsilon ∞, no noise (the baseline that measures what privacy costs). */
export function isNonPrivate(p: Pick<TrainPlan, 'mechanism'>): boolean {
  return p.mechanism === 'none';
}

/** Why a run with `private: false` is not private, in words for every output that says so. */
export function notPrivateReason(p: Pick<TrainPlan, 'mechanism'>): string {
  return isNonPrivate(p)
    ? 'epsilon is ∞: no noise was added (a non-private baseline); nothing about the training data is protected'
    : 'test hooks injected seeds, noise or batches: no privacy claim is made';
}

/**
 * "<field> <why>", the option named as the API names it; `field` and `mentions` (the other options `why` names) travel with the
 * error, so that the CLI names the flags a user typed (`--batch-size`) or the config file that set them.
 */
function bad(field: string, why: string, mentions?: readonly string[]): DpzoError {
  return new DpzoError('ERR_TRAIN_OPTION', `${field} ${why}`, { field, ...(mentions ? { mentions } : {}) });
}

// |z| of a Philox direction (native/core/model.cpp kMaxAbsZ: u >= 2^-24) and the float32 range of the weights
const MAX_ABS_Z = 5.8;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Every step moves θ by ε_zo·z (perturbation) and by lr·ĝ·z (update); when either is beyond float32 for any batch the
 * run can only fail, and used to fail mid-run (--lr/--clip 1e300 after the first release was spent, --zo-eps 1e300 with
 * "coefficient 0 is not finite"). Refused here, from the plan alone (no private data): |ĝ| <= (N·C + |ξ|)/(q·N) with
 * |ξ| <= 64·σC (Gaussian) or 1000·b (Laplace), tails of probability below e^-1000.
 */
/**
 * `count` examples of norm C plus the noise tail, over `divisor`: the largest ĝ. With a fixed sampling
 * rate N must not decide anything (a refusal would release it), so the bound counts one example there.
 * The float32 range holds in every dtype: the virtual points θ ± ε_zo·z are read as float32 and never
 * stored, so ε_zo has no float16 bound. A float16 update |lr·ĝ·z| beyond 65504 cannot be refused here:
 * it depends on the released ĝ, which may be as small as 0. The core refuses such an update after its
 * release (ERR_NON_FINITE) and the step is void (lib/dpzo/step.ts), as in the test of exact-step.test.ts.
 */
function checkFloatReach(zoEps: number, lr: number, clip: number, divisor: number, count: number, m: Release): void {
  if (!(zoEps * MAX_ABS_Z < FLOAT32_MAX))
    throw bad('zoEps', `(${zoEps}) moves the float32 weights beyond their range (ε_zo·max|z| must stay below ${FLOAT32_MAX})`);
  const noise = m.kind === 'gaussian' ? 64 * m.noiseMultiplier * clip : m.kind === 'laplace' ? 1000 * m.scale : 0;
  const gMax = (count * clip + noise) / divisor;
  if (!(lr * gMax * MAX_ABS_Z < FLOAT32_MAX))
    throw bad(
      'lr',
      `(${lr}) × the largest possible update ${gMax.toPrecision(3)} (from clip ${clip} and the noise) moves the float32 weights beyond their range`,
      ['clip'],
    );
}

function positive(v: number | undefined, field: string): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw bad(field, `must be a positive number (got ${v})`);
}

function positiveInt(v: number | undefined, field: string): void {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw bad(field, `must be a positive integer (got ${v})`);
}

/** The options of TrainOptions beyond the config table's (the compiler checks that the two lists hold every key). */
const OTHER_KEYS: Record<Exclude<keyof TrainOptions, TrainKey>, true> = {
  train: true,
  eval: true,
  evalMaxExamples: true,
  decode: true,
  eosTokenId: true,
  runDir: true,
  resume: true,
  trainable: true,
  datasetLedger: true,
  dpzoHome: true,
  meta: true,
};
const KNOWN_KEYS = new Set<string>([...TRAIN_KEYS, ...Object.keys(OTHER_KEYS)]);

/**
 * The options' names and the types the checks below do not reach: a misspelt name (datasetBudgte, privateDiagnostic) was ignored and
 * a string given for a boolean was truthy (privateDiagnostics: 'false' reported the private statistics).
 */
function checkShape(o: TrainOptions): void {
  if (typeof o !== 'object' || o === null) throw bad('options', 'must be an object');
  const unknown = unknownKey(o, KNOWN_KEYS);
  if (unknown !== undefined) throw bad(unknown, 'is not an option of the trainer (misspelt?)');
  if (typeof o.train !== 'object' || o.train === null || !Array.isArray(o.train.examples))
    throw bad('train', 'must be a dataset (from loadDataset or buildDataset)');
  for (const k of ['evalPublic', 'privateDiagnostics', 'resume', 'datasetLedger'] as const)
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw bad(k, `must be true or false (got a ${typeof o[k]})`);
  for (const k of ['runDir', 'dpzoHome'] as const) if (o[k] !== undefined && typeof o[k] !== 'string') throw bad(k, `must be a path (got a ${typeof o[k]})`);
  if (o.resume === true && !o.runDir) throw bad('resume', 'needs runDir: the run directory to continue', ['runDir']);
  if (o.epsilon === undefined) throw bad('epsilon', 'is required (the privacy budget ε; Infinity for a non-private baseline)');
  positiveInt(o.evalMaxExamples, 'evalMaxExamples');
  positive(o.datasetBudget, 'datasetBudget');
  if (o.eosTokenId != null && !(Number.isInteger(o.eosTokenId) && o.eosTokenId >= 0))
    throw bad('eosTokenId', `must be a token id, a non-negative integer (got ${o.eosTokenId})`);
  if (o.decode !== undefined && typeof o.decode !== 'function') throw bad('decode', 'must be a function of token ids');
}

/**
 * What a DP-SGD plan adds (optimizer, clip regime), and the refusal of what does not apply to DP-SGD: its
 * release is a Gaussian vector clipped in L2, it has no directions nor ε_zo, and no constant-time steps
 * (a backward's duration is not padded); DP-ZO refuses DP-SGD's fields likewise.
 */
function checkDpsgd(o: TrainOptions, nonPrivate: boolean): { optimizer: GradientOptimizer; clipRegime: ClipRegime } {
  if (!nonPrivate && o.mechanism === 'laplace') throw bad('mechanism', 'laplace does not apply to dpsgd: its release is a Gaussian vector clipped in L2 norm');
  if (o.directions !== undefined) throw bad('directions', 'applies to method dpzo only (a dpsgd step releases one gradient)', ['method']);
  if (o.zoEps !== undefined) throw bad('zoEps', 'applies to method dpzo only (dpsgd takes gradients from the backward pass)', ['method']);
  if (o.constantTimeSteps !== undefined) throw bad('constantTimeSteps', 'applies to method dpzo only', ['method']);
  const optimizer = o.optimizer ?? 'sgd';
  if (optimizer !== 'sgd' && optimizer !== 'adam') throw bad('optimizer', `must be sgd or adam (got '${String(optimizer)}')`);
  const clipRegime = o.clipRegime ?? 'ghost';
  if (clipRegime !== 'ghost' && clipRegime !== 'per-example') throw bad('clipRegime', `must be ghost or per-example (got '${String(clipRegime)}')`);
  positiveInt(o.microBatch, 'microBatch');
  // the ghost regime holds no per-example gradients: a micro-batch given with it (the default regime) was ignored in
  // silence, read as a memory bound (Opacus' max_physical_batch_size) that did not act; a run made so before still resumes
  if (o.microBatch !== undefined && clipRegime === 'ghost' && o.resume !== true)
    throw bad(
      'microBatch',
      "applies to clipRegime 'per-example' only: the ghost regime holds no per-example gradients (its memory is bounded by maxBatchTokens)",
      ['clipRegime', 'maxBatchTokens'],
    );
  positiveInt(o.checkpointEvery, 'checkpointEvery');
  // without a run directory nothing is checkpointed: the value was ignored in silence
  if (o.checkpointEvery !== undefined && !o.runDir)
    throw bad('checkpointEvery', 'needs a run directory (runDir): without one no checkpoint is written', ['runDir']);
  return { optimizer, clipRegime };
}

function refuseDpsgdFields(o: TrainOptions): void {
  for (const k of ['optimizer', 'clipRegime', 'microBatch', 'checkpointEvery'] as const)
    if (o[k] !== undefined) throw bad(k, "applies to method dpsgd only (give method 'dpsgd')", ['method']);
}

/**
 * The most steps a run may plan: 10^8, where `dpzo calibrate` stops its search for the steps a noise affords. More (a typo,
 * `--steps 99999999999`, or `--epochs 1e9`) was accepted in silence: the noise calibrated for that many releases (σ ≈ 16,000
 * at ε = 8) drowned every update, and the run would have ended after years.
 */
export const MAX_STEPS = 100_000_000;

/**
 * The most slots a constant-time step may hold, 2^20, and the most tokens they may hold together, 2^25 (K × the slot length).
 * Every step builds all its K padded slots at once (constant-time.ts padSlots: two Int32Arrays of the slot length per slot,
 * about 8·L + 500 bytes of JS memory each) and evaluates every one of them, dummies included, twice per direction: so these
 * bounds keep a step under about 1 GiB of slots. `--constant-time-steps 1000000000` was accepted: the first step's slots grew
 * the process past 14 GB, and the allocation, one synchronous loop, held off SIGTERM (its handler runs on the event loop).
 * Where N is public, N + 1 slots already rule out a cut.
 */
export const MAX_CONSTANT_TIME_SLOTS = 2 ** 20;
export const MAX_CONSTANT_TIME_TOKENS = 2 ** 25;

/** ceil(x) where x = e·N/B is an integer up to the rounding of e (1.1·100/10 = 11.000000000000002 is 11 steps, not 12). */
export function ceilSteps(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) <= 1e-9 * Math.max(1, r) ? r : Math.ceil(x);
}

function checkConstantTime({ slots, length }: { slots: number; length: number }): void {
  if (slots > MAX_CONSTANT_TIME_SLOTS) throw bad('constantTimeSteps', `(${slots}) is more than the most slots a step may hold, ${MAX_CONSTANT_TIME_SLOTS}`);
  if (slots * length > MAX_CONSTANT_TIME_TOKENS)
    throw bad(
      'constantTimeSteps',
      `(${slots}) × the slot length ${length} is ${slots * length} tokens a step, more than the most a step may hold, ${MAX_CONSTANT_TIME_TOKENS}`,
    );
}

/**
 * Validates `o`, applies the defaults (method dpzo; lr 1e-6 — DP-SGD: 1e-2 sgd, 1e-3 adam; optimizer sgd, clipRegime ghost —, zoEps 1e-3, clip 1, directions 1, weightDecay 0, schedule constant, warmupSteps 0, mechanism gaussian,
 * accountant pld) and calibrates the noise multiplier σ (or Laplace scale b) so that `steps` releases spend at most the (ε, δ) budget. Makes no release,
 * reads no private data beyond N (and not N when `sampleRate` is given), writes nothing.
 *
 * @param o The run's options.
 * @returns The plan every step follows.
 * @throws {@link DpzoError} `ERR_TRAIN_OPTION` naming the field (out of range or of the wrong type, not an option, missing epsilon/steps/epochs, conflicting fields, a learning rate or ε_zo whose update
 * would leave the float32 range), `ERR_DATA_EMPTY` (no training examples); {@link PrivacyError} `ERR_BUDGET_IMPOSSIBLE` or {@link PrivacyBudgetExceededError}
 * when the budget cannot be met.
 */
export function makePlan(o: TrainOptions): TrainPlan {
  checkShape(o);
  const N = o.train.examples.length;
  if (N === 0) throw new DpzoError('ERR_DATA_EMPTY', 'the training set has no examples');
  // epsilon ∞: the non-private baseline (no noise; no clipping unless a clip is given)
  const nonPrivate = o.epsilon === Infinity;
  if (!nonPrivate) positive(o.epsilon, 'epsilon');
  if (nonPrivate) {
    if (o.mechanism !== undefined) throw bad('mechanism', `has no noise to add: epsilon is ∞ (a non-private run); drop it`, ['epsilon']);
    if (o.noiseMultiplier !== undefined || o.laplaceScale !== undefined)
      throw bad('epsilon', 'is ∞ (a non-private run without noise): drop noiseMultiplier / laplaceScale', ['noiseMultiplier', 'laplaceScale']);
  }
  if (!(typeof o.delta === 'number' && o.delta > 0 && o.delta < 1)) throw bad('delta', `must be in (0, 1) (got ${o.delta})`);
  const fixedRate = o.sampleRate !== undefined;
  if (fixedRate) {
    if (!(Number.isFinite(o.sampleRate) && o.sampleRate! > 0 && o.sampleRate! <= 1)) throw bad('sampleRate', `must be in (0, 1] (got ${o.sampleRate})`);
    if (!(Number.isFinite(o.batchSize) && o.batchSize > 0))
      throw bad('batchSize', 'must be given with sampleRate: the public divisor B of the released sum (about q·N, chosen without looking at N)', [
        'sampleRate',
      ]);
    // epochs = e·N/B steps would publish N through T
    if (o.epochs !== undefined) throw bad('epochs', 'needs the dataset size N, which a fixed sampleRate keeps private: give steps', ['sampleRate', 'steps']);
  } else {
    positive(o.batchSize, 'batchSize');
    // (this error names N: in this mode N is public anyway)
    if (o.batchSize > N) throw bad('batchSize', `(${o.batchSize}) exceeds the training set size ${N}`);
  }
  const method = o.method ?? DEFAULTS.method;
  if (method !== 'dpzo' && method !== 'dpsgd') throw bad('method', `must be dpzo or dpsgd (got '${String(method)}')`);
  const gradient = method === 'dpsgd' ? checkDpsgd(o, nonPrivate) : undefined;
  if (!gradient) refuseDpsgdFields(o);
  if (o.steps !== undefined && o.epochs !== undefined) throw bad('steps', 'and epochs are exclusive: give one', ['epochs']);
  positiveInt(o.steps, 'steps');
  positive(o.epochs, 'epochs');
  positive(o.zoEps, 'zoEps');
  positive(o.clip, 'clip');
  positiveInt(o.directions, 'directions');
  positiveInt(o.evalEvery === 0 ? undefined : o.evalEvery, 'evalEvery');
  positiveInt(o.maxBatchTokens, 'maxBatchTokens');
  positiveInt(o.constantTimeSteps, 'constantTimeSteps');
  const length = o.train.maxLength;
  if (o.constantTimeSteps !== undefined && !(Number.isInteger(length) && length! > 0))
    throw bad('constantTimeSteps', 'needs the public maximum length of the training set (a dataset from loadDataset has it)');
  const constantTime = o.constantTimeSteps !== undefined ? { slots: o.constantTimeSteps, length: length! } : undefined;
  if (constantTime) checkConstantTime(constantTime);
  if (o.lr !== undefined && !(Number.isFinite(o.lr) && o.lr >= 0)) throw bad('lr', `must be a non-negative number (got ${o.lr})`);
  if (o.warmupSteps !== undefined && !(Number.isInteger(o.warmupSteps) && o.warmupSteps >= 0))
    throw bad('warmupSteps', `must be a non-negative integer (got ${o.warmupSteps})`);
  const schedule = o.schedule ?? DEFAULTS.schedule;
  if (!['constant', 'linear', 'cosine'].includes(schedule)) throw bad('schedule', `must be constant, linear or cosine (got '${schedule}')`);
  const mechanism = nonPrivate ? 'none' : (o.mechanism ?? DEFAULTS.mechanism);
  if (!nonPrivate && mechanism !== 'gaussian' && mechanism !== 'laplace') throw bad('mechanism', `must be gaussian or laplace (got '${mechanism}')`);
  // 'prv' is what Opacus calls its privacy-random-variable accountant: the same PLD composition
  const given = o.accountant ?? DEFAULTS.accountant;
  const accountant = given === 'prv' ? 'pld' : given;
  if (accountant !== 'pld' && accountant !== 'rdp') throw bad('accountant', `must be pld (or prv) or rdp (got '${accountant}')`);
  const lr = o.lr ?? (gradient ? DPSGD_LR[gradient.optimizer] : DEFAULTS.lr);
  const weightDecay = o.weightDecay ?? DEFAULTS.weightDecay;
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) throw bad('weightDecay', `must be a finite number ≥ 0 (got ${weightDecay})`);
  // decoupled decay θ ← (1 − ηλ)θ needs a factor in (0, 1] at every step's η (η never exceeds the peak lr)
  if (weightDecay > 0 && !(lr * weightDecay < 1)) throw bad('weightDecay', `(${weightDecay}) × lr must be below 1 (got ${lr * weightDecay})`, ['lr']);
  if (mechanism === 'gaussian' && o.laplaceScale !== undefined) throw bad('laplaceScale', 'applies to the laplace mechanism only');
  if (mechanism === 'laplace' && o.noiseMultiplier !== undefined) throw bad('noiseMultiplier', 'applies to the gaussian mechanism only');
  positive(o.noiseMultiplier, 'noiseMultiplier');
  positive(o.laplaceScale, 'laplaceScale');

  const sampleRate = fixedRate ? o.sampleRate! : o.batchSize / N;
  const steps = o.steps ?? (o.epochs !== undefined ? Math.max(1, ceilSteps((o.epochs * N) / o.batchSize)) : undefined);
  if (steps === undefined) throw bad('steps', 'or epochs must be given', ['epochs']);
  if (steps > MAX_STEPS) {
    const why = `more than the most a run may plan, ${MAX_STEPS}`;
    throw o.steps !== undefined ? bad('steps', `(${steps}) is ${why}`) : bad('epochs', `(${o.epochs}) gives ${steps} steps, ${why}`);
  }
  const warmupSteps = o.warmupSteps ?? 0;
  if (warmupSteps > steps) throw bad('warmupSteps', `(${warmupSteps}) exceeds the number of steps ${steps}`);
  const clip = o.clip ?? (nonPrivate ? NO_CLIP : DEFAULTS.clip);
  const budget = { epsilon: o.epsilon, delta: o.delta };
  // the noise is calibrated to the sum's sensitivity (2C when constant-time steps may cut a batch)
  const sensitivity = releaseSensitivity({ clip, constantTime, datasetSize: fixedRate ? undefined : N });
  const noise =
    mechanism === 'none'
      ? { mechanism: { kind: 'none' as const, sampleRate }, epsilon: Infinity, calibrated: false }
      : planNoise({
          budget,
          mechanism,
          sampleRate,
          steps,
          clip: sensitivity,
          accountant,
          noiseMultiplier: o.noiseMultiplier,
          laplaceScale: o.laplaceScale,
        });
  // an unclipped baseline has no bound on ĝ to check (a non-finite update fails the step instead)
  if (clip !== NO_CLIP)
    checkFloatReach(gradient ? 0 : (o.zoEps ?? DEFAULTS.zoEps), lr, sensitivity, fixedRate ? o.batchSize : sampleRate * N, fixedRate ? 1 : N, noise.mechanism);
  return {
    method,
    ...(gradient ?? {}),
    ...(fixedRate ? {} : { datasetSize: N }),
    expectedBatch: o.batchSize,
    sampleRate,
    steps,
    mechanism,
    ...(noise.mechanism.kind === 'gaussian'
      ? { noiseMultiplier: noise.mechanism.noiseMultiplier }
      : noise.mechanism.kind === 'laplace'
        ? { laplaceScale: noise.mechanism.scale }
        : {}),
    clip,
    directions: gradient ? 1 : (o.directions ?? DEFAULTS.directions),
    ...(gradient ? {} : { zoEps: o.zoEps ?? DEFAULTS.zoEps }),
    lr,
    schedule,
    warmupSteps,
    weightDecay,
    budget,
    accountant,
    predictedEpsilon: noise.epsilon,
    calibrated: noise.calibrated,
    ...(constantTime ? { constantTime } : {}),
  };
}

/** The release every step of `plan` makes, as the accountants and the ledger see it. */
export function planRelease(p: TrainPlan): Release {
  if (p.mechanism === 'none') return { kind: 'none', sampleRate: p.sampleRate };
  return p.mechanism === 'gaussian'
    ? { kind: 'gaussian', sampleRate: p.sampleRate, noiseMultiplier: p.noiseMultiplier! }
    : { kind: 'laplace', sampleRate: p.sampleRate, clip: releaseSensitivity(p), scale: p.laplaceScale! };
}

/** Step t's ledger line. */
export function stepRelease(plan: TrainPlan, t: number): ReleaseInput {
  return releaseOf(planRelease(plan), { step: t, clip: plan.clip, directions: plan.directions });
}

/** The divisor of the released sum: q·N when N is public (as it always was), else the public B. */
export function releaseDivisor(p: TrainPlan): number {
  return p.datasetSize === undefined ? p.expectedBatch : p.sampleRate * p.datasetSize;
}

// defines: DPZOTrainer — the DP-ZO training loop of ARCHITECTURE §3 over a
// Model: Poisson batches, seeded directions, per-example clipping, CSPRNG
// noise, the ledger before the update, the restore fused into the update, and
// (with a run directory) a trajectory checkpoint that replays bit for bit.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { PoissonSampler } from '../data/poisson.js';
import { DpzoError } from '../errors.js';
import type { Model } from '../model/types.js';
import { type Release, type ReleaseLedger, type Spent, epsilonOf, memoryLedger, openFileLedger, rdpTracker, spent } from './accounting.js';
import { clipScalars } from './clip.js';
import { estimateScalars } from './estimator.js';
import { type EvalResult, evaluate, improved } from './evaluate.js';
import { testHooksOf } from './hooks.js';
import { releaseNoise } from './noise.js';
import { type TrainOptions, type TrainPlan, makePlan } from './options.js';
import { replayTrajectory } from './replay.js';
import { learningRate } from './schedule.js';
import {
  LEDGER_FILE, RUN_FILE, RUN_FORMAT, TrajectoryWriter, ensureDir, readRunJson, readTrajectory, seedsToStrings, truncateTorn, writeJsonAtomic,
} from './trajectory.js';
import { applyUpdate } from './walk.js';

/**
 * Statistics of the private batch: NOT released by the mechanism and outside
 * the guarantee. Present only when TrainOptions.privateDiagnostics is true.
 */
export interface PrivateStepDiagnostics {
  /** Mean (ℓ⁺+ℓ⁻)/2 on the sampled batch. */
  loss: number;
  /** |S|, the Poisson batch size. */
  batchSize: number;
  clipped: number;
  nonFinite: number;
}

/** What a step reports by default: only public values and what the mechanism released. */
export interface StepInfo {
  step: number;
  steps: number;
  lr: number;
  /** Released ĝ. */
  gHat: number[];
  /** ε spent so far by RDP (cheap, computed every step; looser than PLD). */
  epsilonRdp: number;
  /**
   * ε spent so far by the accountant that enforces the budget (PLD by default):
   * refreshed about 20 times a run and at the last step (a PLD composition is
   * not free), else the last value computed.
   */
  epsilon: number;
  privateDiagnostics?: PrivateStepDiagnostics;
}

export interface EvalEvent {
  step: number;
  result: EvalResult;
}

export interface TrainCallbacks {
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void | Promise<void>;
  onEval?: (e: EvalEvent) => void | Promise<void>;
  onWarning?: (message: string) => void;
}

export type StopReason = 'completed' | 'budget' | 'cancelled';

export interface TrainReport {
  /** False when test hooks injected seeds, noise or batches: no privacy claim. */
  private: boolean;
  stopReason: StopReason;
  steps: number;
  plannedSteps: number;
  plan: TrainPlan;
  epsilon: Spent;
  budget: { epsilon: number; delta: number };
  metric?: { name: string; before: number; after: number; improved: boolean };
  evalBefore?: EvalResult;
  evalAfter?: EvalResult;
  evalPublic: boolean;
  warnings: string[];
  /**
   * Run-level wall time (start to end) and steps over it. Nothing per step carries a time: a step's
   * duration grows with the tokens in its Poisson batch, so per-step times reveal who was sampled.
   */
  seconds: number;
  stepsPerSecond: number;
  /** Only with TrainOptions.privateDiagnostics: statistics of the private data, outside the guarantee. */
  privateDiagnostics?: { sampled: number; clippedFraction: number; nonFinite: number };
  runDir?: string;
  weightsHash?: string;
}

export interface RunRecord {
  format: typeof RUN_FORMAT;
  createdAt: string;
  private: boolean;
  model: { dir: string; weightsHash: string; dtype: string; trainable: string[] | null; trainableNames: string[]; numTrainable: number };
  plan: TrainPlan;
  meta: Record<string, unknown>;
}

const PLAN_KEYS: (keyof TrainPlan)[] = ['datasetSize', 'expectedBatch', 'steps', 'mechanism', 'noiseMultiplier', 'laplaceScale', 'clip', 'directions', 'zoEps', 'lr', 'schedule', 'warmupSteps', 'weightDecay', 'budget', 'accountant'];

function randomSeed(): bigint {
  return randomBytes(8).readBigUInt64LE(0);
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

export class DPZOTrainer {
  readonly model: Model;
  readonly options: TrainOptions;
  private planCache: TrainPlan | null = null;
  private running = false;
  /** Without a run directory: the releases of every train() call so far (a second call continues, never a fresh budget). */
  private memory: (ReleaseLedger & { entries(): Release[] }) | null = null;

  constructor(model: Model, options: TrainOptions) {
    this.model = model;
    this.options = options;
  }

  /** Validates the options and calibrates σ (or b): no release, no file written. */
  plan(): TrainPlan {
    this.planCache ??= makePlan(this.options);
    return this.planCache;
  }

  async train(cb: TrainCallbacks = {}): Promise<TrainReport> {
    if (this.running) throw new DpzoError('ERR_TRAIN_BUSY', 'this trainer is already training');
    this.running = true;
    try {
      return await this.run(cb);
    } finally {
      this.running = false;
    }
  }

  private async run(cb: TrainCallbacks): Promise<TrainReport> {
    const t0 = performance.now();
    const o = this.options;
    const model = this.model;
    const plan = this.plan();
    const hooks = testHooksOf(this);
    const isPrivate = hooks === undefined;
    const warnings: string[] = [];
    const warn = (m: string) => {
      warnings.push(m);
      cb.onWarning?.(m);
    };
    if (!isPrivate) warn('test hooks are installed: seeds, noise or batches are injected and this run is NOT private');
    if (o.eval && (o.eval === o.train || (o.eval.source !== '' && o.train.source !== '' && resolve(o.eval.source) === resolve(o.train.source)))) {
      // --eval-public cannot make the private training file public
      warn(`the evaluation set is the training set (${o.train.source || 'the same dataset'}): its metrics are statistics of the private data, outside the differential privacy guarantee`);
    } else if (o.eval && !o.evalPublic) {
      warn('the evaluation set is not declared public: metrics computed on private data are outside the differential privacy guarantee');
    }
    if (model.numTrainable === 0) throw new DpzoError('ERR_TRAIN_OPTION', 'the model has no trainable parameters (check the trainable patterns)');
    const evalOpts = { maxExamples: o.evalMaxExamples, maxBatchTokens: o.maxBatchTokens, decode: o.decode, eosTokenId: o.eosTokenId, signal: cb.signal };

    // -- the run directory: a fresh one, or a resume that replays the trajectory --
    let ledger: ReleaseLedger & { entries(): Release[] };
    let writer: TrajectoryWriter | null = null;
    let start = 0;
    let evalBefore: EvalResult | undefined;
    const runDir = o.runDir ? resolve(o.runDir) : undefined;
    if (runDir && o.resume) {
      const run = readRunJson<RunRecord>(runDir);
      for (const k of PLAN_KEYS) {
        if (JSON.stringify(run.plan[k]) !== JSON.stringify(plan[k])) {
          throw new DpzoError('ERR_RUN_MISMATCH', `cannot resume ${runDir}: ${k} is ${JSON.stringify(plan[k])}, the run has ${JSON.stringify(run.plan[k])}`);
        }
      }
      const hash = await model.weightsHash();
      if (hash !== run.model.weightsHash) throw new DpzoError('ERR_RUN_MISMATCH', `cannot resume ${runDir}: the model's weights hash ${hash.slice(0, 12)}… is not the run's initial ${run.model.weightsHash.slice(0, 12)}…`);
      if (o.eval) evalBefore = await evaluate(model, o.eval, evalOpts);
      const ledgerPath = join(runDir, LEDGER_FILE);
      const hasLedger = existsSync(ledgerPath);
      if (!hasLedger) {
        // the ledger is created before the first release, so without one nothing was released
        if (readTrajectory(runDir).lines.length > 0) throw new DpzoError('ERR_RUN_CORRUPT', `cannot resume ${runDir}: ${LEDGER_FILE} is missing but the trajectory has steps`);
        warn(`the run stopped before its privacy ledger was created (nothing was released); creating ${ledgerPath}`);
      } else if (endsWithTornLine(ledgerPath)) {
        // a crash inside the ledger write: that step's values were never written to the
        // trajectory nor applied, so nothing of it left the process; the line is dropped
        warn(`${ledgerPath} ends with an incomplete line (a crash during its write); that release's values never left the process, so the line is dropped`);
      }
      ledger = await openFileLedger(ledgerPath, plan.budget, plan.accountant, plan.steps, !hasLedger, true);
      try {
        start = reconcile(runDir, ledger.count);
        writer = new TrajectoryWriter(runDir);
        await replayTrajectory(model, readTrajectory(runDir).lines, plan.zoEps, cb.signal, plan.weightDecay);
      } catch (e) {
        // release the ledger's lock and handles so a retry in this process can open it
        writer?.close();
        await ledger.close?.();
        throw e;
      }
    } else {
      if (runDir) {
        if (existsSync(runDir) && readdirSync(runDir).length > 0) {
          throw new DpzoError('ERR_RUN_EXISTS', `${runDir} is not empty: resume it with --resume or choose another --out`);
        }
        ensureDir(runDir);
        const record: RunRecord = {
          format: RUN_FORMAT,
          createdAt: new Date().toISOString(),
          private: isPrivate,
          model: { dir: resolve(model.dir), weightsHash: await model.weightsHash(), dtype: model.dtype, trainable: o.trainable ?? null, trainableNames: model.trainableNames(), numTrainable: model.numTrainable },
          plan,
          meta: o.meta ?? {},
        };
        writeJsonAtomic(join(runDir, RUN_FILE), record);
        ledger = await openFileLedger(join(runDir, LEDGER_FILE), plan.budget, plan.accountant, plan.steps, true);
        writer = new TrajectoryWriter(runDir);
      } else {
        ledger = this.memory ??= memoryLedger(plan.budget, plan.accountant, plan.steps);
        start = ledger.count;
      }
      if (o.eval) {
        try {
          evalBefore = await evaluate(model, o.eval, evalOpts);
        } catch (e) {
          writer?.close();
          if (ledger !== this.memory) await ledger.close?.();
          throw e;
        }
      }
    }
    if (evalBefore) await cb.onEval?.({ step: start, result: evalBefore });

    // -- the steps --
    const train = o.train.examples;
    const N = plan.datasetSize;
    const n = plan.directions;
    const sampler = new PoissonSampler(N, plan.sampleRate);
    const norm = plan.mechanism === 'gaussian' ? 'l2' : 'l1';
    const release = (step: number): Release => ({
      step,
      mechanism: plan.mechanism,
      sampleRate: plan.sampleRate,
      ...(plan.mechanism === 'gaussian' ? { noiseMultiplier: plan.noiseMultiplier! } : { laplaceScale: plan.laplaceScale! }),
      clip: plan.clip,
      directions: n,
    });
    const schedule = { kind: plan.schedule, lr: plan.lr, totalSteps: plan.steps, warmupSteps: plan.warmupSteps };
    const rdpEpsilon = rdpTracker(plan, plan.budget.delta);
    let stopReason: StopReason = 'completed';
    let epsilonNow = 0;
    let refreshedAt = start;
    const refreshEvery = Math.max(1, Math.ceil(plan.steps / 20));
    const stopSoon = (t: number) => cb.signal?.aborted === true || t + 1 === plan.steps;
    let sampled = 0;
    let clipped = 0;
    let nonFinite = 0;
    let done = 0;
    try {
      for (let t = start; t < plan.steps; t++) {
        if (cb.signal?.aborted) {
          stopReason = 'cancelled';
          break;
        }
        const r = release(t);
        if (ledger.wouldExceed(r)) {
          stopReason = 'budget';
          warn(`stopped before step ${t}: it would exceed the budget ε = ${plan.budget.epsilon}`);
          break;
        }
        const batch = hooks?.batch?.(t) ?? sampler.sample();
        const seeds = hooks?.seeds?.(t, n) ?? Array.from({ length: n }, randomSeed);
        if (seeds.length !== n) throw new DpzoError('ERR_TRAIN_HOOK', `the seeds hook gave ${seeds.length} seeds, expected ${n}`);
        const est = await estimateScalars(model, batch.map((i) => train[i]!), seeds, plan.zoEps, { candidates: o.train.candidates, maxBatchTokens: o.maxBatchTokens });
        const c = clipScalars(est.g, n, plan.clip, norm);
        const xi = hooks?.noise?.(t, n) ?? releaseNoise(plan.mechanism, n, plan);
        // ĝ_k = (Σ_i clip(g_i)_k + ξ_k) / (q·N): dividing by the expected batch keeps the sensitivity at C
        const gHat = Array.from(c.sum, (s, k) => (s + xi[k]!) / (plan.sampleRate * N));
        const lr = learningRate(schedule, t);
        await ledger.append(r);
        writer?.append({ step: t, seeds: seedsToStrings(seeds), g: gHat, lr });
        await applyUpdate(model, seeds, gHat, lr, plan.zoEps, plan.weightDecay);
        done++;
        sampled += batch.length;
        clipped += c.clipped;
        nonFinite += c.nonFinite;
        if (cb.onStep) {
          const epsilonRdp = rdpEpsilon(ledger.count);
          if (plan.accountant === 'rdp') epsilonNow = epsilonRdp;
          else if (ledger.count === plan.steps || t + 1 - refreshedAt >= refreshEvery || stopSoon(t)) {
            epsilonNow = epsilonOf({ mechanism: plan.mechanism, sampleRate: plan.sampleRate, clip: plan.clip, noiseMultiplier: plan.noiseMultiplier, laplaceScale: plan.laplaceScale, steps: ledger.count }, plan.budget.delta, 'pld');
            refreshedAt = t + 1;
          }
          // private statistics leave the trainer only on explicit request
          const diag = o.privateDiagnostics ? { privateDiagnostics: { loss: est.loss, batchSize: batch.length, clipped: c.clipped, nonFinite: c.nonFinite } } : {};
          await cb.onStep({ step: t, steps: plan.steps, lr, gHat, epsilonRdp, epsilon: epsilonNow, ...diag });
        }
        if (o.eval && o.evalEvery && (t + 1) % o.evalEvery === 0 && t + 1 < plan.steps) {
          await cb.onEval?.({ step: t + 1, result: await evaluate(model, o.eval, evalOpts) });
        }
        await yieldToEventLoop();
      }
    } finally {
      writer?.close();
      await ledger.close?.();
    }

    let evalAfter: EvalResult | undefined;
    if (o.eval && evalBefore) {
      evalAfter = await evaluate(model, o.eval, { ...evalOpts, signal: undefined });
      await cb.onEval?.({ step: start + done, result: evalAfter });
    }
    const seconds = (performance.now() - t0) / 1000;
    const entries = ledger.entries();
    return {
      private: isPrivate,
      stopReason,
      steps: entries.length,
      plannedSteps: plan.steps,
      plan,
      epsilon: spent(entries, plan.budget.delta),
      budget: plan.budget,
      ...(evalBefore && evalAfter
        ? { metric: { name: evalBefore.metric, before: evalBefore.value, after: evalAfter.value, improved: improved(evalBefore.metric, evalBefore.value, evalAfter.value) } }
        : {}),
      evalBefore,
      evalAfter,
      evalPublic: o.evalPublic ?? false,
      warnings,
      seconds,
      stepsPerSecond: done / seconds,
      ...(o.privateDiagnostics
        ? { privateDiagnostics: { sampled, clippedFraction: sampled > 0 ? clipped / sampled : 0, nonFinite } }
        : {}),
      runDir,
      weightsHash: runDir ? await model.weightsHash() : undefined,
    };
  }
}

/** True when the file's last byte is not a newline (a write cut short). */
function endsWithTornLine(path: string): boolean {
  const size = statSync(path).size;
  if (size === 0) return false;
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}

/**
 * Brings trajectory and ledger into agreement after a crash; returns the next step.
 * Order of a step: ledger append (fsync) → trajectory append (fsync) → update. So the
 * ledger holds every release that reached the disk, and may hold one more: a step whose
 * values died with the process. That step stays counted (its noise was drawn) and gets a
 * void line: replay skips it. A torn trajectory line is such a step too.
 */
export function reconcile(runDir: string, ledgerCount: number): number {
  const read = readTrajectory(runDir);
  truncateTorn(runDir, read);
  const T = read.lines.length;
  if (ledgerCount === T + 1) {
    const w = new TrajectoryWriter(runDir);
    try {
      w.append({ step: T, void: true });
    } finally {
      w.close();
    }
    return T + 1;
  }
  if (ledgerCount !== T) {
    throw new DpzoError('ERR_RUN_CORRUPT', `${runDir}: the ledger has ${ledgerCount} releases but the trajectory ${T} steps; they cannot be reconciled`);
  }
  return T;
}

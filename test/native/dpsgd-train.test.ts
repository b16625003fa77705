// `method: 'dpsgd'` in the DP-ZO trainer (issue 13): its releases go to the run and dataset ledgers
// exactly as a DP-ZO step's of the same plan; the budget stops it before a step; an interrupted run
// resumes from its checkpoint bit for bit (SGD and Adam), and lost updates are named; the two clipping
// regimes make the same step; SGD and Adam move θ as a float64 reference of their rule says; it learns;
// bad input is refused before any release.
import { copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint } from '../../lib/dpsgd/checkpoint.js';
import { parseRunConfig } from '../../lib/dpzo/config.js';
import { installTestHooks, type TrainerTestHooks } from '../../lib/dpzo/hooks.js';
import { exportRun, readTrajectory } from '../../lib/dpzo/index.js';
import { makePlan, planRelease, releaseSensitivity } from '../../lib/dpzo/options.js';
import type { TrainPlan } from '../../lib/dpzo/index.js';
import { PoissonSampler } from '../../lib/data/poisson.js';
import { prepareRun } from '../../lib/dpzo/session.js';
import { loadModel } from '../../lib/index.js';
import type { Model } from '../../lib/model/types.js';
import { DatasetLedger, PrivacyLedger, epsilonOfSteps } from '../../lib/privacy/index.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { ROOT } from '../helpers/cli.js';
import { Rng } from '../helpers/prng.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../helpers/tiny.js';
import { clipRef } from '../helpers/clip-ref.js';

const tmp = makeTempDir('dpzo-dpsgd-train-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model, 5);
writeCyclesJsonl(p.train, 120, 1);
writeCyclesJsonl(p.eval, 40, 2);
const N = 120;

const base = { model: p.model, data: p.train, task: 'tokens' as const, epsilon: 8, delta: 1e-5, accountant: 'rdp' as const, threads: 2, batchSize: 10 };

/** Deterministic batches and noise: an interrupted and an uninterrupted run see the same ones. */
function hooks(): TrainerTestHooks {
  return {
    batch: (t) => [t % N, (7 * t + 3) % N, (13 * t + 5) % N, (29 * t + 11) % N],
    noise: (t, n) => Float64Array.from({ length: n }, (_, k) => 1e-3 * Math.sin(1000 * t + k)),
  };
}

/** Seeded draws of a run's own laws: Poisson(q) batches and N(0, (σC)²) noise, the same every time. */
function seededDraws(plan: TrainPlan, seed: number): TrainerTestHooks {
  const rng = new Rng(seed);
  const sampler = new PoissonSampler(plan.datasetSize!, plan.sampleRate, () => 1 - rng.uniform());
  const sd = plan.noiseMultiplier! * releaseSensitivity(plan);
  return { batch: () => sampler.sample(), noise: (_t, n) => Float64Array.from({ length: n }, () => sd * rng.normal()) };
}

async function prepared(cfg: Record<string, unknown>, opts: { resume?: boolean; hooks?: TrainerTestHooks } = {}) {
  const r = await prepareRun(parseRunConfig(cfg, 'test'), { resume: opts.resume });
  if (opts.hooks) installTestHooks(r.trainer, opts.hooks);
  return r;
}

async function ledgerEntries(runDir: string) {
  const l = await PrivacyLedger.open(join(runDir, 'ledger.jsonl'), { readOnly: true });
  try {
    return l.entries.map(({ prevHash: _p, hash: _h, ...e }) => e);
  } finally {
    await l.close();
  }
}

function runIdOf(runDir: string): string {
  return (JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as { runId: string }).runId;
}

async function trainable(m: Model): Promise<Float32Array> {
  return m.getTrainable!();
}

describe('dpzo train --method dpsgd (API)', () => {
  it('records each release in the run and dataset ledgers exactly as a DP-ZO run of the same plan does', async () => {
    const cfg = { ...base, steps: 4, clip: 0.5 };
    const zo = await prepared({ ...cfg, out: join(tmp.dir, 'ledger-zo') });
    const zoReport = await zo.trainer.train();
    zo.model.dispose();
    const sgd = await prepared({ ...cfg, method: 'dpsgd', out: join(tmp.dir, 'ledger-sgd') });
    const sgdReport = await sgd.trainer.train();
    sgd.model.dispose();
    expect(sgdReport.plan.method).toBe('dpsgd');
    expect(zoReport.plan.method).toBe('dpzo');
    expect(sgdReport.plan.noiseMultiplier).toBe(zoReport.plan.noiseMultiplier);
    const a = await ledgerEntries(join(tmp.dir, 'ledger-zo'));
    const b = await ledgerEntries(join(tmp.dir, 'ledger-sgd'));
    expect(a).toHaveLength(4);
    expect(b).toEqual(a);
    expect(b[0]).toMatchObject({ mechanism: 'gaussian', clip: 0.5, sampleRate: 10 / N, noiseMultiplier: zoReport.plan.noiseMultiplier, step: 0 });
    expect(sgdReport.epsilon).toEqual(zoReport.epsilon);
    // the dataset ledger holds both runs' releases, the same fields for each (its steps count every run on the file)
    const file = (JSON.parse(readFileSync(join(tmp.dir, 'ledger-sgd', 'run.json'), 'utf8')) as { dataset: { ledger: string } }).dataset.ledger;
    const d = await DatasetLedger.openFile(file, { readOnly: true });
    try {
      const of = (runDir: string) =>
        d.ledger.entries
          .filter((e) => e.origin?.run === runIdOf(runDir))
          .map(({ prevHash: _p, hash: _h, origin: _o, step: _s, trueSensitivity, ...e }) => {
            // every dataset-ledger line of this dpzo says its noise was set for the release's true Δ
            expect(trueSensitivity).toBe(true);
            return e;
          });
      const want = a.map(({ step: _s, ...e }) => e);
      expect(of(join(tmp.dir, 'ledger-sgd'))).toEqual(want);
      expect(of(join(tmp.dir, 'ledger-zo'))).toEqual(want);
    } finally {
      await d.close();
    }
  });

  it('stops before the step that would exceed the dataset budget: nothing sampled, drawn or applied for it', async () => {
    const data = writeCyclesJsonl(join(tmp.dir, 'budget.jsonl'), N, 4);
    const cfg = { ...base, data, method: 'dpsgd', steps: 4, noiseMultiplier: 1.5, epsilon: 50, accountant: 'pld' as const };
    const first = await prepared({ ...cfg, out: join(tmp.dir, 'budget-1') });
    const release = planRelease(first.trainer.plan());
    // room for 6 releases: the first run's 4, then 2 of the second's
    const budget = epsilonOfSteps(release, 6, 1e-5, 'pld') * 1.0001;
    first.trainer.options.datasetBudget = budget;
    expect((await first.trainer.train()).stopReason).toBe('completed');
    first.model.dispose();

    const calls = { batch: 0, noise: 0 };
    const h = hooks();
    const second = await prepared(
      { ...cfg, out: join(tmp.dir, 'budget-2') },
      {
        hooks: {
          batch: (t) => (calls.batch++, h.batch!(t)),
          noise: (t, n) => (calls.noise++, h.noise!(t, n)),
        },
      },
    );
    let lastHash = '';
    const report = await second.trainer.train({ onStep: async () => void (lastHash = await second.model.weightsHash()) });
    expect(report.stopReason).toBe('budget');
    expect(report.steps).toBe(2);
    expect(report.warnings.join('\n')).toMatch(/stopped before step 2: it would exceed the dataset budget/);
    expect(calls).toEqual({ batch: 2, noise: 2 });
    expect(await second.model.weightsHash()).toBe(lastHash);
    const checkpoint = readCheckpoint(join(tmp.dir, 'budget-2'), { runId: runIdOf(join(tmp.dir, 'budget-2')), numTrainable: second.model.numTrainable, adam: false });
    expect(checkpoint?.step).toBe(2);
    second.model.dispose();
    expect(await ledgerEntries(join(tmp.dir, 'budget-2'))).toHaveLength(2);
  });

  for (const optimizer of ['sgd', 'adam'] as const) {
    it(`${optimizer}: a run interrupted after a step and resumed ends bit for bit as an uninterrupted one`, async () => {
      const cfg = { ...base, method: 'dpsgd', optimizer, steps: 6, lr: optimizer === 'adam' ? 1e-2 : 0.5, weightDecay: 0.1, checkpointEvery: 1 };
      const whole = await prepared({ ...cfg, out: join(tmp.dir, `whole-${optimizer}`) }, { hooks: hooks() });
      await whole.trainer.train();
      const want = await whole.model.weightsHash();
      whole.model.dispose();

      const out = join(tmp.dir, `cut-${optimizer}`);
      const cut = await prepared({ ...cfg, out }, { hooks: hooks() });
      await expect(
        cut.trainer.train({
          onStep: (s) => {
            if (s.step === 2) throw new Error('interrupted');
          },
        }),
      ).rejects.toThrow('interrupted');
      const base0 = await cut.model.weightsHash();
      cut.model.dispose();
      expect(base0).not.toBe(want);

      const resumed = await prepared({ ...cfg, out }, { resume: true, hooks: hooks() });
      const steps: number[] = [];
      const report = await resumed.trainer.train({ onStep: (s) => void steps.push(s.step) });
      expect(steps).toEqual([3, 4, 5]);
      expect(report.warnings.join('\n')).not.toMatch(/lost/);
      expect(await resumed.model.weightsHash()).toBe(want);
      resumed.model.dispose();
      expect((await ledgerEntries(out)).map((e) => e.step)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(readTrajectory(out, 'dpsgd').lines).toEqual([0, 1, 2, 3, 4, 5].map((step) => ({ step, lr: cfg.lr })));
      // export: base model + checkpoint = the trained weights
      const fresh = await loadModel(p.model, { threads: 1 });
      const r = await exportRun(fresh, out, join(tmp.dir, `export-${optimizer}`));
      fresh.dispose();
      expect(r).toMatchObject({ steps: 6, weightsHash: want });
      expect(readFileSync(join(tmp.dir, `export-${optimizer}`, 'README.md'), 'utf8')).toMatch(/DP-SGD/);
    });
  }

  it('without a run directory, a second train() call continues the same ledger and Adam state (cancel, then go on)', async () => {
    const cfg = { ...base, method: 'dpsgd', optimizer: 'adam', steps: 5, lr: 1e-2 };
    const whole = await prepared(cfg, { hooks: hooks() });
    await whole.trainer.train();
    const want = await whole.model.weightsHash();
    whole.model.dispose();
    const r = await prepared(cfg, { hooks: hooks() });
    const controller = new AbortController();
    const first = await r.trainer.train({ signal: controller.signal, onStep: (s) => void (s.step === 1 && controller.abort()) });
    expect(first).toMatchObject({ stopReason: 'cancelled', steps: 2 });
    const second = await r.trainer.train();
    expect(second).toMatchObject({ stopReason: 'completed', steps: 5 });
    expect(await r.model.weightsHash()).toBe(want);
    r.model.dispose();
  });

  it('resume from an older checkpoint: the lost updates are named, their releases stay counted, numbering continues', async () => {
    const out = join(tmp.dir, 'lost');
    const cfg = { ...base, method: 'dpsgd', optimizer: 'adam', steps: 6, lr: 1e-2, out };
    const a = await prepared(cfg, { hooks: hooks() });
    const saved = join(tmp.dir, 'lost-checkpoint-2.bin');
    await expect(
      a.trainer.train({
        onStep: (s) => {
          if (s.step === 1) copyFileSync(join(out, CHECKPOINT_FILE), saved);
          if (s.step === 3) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    a.model.dispose();
    // the state a kill leaves when the checkpoint lags the ledger: 4 releases, weights of step 2, and
    // the temporary file of a checkpoint write it interrupted
    copyFileSync(saved, join(out, CHECKPOINT_FILE));
    const temp = join(out, `.${CHECKPOINT_FILE}.interrupted.tmp`);
    writeFileSync(temp, 'half a checkpoint');
    const b = await prepared(cfg, { resume: true, hooks: hooks() });
    const steps: number[] = [];
    const report = await b.trainer.train({ onStep: (s) => void steps.push(s.step) });
    b.model.dispose();
    expect(steps).toEqual([4, 5]);
    expect(existsSync(temp)).toBe(false);
    expect(report.warnings.join('\n')).toMatch(/checkpoint at step 2: the 2 update\(s\) released after it were lost .* numbering continues at step 4/);
    expect(report.steps).toBe(6);
    expect((await ledgerEntries(out)).map((e) => e.step)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('an update refused for leaving the float32 range (released, never applied) is a void step: export and --resume still hold', async () => {
    // step 2's injected noise 3e38 makes ĝ ≈ 3e37 per coordinate and lr·ĝ ≈ 3e39, beyond float32 for certain:
    // the core refuses that update before it writes θ, after the release is in the ledger
    const out = join(tmp.dir, 'refused-update');
    const cfg = { ...base, method: 'dpsgd', steps: 4, lr: 100, clip: 1e-3, checkpointEvery: 10, out };
    const refusing = (): TrainerTestHooks => ({ ...hooks(), noise: (t, n) => (t === 2 ? new Float64Array(n).fill(3e38) : new Float64Array(n)) });
    const a = await prepared(cfg, { hooks: refusing() });
    await expect(a.trainer.train()).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_(NON_FINITE|ARGUMENT)$/) as unknown });
    const afterTwo = await trainable(a.model);
    const hash = await a.model.weightsHash();
    a.model.dispose();
    const lines = () => readTrajectory(out, 'dpsgd').lines;
    // the release stays counted; the trajectory says it was never applied
    expect(await ledgerEntries(out)).toHaveLength(3);
    expect(lines()).toEqual([
      { step: 0, lr: 100 },
      { step: 1, lr: 100 },
      { step: 2, void: true },
    ]);
    // the weights of the two applied steps are saved (an SGD run has no state the refused step touched)
    const c = readCheckpoint(out, { runId: runIdOf(out), numTrainable: afterTwo.length, adam: false });
    expect(c?.step).toBe(3);
    expect(c?.theta).toEqual(afterTwo);
    const fresh = await loadModel(p.model, { threads: 1 });
    expect((await exportRun(fresh, out, join(tmp.dir, 'refused-update-export'))).weightsHash).toBe(hash);
    fresh.dispose();
    // --resume goes on at step 3 with nothing lost
    const b = await prepared(cfg, { resume: true, hooks: refusing() });
    const report = await b.trainer.train();
    b.model.dispose();
    expect(report.warnings.join('\n')).not.toMatch(/lost/);
    expect(lines().map((l) => ('void' in l ? 'void' : l.step))).toEqual([0, 1, 'void', 3]);
    expect(await ledgerEntries(out)).toHaveLength(4);
  });

  it("the 'ghost' and 'per-example' regimes make the same step on the same batch and noise", async () => {
    const deltas: Float32Array[] = [];
    for (const clipRegime of ['ghost', 'per-example'] as const) {
      const r = await prepared({ ...base, method: 'dpsgd', clipRegime, ...(clipRegime === 'per-example' ? { microBatch: 3 } : {}), steps: 1, lr: 1, clip: 0.05, noiseMultiplier: 1, epsilon: 1e3 }, { hooks: hooks() });
      const before = await trainable(r.model);
      const report = await r.trainer.train({ onStep: (s) => expect(s.gHat).toEqual([]) });
      expect(report.steps).toBe(1);
      const after = await trainable(r.model);
      deltas.push(after.map((x, i) => x - before[i]!));
      r.model.dispose();
    }
    const [g, e] = deltas as [Float32Array, Float32Array];
    let err = 0;
    let scale = 0;
    for (let i = 0; i < g.length; i++) {
      err = Math.max(err, Math.abs(g[i]! - e[i]!));
      scale = Math.max(scale, Math.abs(e[i]!));
    }
    expect(scale).toBeGreaterThan(1e-3);
    expect(err / scale).toBeLessThan(1e-5);
  });

  it('SGD and Adam (with decoupled decay on matrices) move θ as the float64 reference of their rule says', async () => {
    const C = 0.05;
    const B = 10;
    const lambda = 0.2;
    const h = hooks();
    for (const optimizer of ['sgd', 'adam'] as const) {
      const lr = optimizer === 'sgd' ? 0.5 : 1e-2;
      const r = await prepared({ ...base, method: 'dpsgd', optimizer, steps: 2, lr, clip: C, weightDecay: lambda, noiseMultiplier: 1, epsilon: 1e3 }, { hooks: h });
      const ref = await loadModel(p.model, { threads: 1 });
      try {
        const examples = r.trainer.options.train.examples;
        const matrix = new Uint8Array(ref.numTrainable);
        for (const t of (ref as unknown as { tensors(): { trainable: boolean; shape: number[]; globalOffset: number; numel: number }[] }).tensors())
          if (t.trainable && t.shape.length >= 2) matrix.fill(1, t.globalOffset, t.globalOffset + t.numel);
        let theta = Float64Array.from(await trainable(r.model));
        const m = new Float64Array(theta.length);
        const v = new Float64Array(theta.length);
        const thetas: Float32Array[] = [];
        await r.trainer.train({ onStep: async () => void thetas.push(await trainable(r.model)) });
        for (let t = 0; t < 2; t++) {
          // ĝ from per-example gradients at θ_t (taken on a second model set to the trained θ_t)
          await ref.setTrainable!(t === 0 ? Float32Array.from(theta) : thetas[t - 1]!);
          const batch = h.batch!(t).map((i) => examples[i]!.inputIds);
          const gHat = new Float64Array(theta.length);
          for (let s = 0; s < batch.length; s++) {
            const w = new Float64Array(batch.length);
            w[s] = 1;
            const g = (await ref.lossAndGradient!({ inputIds: batch }, { weights: w })).grad;
            const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
            const f = clipRef(norm, C);
            g.forEach((x, k) => (gHat[k] += f * x));
          }
          const xi = h.noise!(t, theta.length);
          gHat.forEach((x, k) => (gHat[k] = (x + xi[k]!) / B));
          const next = new Float64Array(theta.length);
          for (let k = 0; k < theta.length; k++) {
            let step: number;
            if (optimizer === 'sgd') step = -lr * gHat[k]!;
            else {
              m[k] = 0.9 * m[k]! + 0.1 * gHat[k]!;
              v[k] = 0.999 * v[k]! + 0.001 * gHat[k]! ** 2;
              step = (-lr * (m[k]! / (1 - 0.9 ** (t + 1)))) / (Math.sqrt(v[k]! / (1 - 0.999 ** (t + 1))) + 1e-8);
            }
            next[k] = (matrix[k] ? 1 - lr * lambda : 1) * (theta[k]! + step);
          }
          // the update itself, compared relative to its size
          let err = 0;
          let size = 0;
          for (let k = 0; k < theta.length; k++) {
            err = Math.max(err, Math.abs(thetas[t]![k]! - next[k]!));
            size = Math.max(size, Math.abs(next[k]! - theta[k]!));
          }
          expect(size, `${optimizer} step ${t}`).toBeGreaterThan(1e-4);
          // Adam divides by √v̂ + 1e-8: where ĝ nearly cancels, the float32 sum's rounding moves its step by ~1e-4
          expect(err / size, `${optimizer} step ${t}`).toBeLessThan(optimizer === 'sgd' ? 1e-5 : 1e-3);
          theta = Float64Array.from(thetas[t]!);
        }
      } finally {
        ref.dispose();
        r.model.dispose();
      }
    }
  });

  it('learns: held-out loss falls at ε = 8 (SGD and Adam)', async () => {
    for (const [optimizer, lr] of [
      ['adam', 1e-2],
      ['sgd', 2],
    ] as const) {
      const r = await prepared({ ...base, eval: p.eval, evalPublic: true, method: 'dpsgd', optimizer, lr, steps: 40, batchSize: 30, clip: 1, accountant: 'pld' });
      // SGD at lr 2 ends anywhere from 0.004 to 2.2 (12 runs with CSPRNG draws, from 5.04; the test needs < 4.54):
      // too wide a spread to bound its chance of failing, so its batches and noise are seeded draws of the same
      // laws (Poisson(q), N(0, σ²C²)). Adam ends at 0.021–0.028 in the same 12 runs and keeps the CSPRNG.
      if (optimizer === 'sgd') installTestHooks(r.trainer, seededDraws(r.trainer.plan(), 9));
      const report = await r.trainer.train();
      r.model.dispose();
      expect(report.private).toBe(optimizer === 'adam');
      expect(report.metric!.name).toBe('loss');
      expect(report.metric!.after, optimizer).toBeLessThan(report.metric!.before * 0.9);
    }
  });

  it('a classification task (candidate-set loss): held-out accuracy rises at a large ε', async () => {
    // the byte-level Llama, label words 'terrible' / 'great' after '{sentence} It was ': the class is which
    // letters the sentence is made of, so the model must carry it from the sentence to the label position
    const dir = join(tmp.dir, 'cls');
    const model = join(dir, 'model');
    cpSync(join(ROOT, 'data', 'models', 'byte-llama'), model, { recursive: true });
    let seed = 4;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const word = (letters: string) => Array.from({ length: 3 + Math.floor(rnd() * 4) }, () => letters[Math.floor(rnd() * letters.length)]).join('');
    const tsv = (n: number) => 'sentence\tlabel\n' + Array.from({ length: n }, (_, i) => `${word(i % 2 ? 'abcd' : 'wxyz')}\t${i % 2}\n`).join('');
    writeFileSync(join(dir, 'train.tsv'), tsv(64));
    writeFileSync(join(dir, 'dev.tsv'), tsv(40));
    const r = await prepared({
      model,
      data: join(dir, 'train.tsv'),
      eval: join(dir, 'dev.tsv'),
      evalPublic: true,
      task: 'classification',
      template: '{sentence} It was ',
      labelWords: ['terrible', 'great'],
      method: 'dpsgd',
      optimizer: 'adam',
      lr: 1e-2,
      steps: 20,
      batchSize: 32,
      clip: 1,
      epsilon: 1000,
      delta: 1e-5,
      accountant: 'rdp',
      threads: 2,
    });
    // seeded draws of the run's laws (its batches and noise): 1.0 after in 12 of 12 CSPRNG runs, too few to bound
    // the chance of < 0.9; seeds 1–5 give 1.0 as well
    installTestHooks(r.trainer, seededDraws(r.trainer.plan(), 9));
    const report = await r.trainer.train();
    r.model.dispose();
    expect(report.private).toBe(false);
    expect(report.plan.noiseMultiplier).toBeGreaterThan(0);
    expect(report.metric!.name).toBe('accuracy');
    // measured: 0.35 before (the random model), 1 after; seeds 1–5 of the data all give 0.23–0.4 → 1
    expect(report.metric!.before).toBeLessThan(0.6);
    expect(report.metric!.after).toBeGreaterThanOrEqual(0.9);
  });

  it('refuses what does not apply to DP-SGD (and DP-SGD fields on DP-ZO) before anything is written', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ method: 'dpsgd', mechanism: 'laplace' }, /^mechanism laplace does not apply to dpsgd/],
      [{ method: 'dpsgd', directions: 2 }, /^directions applies to method dpzo only/],
      [{ method: 'dpsgd', zoEps: 1e-3 }, /^zoEps applies to method dpzo only/],
      [{ method: 'dpsgd', constantTimeSteps: 4 }, /^constantTimeSteps applies to method dpzo only/],
      [{ optimizer: 'adam' }, /^optimizer applies to method dpsgd only/],
      [{ clipRegime: 'ghost' }, /^clipRegime applies to method dpsgd only/],
      // the ghost regime (the default) holds no per-example gradients: --micro-batch was ignored in silence
      [{ method: 'dpsgd', microBatch: 4 }, /^microBatch applies to clipRegime 'per-example' only/],
      [{ method: 'dpsgd', clipRegime: 'ghost', microBatch: 4 }, /^microBatch applies to clipRegime 'per-example' only/],
    ];
    for (const [over, msg] of cases) {
      const r = await prepared({ ...base, steps: 2, out: join(tmp.dir, 'refused'), ...over });
      await expect(r.trainer.train(), JSON.stringify(over)).rejects.toMatchObject({ code: 'ERR_TRAIN_OPTION', message: expect.stringMatching(msg) });
      r.model.dispose();
    }
    // without a run directory nothing is checkpointed: --checkpoint-every was ignored in silence
    const noDir = await prepared({ ...base, method: 'dpsgd', steps: 2, checkpointEvery: 2 });
    expect(() => noDir.trainer.plan()).toThrow(/^checkpointEvery needs a run directory/);
    noDir.model.dispose();
    // a run made with it before the refusal still resumes (its plan is the recorded one)
    const ghost = await prepared({ ...base, method: 'dpsgd', steps: 2 });
    expect(makePlan({ ...ghost.trainer.options, microBatch: 4, runDir: join(tmp.dir, 'old-run'), resume: true }).clipRegime).toBe('ghost');
    ghost.model.dispose();
    const bf16 = await prepared({ ...base, method: 'dpsgd', steps: 2, dtype: 'bfloat16', out: join(tmp.dir, 'refused') });
    const refusal = { code: 'ERR_TRAIN_OPTION', message: 'method dpsgd needs float32 weights on the CPU backend (this model: bfloat16 on cpu; dtype float32 converts on load)' };
    // plan() (a dry run) refuses it as train() does
    expect(() => bf16.trainer.plan()).toThrow(expect.objectContaining(refusal));
    await expect(bf16.trainer.train()).rejects.toMatchObject(refusal);
    bf16.model.dispose();
    expect(() => readFileSync(join(tmp.dir, 'refused', 'run.json'))).toThrow();
  });

  it('a checkpoint ahead of the ledger is refused by resume (ERR_RUN_CORRUPT): weights with no release to account for them', async () => {
    const out = join(tmp.dir, 'ahead');
    const cfg = { ...base, method: 'dpsgd', optimizer: 'adam', steps: 4, lr: 1e-2, out };
    const a = await prepared(cfg, { hooks: hooks() });
    await expect(
      a.trainer.train({
        onStep: (s) => {
          if (s.step === 1) throw new Error('stop');
        },
      }),
    ).rejects.toThrow('stop');
    const P = a.model.numTrainable;
    a.model.dispose();
    const file = join(out, CHECKPOINT_FILE);
    const good = readFileSync(file);
    const c = readCheckpoint(out, { runId: runIdOf(out), numTrainable: P, adam: true })!;
    expect(c.step).toBe(2);
    // a well-formed, sealed checkpoint of this run, one step beyond the 2 releases in the ledger
    writeCheckpoint(out, { ...c, step: 3 });
    const b = await prepared(cfg, { resume: true, hooks: hooks() });
    await expect(b.trainer.train()).rejects.toMatchObject({
      code: 'ERR_RUN_CORRUPT',
      message: `${out}: its checkpoint is at step 3 but the ledger holds only 2 releases`,
    });
    b.model.dispose();
    expect((await ledgerEntries(out)).map((e) => e.step)).toEqual([0, 1]);
    // nothing was changed by the refusal: with the true checkpoint back, the run resumes and completes
    writeFileSync(file, good);
    const d = await prepared(cfg, { resume: true, hooks: hooks() });
    const steps: number[] = [];
    await d.trainer.train({ onStep: (s) => void steps.push(s.step) });
    d.model.dispose();
    expect(steps).toEqual([2, 3]);
    expect((await ledgerEntries(out)).map((e) => e.step)).toEqual([0, 1, 2, 3]);
  });

  it('a corrupt or foreign checkpoint is refused (ERR_RUN_CORRUPT) by resume and export', async () => {
    const out = join(tmp.dir, 'corrupt');
    const cfg = { ...base, method: 'dpsgd', steps: 3, lr: 0.1, out };
    const a = await prepared(cfg);
    await expect(
      a.trainer.train({
        onStep: (s) => {
          if (s.step === 1) throw new Error('stop');
        },
      }),
    ).rejects.toThrow('stop');
    a.model.dispose();
    const file = join(out, CHECKPOINT_FILE);
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[flipped.length >> 1] ^= 1;
    writeFileSync(file, flipped);
    const b = await prepared(cfg, { resume: true });
    await expect(b.trainer.train()).rejects.toMatchObject({ code: 'ERR_RUN_CORRUPT', message: expect.stringMatching(/SHA-256 does not match/) });
    b.model.dispose();
    const fresh = await loadModel(p.model, { threads: 1 });
    await expect(exportRun(fresh, out, join(tmp.dir, 'export-corrupt'))).rejects.toMatchObject({ code: 'ERR_RUN_CORRUPT' });
    // a whole checkpoint of another run
    writeFileSync(file, readFileSync(join(tmp.dir, 'whole-sgd', CHECKPOINT_FILE)));
    await expect(exportRun(fresh, out, join(tmp.dir, 'export-corrupt'))).rejects.toMatchObject({ message: expect.stringMatching(/belongs to another run/) });
    fresh.dispose();
  });
});

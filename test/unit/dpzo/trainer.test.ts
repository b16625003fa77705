// Trainer behaviour on the fake model: cancellation, callbacks, the event loop,
// the budget, and bad input rejected before any release.
import { describe, expect, it } from 'vitest';

import { installTestHooks } from '../../../lib/dpzo/hooks.js';
import { DPZOTrainer, evaluate, makePlan } from '../../../lib/dpzo/index.js';
import { planRelease } from '../../../lib/dpzo/options.js';
import { epsilonOfSteps } from '../../../lib/privacy/index.js';
import { DpzoError } from '../../../lib/errors.js';
import type { LossBatch, LossOptions, LossResult } from '../../../lib/model/types.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const train = tokenDataset(Array.from({ length: 40 }, (_, i) => 3 + (i % 50)));
// RDP keeps calibration fast here; PLD is exercised by the run-directory tests
const base = { train, epsilon: 8, delta: 1e-5, accountant: 'rdp' as const, batchSize: 4, steps: 30, lr: 0.01, clip: 1, zoEps: 1e-2 };

describe('DPZOTrainer', () => {
  it('StepInfo.epsilon (PLD) is never below the ε spent, from the first release on (it used to show 0 until a refresh)', async () => {
    const trainer = new DPZOTrainer(new FakeModel(8), { ...base, accountant: 'pld', steps: 60, noiseMultiplier: 1.2, epsilon: 50 });
    const plan = trainer.plan();
    const release = planRelease(plan);
    const seen: { step: number; epsilon: number; rdp: number }[] = [];
    await trainer.train({ onStep: (s) => void seen.push({ step: s.step, epsilon: s.epsilon, rdp: s.epsilonRdp }) });
    expect(seen).toHaveLength(60);
    for (const s of seen) {
      const spent = epsilonOfSteps(release, s.step + 1, plan.budget.delta, 'pld');
      expect(s.epsilon, `step ${s.step}`).toBeGreaterThanOrEqual(spent * (1 - 1e-12));
      expect(s.epsilon).toBeLessThanOrEqual(s.rdp * (1 + 1e-12)); // and no looser than RDP
    }
    expect(seen[0]!.epsilon).toBeGreaterThan(0);
    expect(seen[59]!.epsilon).toBeCloseTo(epsilonOfSteps(release, 60, plan.budget.delta, 'pld'), 12);
  });

  it('AbortSignal stops between steps; onStep sees every step; the event loop keeps running', async () => {
    const model = new FakeModel(8);
    const trainer = new DPZOTrainer(model, base);
    const controller = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const seen: number[] = [];
    const report = await trainer.train({
      signal: controller.signal,
      onStep: (s) => {
        seen.push(s.step);
        if (s.step === 4) controller.abort();
      },
    });
    clearInterval(timer);
    expect(report.stopReason).toBe('cancelled');
    expect(report.steps).toBe(5);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(ticks).toBeGreaterThan(0);
    expect(report.private).toBe(true);
  });

  it('an abort during an evaluation between steps resolves with stopReason cancelled and the report (it rejected, losing the steps taken)', async () => {
    const controller = new AbortController();
    let evalCalls = 0;
    class AbortInSecondEval extends FakeModel {
      override async perExampleLoss(batch: LossBatch, opts?: LossOptions): Promise<LossResult> {
        // the signal aborts while the evaluation after step 2 runs: the forward rejects, as a native one does
        if (++evalCalls === 2) controller.abort();
        if (opts?.signal?.aborted) throw new DpzoError('ERR_CANCELLED', 'operation cancelled');
        return super.perExampleLoss(batch);
      }
    }
    const evalSet = tokenDataset([3, 4, 5]);
    const trainer = new DPZOTrainer(new AbortInSecondEval(8), { ...base, eval: evalSet, evalPublic: true, evalEvery: 2 });
    const steps: number[] = [];
    const report = await trainer.train({ signal: controller.signal, onStep: (s) => void steps.push(s.step), onEval: () => undefined });
    expect(report.stopReason).toBe('cancelled');
    expect(report.steps).toBe(2);
    expect(steps).toEqual([0, 1]);
  });

  it('an abort during the evaluation before the first step resolves with stopReason cancelled and no step, as an abort before a step does', async () => {
    const controller = new AbortController();
    class AbortInFirstEval extends FakeModel {
      override async perExampleLoss(batch: LossBatch, opts?: LossOptions): Promise<LossResult> {
        controller.abort();
        if (opts?.signal?.aborted) throw new DpzoError('ERR_CANCELLED', 'operation cancelled');
        return super.perExampleLoss(batch);
      }
    }
    const model = new AbortInFirstEval(8);
    const report = await new DPZOTrainer(model, { ...base, eval: tokenDataset([3, 4, 5]), evalPublic: true }).train({ signal: controller.signal });
    expect(report.stopReason).toBe('cancelled');
    expect(report.steps).toBe(0);
    expect(model.log).toEqual([]);
  });

  // the evaluation after the last step ran without the signal: an abort during it (or a Ctrl-C that cancelled the
  // steps) waited for the whole held-out set. Now it stops, and train() resolves as a cancel between steps does.
  describe('a cancel and the evaluation after training', () => {
    /** A model whose forward honours the signal as a native one does, counting the calls made after the last step. */
    function finalEvalModel(onFinalCall: (n: number) => void) {
      const counts = { final: 0, afterAbort: 0 };
      let last = false;
      let signal: AbortSignal | undefined;
      class Counted extends FakeModel {
        override async perExampleLoss(batch: LossBatch, opts?: LossOptions): Promise<LossResult> {
          if (last) onFinalCall(++counts.final);
          if (signal?.aborted) counts.afterAbort++;
          if (opts?.signal?.aborted) throw new DpzoError('ERR_CANCELLED', 'operation cancelled');
          return super.perExampleLoss(batch);
        }
      }
      return {
        model: new Counted(8),
        counts,
        watch: (s: AbortSignal) => (signal = s),
        lastStepDone: () => (last = true),
      };
    }
    // 30 single-example batches: the old code ran them all after the abort
    const evalSet = tokenDataset(Array.from({ length: 30 }, (_, i) => 3 + i));
    const opts = { ...base, steps: 3, eval: evalSet, evalPublic: true, maxBatchTokens: 2 };

    it('an abort during it stops it at the batch in flight: stopReason cancelled, no evalAfter, every step reported', async () => {
      const controller = new AbortController();
      const m = finalEvalModel((n) => n === 2 && controller.abort());
      m.watch(controller.signal);
      const evals: number[] = [];
      const report = await new DPZOTrainer(m.model, opts).train({
        signal: controller.signal,
        onStep: (s) => {
          if (s.step === 2) m.lastStepDone();
        },
        onEval: (e) => void evals.push(e.step),
      });
      expect(report).toMatchObject({ stopReason: 'cancelled', steps: 3 });
      expect(report.evalBefore).toBeDefined();
      expect(report.evalAfter).toBeUndefined();
      expect(report.metric).toBeUndefined();
      // the call in which the signal aborted, none after it
      expect(m.counts.final).toBe(2);
      expect(m.counts.afterAbort).toBe(1);
      expect(evals).toEqual([0]);
    });

    it.each([
      ['a cancel between steps is not followed by an evaluation of the held-out set', 10, 1, 2],
      ['an abort in the last onStep (after the loop checked the signal) is a cancel: no evaluation after', undefined, 2, 3],
    ])('%s', async (_, steps, abortAt, done) => {
      const controller = new AbortController();
      const m = finalEvalModel(() => {});
      m.watch(controller.signal);
      const report = await new DPZOTrainer(m.model, { ...opts, ...(steps === undefined ? {} : { steps }) }).train({
        signal: controller.signal,
        onStep: (s) => void (s.step === abortAt && controller.abort()),
      });
      expect(report).toMatchObject({ stopReason: 'cancelled', steps: done });
      expect(report.evalAfter).toBeUndefined();
      expect(m.counts.afterAbort).toBe(0);
    });

    it('without a cancel the evaluation after training still runs in full', async () => {
      const controller = new AbortController();
      const m = finalEvalModel(() => {});
      const report = await new DPZOTrainer(m.model, opts).train({ signal: controller.signal, onStep: (s) => void (s.step === 2 && m.lastStepDone()) });
      expect(report.stopReason).toBe('completed');
      expect(report.evalAfter!.examples).toBe(30);
      expect(m.counts.final).toBe(30);
    });
  });

  it('calibrates σ to the budget and spends no more than it', async () => {
    const model = new FakeModel(8);
    const trainer = new DPZOTrainer(model, base);
    const plan = trainer.plan();
    expect(plan.calibrated).toBe(true);
    expect(plan.noiseMultiplier).toBeGreaterThan(0);
    expect(plan.predictedEpsilon).toBeLessThanOrEqual(8);
    const report = await trainer.train();
    expect(report.stopReason).toBe('completed');
    expect(report.steps).toBe(30);
    expect(report.epsilon.rdp).toBeLessThanOrEqual(8);
    expect(report.epsilon.rdp).toBeGreaterThan(7.5);
    expect(report.epsilon.pld).toBeLessThan(report.epsilon.rdp);
    // a smaller budget calibrates more noise
    expect(makePlan({ ...base, epsilon: 2 }).noiseMultiplier).toBeGreaterThan(plan.noiseMultiplier!);
  });

  it('bad input is an error before any release', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ train: tokenDataset([]) }, /no examples/],
      [{ epsilon: 1e-6, steps: 100000, batchSize: 40 }, /no noise level reaches/],
      [{ noiseMultiplier: 0.4 }, /spend ε = .* > the budget/],
      [{ batchSize: 400 }, /exceeds the training set size/],
      [{ steps: undefined }, /steps .*or epochs/],
      [{ weightDecay: -0.1 }, /weightDecay/],
      [{ weightDecay: 2e6 }, /^weightDecay \(2000000\) × lr must be below 1/],
      [{ delta: 2 }, /delta/],
      [{ directions: 1.5 }, /directions/],
      [{ mechanism: 'laplace', noiseMultiplier: 1 }, /gaussian mechanism only/],
    ];
    for (const [patch, re] of cases) {
      const model = new FakeModel(4);
      const before = model.getParameter();
      const trainer = new DPZOTrainer(model, { ...base, ...patch } as typeof base);
      let released = 0;
      await expect(trainer.train({ onStep: () => void released++ })).rejects.toThrow(re);
      expect(released).toBe(0);
      expect(model.log).toEqual([]);
      expect(model.getParameter()).toEqual(before);
    }
  });

  it('an option the trainer does not know, or of the wrong type, is one ERR_TRAIN_OPTION naming it (a typo used to be ignored)', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      // a misspelt name changed the run silently: no dataset budget, no diagnostics
      [{ datasetBudgte: 1 }, /^datasetBudgte is not an option of the trainer/],
      [{ privateDiagnostic: true }, /^privateDiagnostic is not an option/],
      // a string is truthy: 'false' turned the private diagnostics on
      [{ privateDiagnostics: 'false' }, /^privateDiagnostics must be true or false/],
      [{ evalPublic: 'no' }, /^evalPublic must be true or false/],
      [{ epsilon: undefined }, /^epsilon is required/],
      [{ delta: '1e-5' }, /^delta must be in \(0, 1\)/],
      [{ weightDecay: '0.1' }, /^weightDecay must be/],
      [{ evalMaxExamples: Number.NaN }, /^evalMaxExamples must be a positive integer/],
      [{ evalMaxExamples: 0 }, /^evalMaxExamples must be a positive integer/],
      [{ datasetBudget: -1 }, /^datasetBudget must be a positive number/],
      [{ eosTokenId: 1.5 }, /^eosTokenId must be/],
      [{ dpzoHome: 5 }, /^dpzoHome must be/],
      // resume without a directory started a fresh run
      [{ resume: true }, /^resume needs runDir/],
      [{ train: null }, /^train must be a dataset/],
    ];
    for (const [patch, re] of cases) {
      const o = { ...base, ...patch } as typeof base;
      expect(() => makePlan(o), JSON.stringify(patch)).toThrow(expect.objectContaining({ code: 'ERR_TRAIN_OPTION', message: expect.stringMatching(re) }));
      const model = new FakeModel(4);
      await expect(new DPZOTrainer(model, o).train()).rejects.toMatchObject({ code: 'ERR_TRAIN_OPTION' });
      expect(model.log).toEqual([]);
    }
    // known options given as undefined are fine (what a spread of optional fields gives)
    expect(makePlan({ ...base, privateDiagnostics: undefined, resume: false, eosTokenId: null }).steps).toBe(30);
  });

  it('a dataset that does not fit the model (made for another one) is refused by plan(), before any release: it failed at the step whose batch held the row', async () => {
    const fits = Array.from({ length: 40 }, (_, i) => 3 + (i % 50));
    const cases: [Record<string, unknown>, RegExp][] = [
      // token 64 is outside the fake's vocabulary [0, 64)
      [{ train: tokenDataset([...fits.slice(0, 39), 64]) }, /^train\.examples\[39\] holds a token id outside the model's vocabulary \[0, 64\)$/],
      [
        { train: { ...train, examples: [...train.examples.slice(0, 39), { inputIds: new Int32Array(65).fill(3) }] } },
        /^train\.examples\[39\] is longer than the model's 64 positions$/,
      ],
      [
        { train: { ...train, examples: [...train.examples.slice(0, 39), { inputIds: Int32Array.from([1, 3]), labels: Int32Array.from([-100, 99]) }] } },
        /^train\.examples\[39\]\.labels/,
      ],
      [{ eval: tokenDataset([3, 70]), evalPublic: true }, /^eval\.examples\[1\] holds a token id/],
      [{ train: { ...train, candidates: Int32Array.from([3, 64]) } }, /^train\.candidates/],
    ];
    for (const [patch, re] of cases) {
      const model = new FakeModel(4);
      const trainer = new DPZOTrainer(model, { ...base, ...patch } as typeof base);
      expect(() => trainer.plan(), JSON.stringify(Object.keys(patch))).toThrow(
        expect.objectContaining({ code: 'ERR_TRAIN_OPTION', message: expect.stringMatching(re) }),
      );
      await expect(trainer.train()).rejects.toMatchObject({ code: 'ERR_TRAIN_OPTION' });
      expect(model.log).toEqual([]);
    }
  });

  it('train() refuses a callback name that is not one, or a signal that is not an AbortSignal, before anything is written (a misspelt signal never cancelled)', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ signall: new AbortController().signal }, /^signall is not a callback of train/],
      [{ onstep: () => undefined }, /^onstep is not a callback of train/],
      [{ signal: {} }, /^signal must be an AbortSignal/],
      [{ onStep: 'log' }, /^onStep must be a function/],
    ];
    for (const [cb, re] of cases) {
      const model = new FakeModel(4);
      await expect(new DPZOTrainer(model, base).train(cb as never), JSON.stringify(Object.keys(cb))).rejects.toMatchObject({
        code: 'ERR_TRAIN_OPTION',
        message: expect.stringMatching(re),
      });
      expect(model.log).toEqual([]);
    }
  });

  it('stops rather than exceed a budget the explicit noise cannot reach', async () => {
    // σ fits 30 steps exactly; run 30 then check a 31st release would be refused by the ledger rule
    const plan = makePlan(base);
    const model = new FakeModel(8);
    const trainer = new DPZOTrainer(model, { ...base, noiseMultiplier: plan.noiseMultiplier, steps: 30 });
    const r = await trainer.train();
    expect(r.steps).toBe(30);
    const more = new DPZOTrainer(new FakeModel(8), { ...base, noiseMultiplier: plan.noiseMultiplier, steps: 60 });
    await expect(more.train()).rejects.toThrow(/> the budget/);
  });

  it('keeps statistics of the private batches inside unless privateDiagnostics is set', async () => {
    const seen: Record<string, unknown>[] = [];
    const r = await new DPZOTrainer(new FakeModel(4), { ...base, steps: 5 }).train({ onStep: (s) => void seen.push({ ...s }) });
    expect(seen).toHaveLength(5);
    for (const s of seen) expect(Object.keys(s).sort()).toEqual(['epsilon', 'epsilonRdp', 'gHat', 'lr', 'step', 'steps']);
    expect(r.privateDiagnostics).toBeUndefined();
    // the last step's ε is the budget accountant's (RDP here), equal to the report's
    expect(seen.at(-1)!.epsilon).toBeCloseTo(r.epsilon.rdp, 10);
    expect(JSON.stringify(r)).not.toMatch(/clipped|nonFinite|sampled|batchSize"/);

    const withDiag: Record<string, unknown>[] = [];
    const r2 = await new DPZOTrainer(new FakeModel(4), { ...base, steps: 5, privateDiagnostics: true }).train({ onStep: (s) => void withDiag.push({ ...s }) });
    expect(withDiag.every((s) => typeof (s.privateDiagnostics as { batchSize: number }).batchSize === 'number')).toBe(true);
    expect(r2.privateDiagnostics!.sampled).toBeGreaterThanOrEqual(0);
  });

  it('marks a run with test hooks as not private', async () => {
    const trainer = new DPZOTrainer(new FakeModel(4), { ...base, steps: 2 });
    installTestHooks(trainer, { seeds: (_t, n) => Array.from({ length: n }, () => 1n) });
    const r = await trainer.train();
    expect(r.private).toBe(false);
    expect(r.warnings.join()).toMatch(/NOT private/);
  });
});

describe('evaluate options', () => {
  it('a name that is not an option, or a count that is not a positive integer, is ERR_ARGUMENT naming it (maxExamples NaN scored nothing: accuracy 0/0)', async () => {
    const ds = tokenDataset([3, 4, 5]);
    const cases: [Record<string, unknown>, string][] = [
      [{ maxExamples: Number.NaN }, 'maxExamples'],
      [{ maxExamples: -1 }, 'maxExamples'],
      [{ maxBatchTokens: 0 }, 'maxBatchTokens'],
      [{ maxGenerate: 1.5 }, 'maxGenerate'],
      [{ maxExample: 2 }, 'maxExample'],
    ];
    for (const [o, name] of cases) {
      await expect(evaluate(new FakeModel(4), ds, o as never), name).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringContaining(name) });
    }
    expect((await evaluate(new FakeModel(4), ds, { maxExamples: 2 })).examples).toBe(2);
  });
});

// A cancel during the evaluation after training (issue: trainer.ts ran it with `signal: undefined`): a Ctrl-C or an
// aborted AbortSignal waited for the whole held-out set, and a cancel of the steps was followed by that evaluation in
// full. Now the final evaluation stops at the batch in flight and train() resolves as a cancel between steps does:
// stopReason 'cancelled', no evalAfter, the run directory closed with every release, resumable without a release.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { DPZOTrainer, readTrajectory } from '../../../lib/dpzo/index.js';
import { loadDataset, loadModel } from '../../../lib/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-cancel-final-eval-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 100, 1);
// 64 examples of 12 tokens, one per batch (maxBatchTokens 12): 64 forwards in each evaluation
writeCyclesJsonl(p.eval, 64, 2);

/** The model with the forwards of the evaluation after the last step counted; `onFinal(n)` runs before the n-th. */
async function counted(onFinal: (n: number) => void) {
  const model = await loadModel(p.model, { threads: 1 });
  const inner = model.perExampleLoss.bind(model);
  const counts = { final: 0, last: false };
  const wrapped = Object.assign(Object.create(model) as typeof model, {
    perExampleLoss: (...a: Parameters<typeof inner>) => {
      if (counts.last) onFinal(++counts.final);
      return inner(...a);
    },
  });
  const data = (f: string) => loadDataset(f, { task: { kind: 'tokens' }, modelDir: p.model, config: model.config });
  return { model, wrapped, counts, train: data(p.train), eval: data(p.eval) };
}

const plan = { epsilon: 8, delta: 1e-5, accountant: 'rdp' as const, steps: 3, batchSize: 10, lr: 1e-3, clip: 1, zoEps: 1e-2 };

describe('a cancel during the evaluation after training', () => {
  it('stops it at the forward in flight; train() resolves cancelled with every step, the run directory complete and resumable', async () => {
    const out = join(tmp.dir, 'run');
    const controller = new AbortController();
    const c = await counted((n) => n === 3 && controller.abort());
    const evals: number[] = [];
    try {
      const trainer = new DPZOTrainer(c.wrapped, {
        ...plan,
        train: c.train,
        eval: c.eval,
        evalPublic: true,
        maxBatchTokens: 12,
        runDir: out,
        dpzoHome: join(tmp.dir, 'home'),
      });
      const report = await trainer.train({
        signal: controller.signal,
        onStep: (s) => void (s.step === plan.steps - 1 && (c.counts.last = true)),
        onEval: (e) => void evals.push(e.step),
      });
      expect(report).toMatchObject({ stopReason: 'cancelled', steps: plan.steps, plannedSteps: plan.steps });
      expect(report.evalBefore?.examples).toBe(64);
      expect(report.evalAfter).toBeUndefined();
      expect(report.metric).toBeUndefined();
      // the forward in which the signal aborted rejected, and none ran after it (it ran all 64)
      expect(c.counts.final).toBe(3);
      expect(evals).toEqual([0]);
      expect(readTrajectory(out).lines).toHaveLength(plan.steps);
      expect(report.weightsHash).toBe(await c.model.weightsHash());
    } finally {
      c.model.dispose();
    }
    // the run is whole: resuming it replays the three steps and releases nothing more
    const again = await counted(() => {});
    try {
      const resumed = new DPZOTrainer(again.wrapped, { ...plan, train: again.train, runDir: out, resume: true, dpzoHome: join(tmp.dir, 'home') });
      const r = await resumed.train();
      expect(r).toMatchObject({ stopReason: 'completed', steps: plan.steps });
      expect(readTrajectory(out).lines).toHaveLength(plan.steps);
    } finally {
      again.model.dispose();
    }
  });
});

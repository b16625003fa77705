// The non-private baseline (issue 16): epsilon ∞ adds no noise and clips only when a clip is given, its
// releases are ledgered as 'none' (ε = ∞ under every accountant, so a dataset ledger with a budget refuses
// it and every later ε on the same file is ∞), its run directory says NOT PRIVATE, and ∞ survives JSON.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { installTestHooks } from '../../../lib/dpzo/hooks.js';
import { DPZOTrainer, type StepInfo } from '../../../lib/dpzo/index.js';
import { makePlan } from '../../../lib/dpzo/options.js';
import { readRunJson } from '../../../lib/dpzo/run-record.js';
import { DatasetLedger, PldAccountant, RdpAccountant, checkMechanism } from '../../../lib/privacy/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { FakeModel, direction, tokenDataset } from '../../helpers/fake-model.js';

const tmp = makeTempDir('dpzo-nonprivate-');
afterAll(() => tmp.cleanup());
const d = 6;
const theta0 = [0.5, -0.25, 0.125, 1, -1, 0.75];
const tokens = [5, 9, 12, 20];

/** Per-example scalars g_i = (L(θ+εz) − L(θ−εz)) / 2ε on the fake model, in float64. */
function scalars(model: FakeModel, seed: bigint, zoEps: number): number[] {
  const z = Array.from(direction(seed, d));
  return tokens.map((t) => {
    const ids = [1, t];
    return (
      (model.lossAt(
        theta0.map((v, j) => v + zoEps * z[j]!),
        ids,
      ) -
        model.lossAt(
          theta0.map((v, j) => v - zoEps * z[j]!),
          ids,
        )) /
      (2 * zoEps)
    );
  });
}

async function oneStep(opts: { clip?: number }): Promise<{ g: number; report: Awaited<ReturnType<DPZOTrainer['train']>>; model: FakeModel }> {
  const model = new FakeModel(d, theta0);
  const trainer = new DPZOTrainer(model, { train: tokenDataset(tokens), epsilon: Infinity, delta: 1e-5, batchSize: 4, steps: 1, lr: 0, zoEps: 1e-2, ...opts });
  // seeds and batch injected, the noise NOT: what the trainer releases is its own
  installTestHooks(trainer, { seeds: () => [7n], batch: () => [0, 1, 2, 3] });
  const steps: StepInfo[] = [];
  const report = await trainer.train({ onStep: (s) => void steps.push(s) });
  return { g: steps[0]!.gHat[0]!, report, model };
}

describe('epsilon ∞: the non-private baseline', () => {
  it('releases the exact unclipped mean: ĝ = Σ g_i / B, per-example scalars beyond the default clip kept', async () => {
    const g = scalars(new FakeModel(d, theta0), 7n, 1e-2);
    expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(1); // the default C = 1 would have clipped
    const { g: released, report } = await oneStep({});
    expect(released).toBeCloseTo(g.reduce((a, b) => a + b, 0) / 4, 4);
    expect(report.private).toBe(false);
    expect(report.plan.mechanism).toBe('none');
    expect(report.epsilon.pld).toBe(Infinity);
    expect(report.epsilon.rdp).toBe(Infinity);
    expect(report.warnings.some((w) => w.startsWith('NOT PRIVATE'))).toBe(true);
  });

  it('clips when a clip is given, still without noise', async () => {
    const C = 0.05;
    const g = scalars(new FakeModel(d, theta0), 7n, 1e-2).map((v) => (Math.abs(v) > C ? Math.sign(v) * C : v));
    const { g: released } = await oneStep({ clip: C });
    expect(released).toBeCloseTo(g.reduce((a, b) => a + b, 0) / 4, 6);
  });

  it('refuses noise options with epsilon ∞', () => {
    const base = { train: tokenDataset(tokens), epsilon: Infinity, delta: 1e-5, batchSize: 2, steps: 3 };
    expect(() => makePlan({ ...base, noiseMultiplier: 1 })).toThrow(/noiseMultiplier/);
    expect(() => makePlan({ ...base, mechanism: 'laplace' })).toThrow(/mechanism.*∞/);
    expect(makePlan(base).predictedEpsilon).toBe(Infinity);
  });

  it('accountants: a release without noise makes ε = ∞ and δ(ε) = 1, alone or after noisy ones', () => {
    const none = checkMechanism({ kind: 'none', sampleRate: 0.01 });
    for (const acc of [new PldAccountant(), new RdpAccountant()]) {
      acc.step({ kind: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1 }, 100);
      expect(Number.isFinite(acc.getEpsilon(1e-5).epsilon)).toBe(true);
      acc.step(none, 1);
      expect(acc.getEpsilon(1e-5).epsilon).toBe(Infinity);
      expect(acc.getDelta(5).delta).toBe(1);
    }
  });

  it('a run directory: NOT_PRIVATE file, ∞ kept through run.json, resume accepted, the dataset ledger refuses it under a budget', async () => {
    const data = join(tmp.dir, 'train.jsonl');
    writeFileSync(data, tokens.map((t) => JSON.stringify({ input_ids: [1, t] })).join('\n') + '\n');
    const train = { ...tokenDataset(tokens), source: data };
    const home = join(tmp.dir, 'home');
    const runDir = join(tmp.dir, 'run');
    const opts = { train, epsilon: Infinity, delta: 1e-5, batchSize: 2, steps: 3, lr: 1e-3, dpzoHome: home, runDir };
    const first = await new DPZOTrainer(new FakeModel(d, theta0), opts).train();
    expect(first.steps).toBe(3);
    expect(readFileSync(join(runDir, 'NOT_PRIVATE'), 'utf8')).toMatch(/^NOT PRIVATE: epsilon is ∞/);
    const run = readRunJson(runDir);
    expect(run.private).toBe(false);
    expect(run.plan.budget.epsilon).toBe(Infinity);
    expect(run.plan.predictedEpsilon).toBe(Infinity);
    const ledger = readFileSync(join(runDir, 'ledger.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { mechanism?: string; budget?: unknown });
    expect(ledger[0]!.budget).toBeNull();
    expect(ledger.slice(1).map((e) => e.mechanism)).toEqual(['none', 'none', 'none']);
    // resume checks the ledger against the plan (no header budget for ε ∞) and finds nothing left to do
    const again = await new DPZOTrainer(new FakeModel(d, theta0), { ...opts, resume: true }).train();
    expect(again.steps).toBe(3);
    // the dataset ledger: every later ε on this file is ∞
    const ds = await DatasetLedger.openFile(run.dataset!.ledger!, { readOnly: true });
    expect(ds.ledger.spent(1e-5).epsilon).toBe(Infinity);
    await ds.close();
    // a dataset budget refuses the baseline's first release (ε = ∞): a new one, before the run directory or the dataset
    // ledger is made (it would have fixed a budget the run could not spend)
    const capped = join(tmp.dir, 'capped.jsonl');
    writeFileSync(capped, readFileSync(data, 'utf8') + JSON.stringify({ input_ids: [1, 2] }) + '\n');
    await expect(
      new DPZOTrainer(new FakeModel(d, theta0), {
        ...opts,
        train: { ...tokenDataset([...tokens, 2]), source: capped },
        runDir: join(tmp.dir, 'run-capped'),
        datasetBudget: 10,
      }).train(),
    ).rejects.toMatchObject({
      code: 'ERR_TRAIN_OPTION',
      message: expect.stringMatching(/^datasetBudget \(ε = 10 at δ = 0\.00001\) is exceeded by the run's first step alone/),
    });
    expect(existsSync(join(tmp.dir, 'run-capped'))).toBe(false);
  });
});

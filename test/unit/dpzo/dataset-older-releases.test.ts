// A dataset ledger holding lines of an older dpzo, written before the `trueSensitivity` mark: that dpzo set the noise of
// constant-time runs with K = N slots for Δ = C where the release had Δ = 2C, and no line says which. `dpzo account
// --dataset` bounds ε with each such line at Δ = 2C; a new run's dataset-budget check, its report and the model card of its
// export counted them at face value: less ε than may have been spent, and a budget that let the run spend past it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { fileSha256 } from '../../../lib/data/fingerprint.js';
import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { exportRun } from '../../../lib/dpzo/replay.js';
import { PrivacyLedger } from '../../../lib/privacy/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const tmp = makeTempDir('dpzo-older-releases-');
afterAll(() => tmp.cleanup());

const DELTA = 1e-5;
const OLD_RUN = '11111111-1111-4111-8111-111111111111';
/** The older lines: Gaussian, q = 0.1, σ = 1.2 as recorded (σ 0.6 if their true Δ was 2C). */
const OLD = { mechanism: 'gaussian' as const, sampleRate: 0.1, noiseMultiplier: 1.2, clip: 1 };
const OLD_COUNT = 20;

function setup(tag: string) {
  const home = join(tmp.dir, `home-${tag}`);
  const file = join(tmp.dir, `train-${tag}.txt`);
  writeFileSync(file, `private rows ${tag}\n`);
  const train = { ...tokenDataset(Array.from({ length: 40 }, (_, i) => 3 + (i % 50))), source: file };
  const options = {
    train,
    epsilon: 4,
    delta: DELTA,
    batchSize: 4,
    steps: 6,
    lr: 0.01,
    clip: 1,
    zoEps: 1e-2,
    dpzoHome: home,
    runDir: join(tmp.dir, `run-${tag}`),
  };
  return { home, file, options };
}

/** The dataset ledger as an older dpzo left it (named by the plain SHA-256, no mark on its lines), written by hand. */
async function olderLedger(home: string, file: string, budget: number | null): Promise<void> {
  const path = join(home, 'datasets', fileSha256(file), 'ledger.jsonl');
  mkdirSync(join(home, 'datasets', fileSha256(file)), { recursive: true });
  const l = await PrivacyLedger.open(path, { create: true, accountant: 'pld', ...(budget !== null ? { budget: { epsilon: budget, delta: DELTA } } : {}) });
  for (let i = 0; i < OLD_COUNT; i++) await l.append({ ...OLD, origin: { run: OLD_RUN, hash: 'a'.repeat(64) } });
  await l.close();
  expect(readFileSync(path, 'utf8')).not.toMatch(/trueSensitivity/);
}

/** PLD ε at DELTA of the older lines at σ·`oldFactor` followed by `steps` releases of σ `sigma` (q 0.1). */
async function epsilonOf(oldFactor: number, sigma: number, steps: number): Promise<number> {
  const l = PrivacyLedger.inMemory({ accountant: 'pld' });
  for (let i = 0; i < OLD_COUNT; i++) await l.append({ ...OLD, noiseMultiplier: OLD.noiseMultiplier * oldFactor });
  for (let i = 0; i < steps; i++) await l.append({ mechanism: 'gaussian', sampleRate: 0.1, noiseMultiplier: sigma, clip: 1 });
  return l.spent(DELTA).epsilon;
}

describe('a new run on a dataset ledger with lines of an older dpzo', () => {
  it('its report and the model card state the upper bound of account --dataset, and the run warns', async () => {
    const { home, file, options } = setup('report');
    await olderLedger(home, file, null);
    const report = await new DPZOTrainer(new FakeModel(8), options).train();
    expect(report.stopReason).toBe('completed');
    const sigma = report.plan.noiseMultiplier!;
    expect(report.plan.sampleRate).toBe(0.1);
    const bound = await epsilonOf(0.5, sigma, 6);
    const faceValue = await epsilonOf(1, sigma, 6);
    expect(bound).toBeGreaterThan(faceValue * 1.05);
    expect(report.dataset!.epsilon).toBeCloseTo(bound, 6);
    expect(report.dataset!.olderReleases).toBe(OLD_COUNT);
    expect(report.warnings.join('\n')).toMatch(/holds 20 release\(s\) written by an older dpzo.*twice their recorded sensitivity/);
    const out = join(tmp.dir, 'export-report');
    await exportRun(new FakeModel(8), options.runDir, out);
    const card = readFileSync(join(out, 'README.md'), 'utf8');
    const line = card.split('\n').find((l) => l.includes("the training file's dataset ledger"));
    expect(line).toBeDefined();
    const stated = Number(/ε ≤ ([0-9.]+) at δ/.exec(line!)?.[1]);
    expect(stated).toBe(Number(bound.toPrecision(4)));
    expect(line).toMatch(/20 of them were written by an older dpzo/);
  });

  it('its dataset budget counts them at Δ = 2C: the run stops where the bound reaches the budget', async () => {
    const { home, file, options } = setup('budget');
    // σ of the run's plan, to put the budget above the face value of the whole run and above the bound of the older
    // lines alone, below the bound of the whole run
    const sigma = new DPZOTrainer(new FakeModel(8), options).plan().noiseMultiplier!;
    const faceValue = await epsilonOf(1, sigma, 6);
    const bound = await epsilonOf(0.5, sigma, 6);
    const budget = (Math.max(faceValue, await epsilonOf(0.5, sigma, 0)) + bound) / 2;
    expect(budget).toBeGreaterThan(faceValue);
    await olderLedger(home, file, budget);
    const report = await new DPZOTrainer(new FakeModel(8), options).train();
    // at face value all 6 steps fit the budget; with the older lines at Δ = 2C they do not
    expect(report.stopReason).toBe('budget');
    expect(report.steps).toBeLessThan(6);
    expect(report.warnings.join('\n')).toMatch(/would exceed the dataset budget/);
    expect(report.dataset!.epsilon).toBeLessThanOrEqual(budget);
    expect(report.dataset!.epsilon).toBeCloseTo(await epsilonOf(0.5, sigma, report.steps), 6);
    expect(await epsilonOf(0.5, sigma, report.steps + 1)).toBeGreaterThan(budget);
  });

  it('a ledger whose lines are all marked is stated at face value, with no older releases', async () => {
    const { options } = setup('marked');
    const first = await new DPZOTrainer(new FakeModel(8), { ...options, runDir: join(tmp.dir, 'run-marked-1') }).train();
    const second = await new DPZOTrainer(new FakeModel(8), options).train();
    const sigma = second.plan.noiseMultiplier!;
    const l = PrivacyLedger.inMemory({ accountant: 'pld' });
    for (let i = 0; i < first.steps + second.steps; i++) await l.append({ mechanism: 'gaussian', sampleRate: 0.1, noiseMultiplier: sigma, clip: 1 });
    expect(second.dataset!.epsilon).toBeCloseTo(l.spent(DELTA).epsilon, 9);
    expect(second.dataset!.olderReleases).toBeUndefined();
    expect(second.warnings.join('\n')).not.toMatch(/older dpzo/);
  });
});

// The report's dataset ε, as `dpzo train` and `dpzo report` print it (reportRows). A dataset ledger holding releases of an
// older dpzo (no `trueSensitivity` mark) has them counted at their upper bound Δ = 2C (datasetSpent): the number is then an
// upper bound, and the table printed it as "X (PLD)", as if it were the ε spent.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { reportRows } from '../../../lib/cli/format.js';
import { fileSha256 } from '../../../lib/data/fingerprint.js';
import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { PrivacyLedger } from '../../../lib/privacy/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const tmp = makeTempDir('dpzo-report-rows-dataset-');
afterAll(() => tmp.cleanup());

const DELTA = 1e-5;
const OLD_COUNT = 7;

/** A run of 3 steps on a training file of its own; with `older`, its dataset ledger first holds OLD_COUNT lines of an older dpzo. */
async function report(tag: string, older: boolean) {
  const home = join(tmp.dir, `home-${tag}`);
  const file = join(tmp.dir, `train-${tag}.txt`);
  writeFileSync(file, `private rows ${tag}\n`);
  if (older) {
    const dir = join(home, 'datasets', fileSha256(file));
    mkdirSync(dir, { recursive: true });
    const l = await PrivacyLedger.open(join(dir, 'ledger.jsonl'), { create: true, accountant: 'pld' });
    const origin = { run: '11111111-1111-4111-8111-111111111111', hash: 'a'.repeat(64) };
    for (let i = 0; i < OLD_COUNT; i++) await l.append({ mechanism: 'gaussian', sampleRate: 0.1, noiseMultiplier: 1.2, clip: 1, origin });
    await l.close();
  }
  const train = { ...tokenDataset(Array.from({ length: 40 }, (_, i) => 3 + (i % 50))), source: file };
  const options = {
    train,
    epsilon: 4,
    delta: DELTA,
    batchSize: 4,
    steps: 3,
    lr: 0.01,
    clip: 1,
    zoEps: 1e-2,
    dpzoHome: home,
    runDir: join(tmp.dir, `run-${tag}`),
  };
  return new DPZOTrainer(new FakeModel(8), options).train();
}

const datasetRow = (r: Awaited<ReturnType<typeof report>>) => reportRows(r).find(([k]) => k === 'dataset ε')?.[1];

describe('reportRows: the dataset ε', () => {
  it('is stated as an upper bound, with the number of older releases counted at Δ = 2C, when the ledger holds some', async () => {
    const r = await report('older', true);
    expect(r.dataset!.olderReleases).toBe(OLD_COUNT);
    const row = datasetRow(r);
    expect(row).toMatch(
      new RegExp(`^≤ [0-9.]+ \\(PLD; ${OLD_COUNT} older release\\(s\\) counted at Δ = 2C\\) at δ = 0\\.00001 over 2 run\\(s\\), ${OLD_COUNT + 3} releases`),
    );
    expect(Number(/^≤ ([0-9.]+)/.exec(row!)![1])).toBeCloseTo(r.dataset!.epsilon, 3);
  });

  it('is stated as the ε spent when every release is marked', async () => {
    const r = await report('marked', false);
    expect(r.dataset!.olderReleases).toBeUndefined();
    const row = datasetRow(r);
    expect(row).toMatch(/^[0-9.]+ \(PLD\) at δ = 0\.00001 over 1 run\(s\), 3 releases/);
    expect(row).not.toMatch(/≤|older/);
  });
});

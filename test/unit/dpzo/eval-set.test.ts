// The evaluation set declared public (evalPublic) cannot make the private training file public: a
// copy of it or a link to it under another name is still the training set, and its metrics are
// statistics of the private data (the trainer warns). Only a path comparison caught it before.
import { copyFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import type { Dataset } from '../../../lib/data/tasks.js';
import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const tmp = makeTempDir('dpzo-eval-set-');
afterAll(() => tmp.cleanup());

const base = {
  epsilon: 8,
  delta: 1e-5,
  accountant: 'rdp' as const,
  noiseMultiplier: 1,
  batchSize: 4,
  steps: 1,
  lr: 0.01,
  clip: 1,
  zoEps: 1e-2,
  datasetLedger: false,
};
const withSource = (ds: Dataset, source: string): Dataset => ({ ...ds, source });

describe('an evaluation set that is the training file under another name', () => {
  const trainFile = join(tmp.dir, 'train.jsonl');
  writeFileSync(trainFile, '{"input_ids":[3,4,5]}\n{"input_ids":[6,7,8]}\n');
  const train = withSource(tokenDataset([3, 4, 5, 6, 7, 8]), trainFile);

  it('a copy or a symbolic link: the warning names it the training set, even when declared public', async () => {
    const copy = join(tmp.dir, 'dev.jsonl');
    copyFileSync(trainFile, copy);
    const link = join(tmp.dir, 'heldout.jsonl');
    symlinkSync(trainFile, link);
    for (const source of [copy, link]) {
      const r = await new DPZOTrainer(new FakeModel(4), { ...base, train, eval: withSource(tokenDataset([3, 4]), source), evalPublic: true }).train();
      expect(r.warnings.join('\n'), source).toMatch(/is the training set/);
    }
  });

  it('another file declared public: no warning', async () => {
    const other = join(tmp.dir, 'public-dev.jsonl');
    writeFileSync(other, '{"input_ids":[9,10,11]}\n');
    const r = await new DPZOTrainer(new FakeModel(4), { ...base, train, eval: withSource(tokenDataset([3, 4]), other), evalPublic: true }).train();
    expect(r.warnings).toEqual([]);
  });
});

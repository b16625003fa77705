// The evaluation set declared public (evalPublic) cannot make the private training file public: a
// copy of it or a link to it under another name is still the training set, and its metrics are
// statistics of the private data (the trainer warns). Only a path comparison caught it before.
// And the dataset ledger is keyed by the bytes loadDataset read, not by the file at train() time.
import { createHash } from 'node:crypto';
import { copyFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadDataset } from '../../../lib/data/load.js';
import type { Dataset } from '../../../lib/data/tasks.js';
import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { DatasetLedger } from '../../../lib/privacy/index.js';
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

describe('the dataset ledger is keyed by the bytes that were loaded', () => {
  const load = (file: string) => loadDataset(file, { task: { kind: 'tokens' }, modelDir: tmp.dir, config: { vocabSize: 64, maxPositions: 64 } });
  const rows = Array.from({ length: 40 }, (_, i) => `{"input_ids":[1,${3 + (i % 50)},5]}`).join('\n') + '\n';
  const base2 = { epsilon: 4, delta: 1e-5, accountant: 'rdp' as const, batchSize: 4, steps: 3, lr: 0.01, clip: 1, zoEps: 1e-2 };

  it('a training file deleted after loading: its releases still go to its dataset ledger', async () => {
    const file = join(tmp.dir, 'deleted-after-load.jsonl');
    writeFileSync(file, rows);
    const train = load(file);
    rmSync(file);
    const home = join(tmp.dir, 'home-deleted');
    const report = await new DPZOTrainer(new FakeModel(8), { ...base2, train, dpzoHome: home }).train();
    expect(report.dataset?.releases).toBe(3);
    const d = await DatasetLedger.open(createHash('sha256').update(rows).digest('hex'), { home, readOnly: true });
    expect(d.ledger.length).toBe(3);
    await d.close();
  });

  it('a training file rewritten after loading: the releases go to the ledger of the content trained on', async () => {
    const file = join(tmp.dir, 'rewritten-after-load.jsonl');
    writeFileSync(file, rows);
    const train = load(file);
    writeFileSync(file, '{"input_ids":[1,2,3]}\n');
    const home = join(tmp.dir, 'home-rewritten');
    await new DPZOTrainer(new FakeModel(8), { ...base2, train, dpzoHome: home }).train();
    const d = await DatasetLedger.open(createHash('sha256').update(rows).digest('hex'), { home, readOnly: true });
    expect(d.ledger.length).toBe(3);
    await d.close();
  });
});

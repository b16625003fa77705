// The model card's sampling line. With the sampling rate fixed a priori (--sample-rate, TrainOptions.sampleRate) the
// dataset size N stays private and B (--batch-size) is only the public divisor of the update: the card called B the
// "expected batch", which is q·N, a number neither the card nor the run knows (for q = 0.01 and N = 10 000 it is 100,
// whatever B is).
import { describe, expect, it } from 'vitest';

import { modelCard } from '../../../lib/dpzo/model-card.js';
import type { RunRecord } from '../../../lib/dpzo/run-record.js';

const run = (datasetSize: number | undefined): RunRecord => ({
  format: 'dpzo-run/2',
  createdAt: '2026-12-04T00:00:00.000Z',
  runId: '00000000-0000-4000-8000-000000000000',
  dataset: { sha256: 'ab'.repeat(32) },
  private: true,
  model: { dir: '/models/base', weightsHash: 'cd'.repeat(32), dtype: 'float32', trainable: null, trainableNames: ['w'], numTrainable: 10 },
  plan: {
    method: 'dpzo',
    ...(datasetSize === undefined ? {} : { datasetSize }),
    expectedBatch: 64,
    sampleRate: 0.01,
    steps: 100,
    mechanism: 'gaussian',
    noiseMultiplier: 1.5,
    clip: 2,
    directions: 1,
    zoEps: 1e-3,
    lr: 1e-6,
    schedule: 'constant',
    warmupSteps: 0,
    weightDecay: 0,
    budget: { epsilon: 4, delta: 1e-5 },
    accountant: 'pld',
    predictedEpsilon: 3.9,
    calibrated: true,
  },
  meta: {},
});
const card = (r: RunRecord) =>
  modelCard({
    run: r,
    steps: 100,
    releases: 100,
    spent: { epsilon: 3.9, delta: 1e-5, accountant: 'pld', pld: { epsilon: 3.9 }, rdp: { epsilon: 4.4, order: 12 } },
    weightsHash: 'ef'.repeat(32),
    version: '0.1.0',
  });
const sampling = (text: string) => text.split('\n').find((l) => l.startsWith('| sampling |'));

describe('the model card on sampling', () => {
  it('q fixed a priori: B is named as the divisor of the update, not as the expected batch, and N is not stated', () => {
    const line = sampling(card(run(undefined)));
    expect(line).toContain('rate q = 0.01 fixed a priori');
    expect(line).toContain('divided by B = 64');
    expect(line).not.toMatch(/expected batch/);
  });

  it('q = B/N derived from a public N: B is the expected batch', () => {
    expect(sampling(card(run(6400)))).toBe('| sampling | Poisson, rate q = 0.01, expected batch 64 |');
  });
});

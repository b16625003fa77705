// The model card's statements that depend on the run: a run made with test hooks says NOT PRIVATE at the
// top; constant-time steps that may cut a batch state the 2C sensitivity the noise was calibrated to; a run
// with no release says ε = 0; a Laplace run gives its pure ε.
import { describe, expect, it } from 'vitest';

import { modelCard, type ModelCardInput } from '../../../lib/dpzo/model-card.js';
import type { RunRecord } from '../../../lib/dpzo/run-record.js';

const run = (over: Partial<RunRecord['plan']> = {}, isPrivate = true): RunRecord => ({
  format: 'dpzo-run/2',
  createdAt: '2026-12-04T00:00:00.000Z',
  runId: '00000000-0000-4000-8000-000000000000',
  dataset: { key: 'ab'.repeat(32) },
  private: isPrivate,
  model: { dir: '/models/base', weightsHash: 'cd'.repeat(32), dtype: 'bfloat16', trainable: null, trainableNames: ['w'], numTrainable: 10 },
  plan: {
    method: 'dpzo',
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
    ...over,
  },
  meta: {},
});
const input = (r: RunRecord, over: Partial<ModelCardInput> = {}): ModelCardInput => ({
  run: r,
  steps: 100,
  releases: 100,
  spent: { epsilon: 3.9, delta: 1e-5, accountant: 'pld', pld: { epsilon: 3.9 }, rdp: { epsilon: 4.4, order: 12 } },
  weightsHash: 'ef'.repeat(32),
  version: '0.1.0',
  ...over,
});

describe('modelCard', () => {
  const sampling = (text: string) => text.split('\n').find((l) => l.startsWith('| sampling |'));

  // with q fixed a priori (--sample-rate) N stays private and B is only the public divisor: the card called B the
  // "expected batch", which is q·N, a number neither the card nor the run knows
  it('q fixed a priori: B is named as the divisor of the update, not as the expected batch, and N is not stated', () => {
    const line = sampling(modelCard(input(run())));
    expect(line).toContain('rate q = 0.01 fixed a priori');
    expect(line).toContain('divided by B = 64');
    expect(line).not.toMatch(/expected batch/);
  });

  it('q = B/N derived from a public N: B is the expected batch', () => {
    expect(sampling(modelCard(input(run({ datasetSize: 6400 }))))).toBe('| sampling | Poisson, rate q = 0.01, expected batch 64 |');
  });

  it("names the base model by its Hub id (and base_model in the metadata) or its directory's name, never run.json's absolute path", () => {
    const snapshot = '/home/alice/.cache/huggingface/hub/models--openai-community--gpt2/snapshots/607a30d783dfa663caf39e06633721c8d4cfcd7e';
    const r = run();
    const hub = modelCard(input({ ...r, model: { ...r.model, dir: snapshot } }));
    expect(hub).toContain('| base model | `openai-community/gpt2` (Hugging Face Hub, commit 607a30d783df), bfloat16, weights SHA-256');
    expect(hub).toMatch(/^---\n(?:.*\n)*base_model: openai-community\/gpt2\n---\n/);
    expect(hub).not.toContain('/home/alice');
    const oneName = modelCard(input({ ...r, model: { ...r.model, dir: '/x/hub/models--gpt2/snapshots/abcdef1234567' } }));
    expect(oneName).toContain('`gpt2` (Hugging Face Hub, commit abcdef123456)');
    const local = modelCard(input(r));
    expect(local).toContain('| base model | `base` (a local directory), bfloat16, weights SHA-256');
    expect(local).not.toContain('/models/base');
    expect(local).not.toContain('base_model:');
  });

  it("a private run: ε by both accountants, σ and σ·C, q, C, the weights' hashes, not the training file's", () => {
    const card = modelCard(input(run()));
    expect(card).not.toMatch(/NOT PRIVATE/);
    expect(card).toContain('**ε = 3.9 at δ = 0.00001** by the PLD accountant');
    expect(card).toContain('ε = 4.4 at δ = 0.00001 by the RDP accountant (order 12)');
    expect(card).toContain('σ = 1.5 (noise std σ·Δ = 3 per released coordinate)');
    expect(card).toContain('rate q = 0.01');
    // the training file's SHA-256 (run.dataset) is not published: with all examples but one known, it tests guesses of the last
    expect(card).not.toContain('ab'.repeat(32));
    expect(card).toContain('| training data | a file, not named or hashed here');
    expect(card).toContain('cd'.repeat(32));
    expect(card).toContain('ef'.repeat(32));
    expect(card).toContain('per-step timings');
  });
  it('a run with test hooks says NOT PRIVATE first', () => {
    const card = modelCard(input(run({}, false)));
    expect(card.split('\n').find((l) => l.startsWith('# '))).toMatch(/^# NOT PRIVATE/);
  });
  it('constant-time steps that may cut a batch: sensitivity 2C, noise std σ·2C', () => {
    const card = modelCard(input(run({ constantTime: { slots: 32, length: 128 } })));
    expect(card).toContain('release sensitivity 2C');
    expect(card).toContain('noise std σ·Δ = 6 per released coordinate');
    expect(card).toContain('here bounded');
  });
  it('no release: ε = 0; Laplace: scale b and pure ε', () => {
    expect(modelCard(input(run(), { steps: 0, releases: 0, spent: null }))).toContain('nothing was released: ε = 0');
    const lap = modelCard(
      input(run({ mechanism: 'laplace', noiseMultiplier: undefined, laplaceScale: 20 }), {
        spent: { epsilon: 3, delta: 1e-5, accountant: 'pld', pld: { epsilon: 3 }, rdp: { epsilon: 3.5 }, pure: 5 },
      }),
    );
    expect(lap).toContain('Laplace, scale b = 20');
    expect(lap).toContain('pure ε = 5');
    expect(lap).toContain('C = 2 (L1');
  });
});

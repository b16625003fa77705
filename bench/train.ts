// Benchmark: DP-ZO training throughput (steps/s, examples/s) on a GPT-2-124M-shaped
// model with random weights — tokens task, expected batch 8, 64 tokens a sequence —
// through the same DPZOTrainer as `dpzo train` (memory ledger, no run directory).
// Prints a table and writes bench/results/train.json.
// Usage: node --import tsx bench/train.ts [--steps N] [--threads T]
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { DPZOTrainer } from '../lib/dpzo/trainer.js';
import { loadModel } from '../lib/index.js';
import { GPT2_SMALL, writeGpt2Checkpoint } from './gpt2-checkpoint.js';
import { opt } from './args.js';
import { writeResults } from './results.js';

const steps = opt('steps', 10);
const threads = opt('threads', availableParallelism());
const seqLen = 64;
const expectedBatch = 8;
const N = 1024;

const dir = mkdtempSync(join(tmpdir(), 'dpzo-bench-train-'));
try {
  // GPT-2 small: 12 layers, 768 hidden, 12 heads, vocab 50257, 1024 positions (124M parameters)
  writeGpt2Checkpoint(dir, GPT2_SMALL);
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const train = {
    task: { kind: 'tokens' as const },
    source: 'random',
    generative: false,
    examples: Array.from({ length: N }, () => ({ inputIds: Int32Array.from({ length: seqLen }, () => Math.floor(rnd() * 50257)) })),
  };
  const rows: Record<string, number | string>[] = [];
  let numParameters = 0,
    modelThreads = 0;
  for (const directions of [1, 4]) {
    // a model that took private updates refuses a second trainer in the same process (its ledger would not
    // cover both runs): each run starts from the checkpoint
    const model = await loadModel(dir, { threads });
    numParameters = model.numParameters;
    modelThreads = model.threads;
    const trainer = new DPZOTrainer(model, {
      train,
      epsilon: 8,
      delta: 1e-5,
      accountant: 'rdp',
      batchSize: expectedBatch,
      steps,
      lr: 1e-6,
      zoEps: 1e-3,
      clip: 1,
      directions,
    });
    const r = await trainer.train();
    model.dispose();
    // the bench's data is public: expected examples per step is its own q·N (the report carries no N)
    const examplesPerSecond = r.stepsPerSecond * expectedBatch;
    rows.push({
      directions,
      steps: r.steps,
      seconds: +r.seconds.toFixed(2),
      stepsPerSecond: +r.stepsPerSecond.toFixed(3),
      examplesPerSecond: +examplesPerSecond.toFixed(2),
      tokensPerSecond: Math.round(examplesPerSecond * seqLen * 2 * directions),
    });
  }
  const result = {
    bench: 'train',
    model: 'gpt2-124M-shaped (random weights, float32)',
    numParameters,
    task: 'tokens',
    expectedBatch,
    seqLen,
    threads: modelThreads,
    cpu: cpus()[0]?.model ?? 'unknown',
    note: 'tokensPerSecond counts forward tokens: 2 forwards per direction; includes perturbation passes, clipping, noise, ledger',
    rows,
  };
  console.log(`dpzo train on ${result.model}, ${result.numParameters.toLocaleString('en-US')} parameters, ${threads} threads`);
  console.table(rows);
  writeResults('train', result, { quiet: true });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// The update of a DP-ZO step with weight decay, before and after the decay was fused into the
// update pass (issue 8): two passes over the weights (update, then decay) against one
// (update(pairs, { decay })). GPT-2-124M shape, F32 and BF16, best of --reps. Prints a table and
// writes bench/results/decay.json.
//
//   node --import tsx bench/decay.ts [--threads 2] [--reps 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadModel, type WeightDType } from '../lib/index.js';
import { GPT2_SMALL, writeGpt2Checkpoint } from './gpt2-checkpoint.js';
import { opt } from './args.js';
import { writeResults } from './results.js';
import { bestOfEach } from './timing.js';

const threads = opt('threads', 2);
const reps = opt('reps', 5);
const pairs = [
  { seed: 11n, coeff: 1e-3 },
  { seed: 12n, coeff: -2e-3 },
];

const dir = mkdtempSync(join(tmpdir(), 'dpzo-bench-decay-'));
try {
  writeGpt2Checkpoint(dir, GPT2_SMALL);
  const rows: { dtype: WeightDType; twoPass: number; fused: number }[] = [];
  for (const dtype of ['float32', 'bfloat16'] as WeightDType[]) {
    const m = await loadModel(dir, { threads, dtype });
    // compared with each other, so timed in interleaved rounds (bench/timing.ts)
    const { twoPass, fused } = await bestOfEach(
      {
        twoPass: async () => {
          await m.update(pairs);
          await m.decay(0.9999);
        },
        fused: () => m.update(pairs, { decay: 0.9999 }),
      },
      reps,
    );
    rows.push({ dtype, twoPass, fused });
    m.dispose();
  }
  console.log(`GPT-2-124M shape, ${threads} threads, 2 (seed, coeff) pairs, best of ${reps}`);
  console.log('| dtype | update + decay, two passes (s) | fused update (s) | speed-up |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.dtype} | ${r.twoPass.toFixed(3)} | ${r.fused.toFixed(3)} | ${(r.twoPass / r.fused).toFixed(2)}× |`);
  writeResults('decay', { threads, reps, rows });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

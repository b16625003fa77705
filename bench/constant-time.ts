// The cost and the effect of constant-time steps (issue 11.1): the forwards of a DP-ZO step on Poisson
// batches of examples of very different lengths, as the trainer runs them (cut → pad → estimateScalars),
// without and with --constant-time-steps. Reports the mean step time, its spread, and how strongly the
// step time follows the private batch's token count (Pearson r): the timing side channel. Prints a table
// and writes bench/results/constant-time.json.
//
//   node --import tsx bench/constant-time.ts [--threads N] [--steps N]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { PoissonSampler } from '../lib/data/poisson.js';
import type { Example } from '../lib/data/tasks.js';
import { cutBatch } from '../lib/dpzo/constant-time.js';
import { estimateScalars } from '../lib/dpzo/estimator.js';
import { loadModel } from '../lib/index.js';
import { GPT2_SMALL, writeGpt2Checkpoint } from './gpt2-checkpoint.js';
import { opt } from './args.js';
import { header, writeResults } from './results.js';

const threads = opt('threads', cpus().length);
const steps = opt('steps', 40);
const SHAPE = { ...GPT2_SMALL, layers: 4, vocab: 8192 };
const N = 400;
const LENGTH = 128; // the public maximum length
const Q = 0.02; // expected batch 8
const SLOTS = 16; // ≈ B + 3√B: cut in about 1 % of steps

// lengths from 8 to 128 tokens: one long example costs as much as many short ones
let x = 7;
const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x / 2 ** 32);
const examples: Example[] = Array.from({ length: N }, () => {
  const len = 8 + Math.floor(rnd() ** 3 * (LENGTH - 8));
  return { inputIds: Int32Array.from({ length: len }, (_, i) => (i === 0 ? 1 : 2 + Math.floor(rnd() * (SHAPE.vocab - 2)))) };
});

function pearson(a: number[], b: number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

interface Row {
  mode: string;
  mean_s: number;
  sd_s: number;
  min_s: number;
  max_s: number;
  r_time_tokens: number;
  cut_steps: number;
}

const root = mkdtempSync(join(tmpdir(), 'dpzo-bench-ct-'));
const rows: Row[] = [];
try {
  writeGpt2Checkpoint(root, SHAPE, 'F32');
  const model = await loadModel(root, { threads });
  const sampler = new PoissonSampler(N, Q);
  for (const ct of [undefined, { slots: SLOTS, length: LENGTH }]) {
    const times: number[] = [];
    const tokens: number[] = [];
    let cut = 0;
    for (let t = -2; t < steps; t++) {
      const sampled = sampler.sample();
      const batch = ct ? cutBatch(sampled, ct.slots) : sampled;
      if (batch.length < sampled.length) cut++;
      const t0 = performance.now();
      await estimateScalars(
        model,
        batch.map((i) => examples[i]!),
        [BigInt(1000 + t)],
        1e-3,
        { constantTime: ct },
      );
      const dt = (performance.now() - t0) / 1000;
      if (t < 0) continue; // warm-up
      times.push(dt);
      tokens.push(sampled.reduce((s, i) => s + examples[i]!.inputIds.length, 0));
    }
    const mean = times.reduce((s, v) => s + v, 0) / times.length;
    const sd = Math.sqrt(times.reduce((s, v) => s + (v - mean) ** 2, 0) / (times.length - 1));
    rows.push({
      mode: ct ? `constant time (${SLOTS} slots × ${LENGTH})` : 'plain',
      mean_s: mean,
      sd_s: sd,
      min_s: Math.min(...times),
      max_s: Math.max(...times),
      r_time_tokens: pearson(times, tokens),
      cut_steps: cut,
    });
  }
  model.dispose();
} finally {
  rmSync(root, { recursive: true, force: true });
}

const f = (v: number, d = 3) => v.toFixed(d);
console.log(
  `GPT-2 shape, ${SHAPE.layers} layers, vocabulary ${SHAPE.vocab}; N = ${N}, q = ${Q}, lengths 8..${LENGTH}; ${steps} steps, ${threads} threads, ${cpus()[0]?.model ?? ''}`,
);
console.log('| mode | mean step forwards (s) | sd (s) | min (s) | max (s) | r(time, batch tokens) | steps cut |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.mode} | ${f(r.mean_s)} | ${f(r.sd_s)} | ${f(r.min_s)} | ${f(r.max_s)} | ${f(r.r_time_tokens, 2)} | ${r.cut_steps} |`);
writeResults('constant-time', { ...header(), threads, shape: SHAPE, N, q: Q, slots: SLOTS, length: LENGTH, steps, rows });

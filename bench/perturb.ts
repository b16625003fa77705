// Throughput of the perturbation kernel θ += Σ_k c_k z(s_k) (one pass over the
// trainable weights) on a GPT-2-124M-shaped checkpoint, F32 and BF16 (the BF16
// model is the same file converted on load), at 1 and 2 threads and more.
// Writes a real checkpoint (config.json + model.safetensors, 498 MB) to a temp
// dir, loads it through the public API, times Model.perturb / Model.update.
// Prints a table and writes bench/results/perturb.json.
//
//   node --import tsx bench/perturb.ts [--threads 1,2] [--reps 5] [--pairs 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadModel } from '../lib/index.js';
import { native } from '../lib/native.js';
import { GPT2_SMALL, writeGpt2Checkpoint } from './gpt2-checkpoint.js';
import type { WeightDType } from '../lib/index.js';
import { opt, str } from './args.js';
import { header, writeResults } from './results.js';

const threadList = (str('threads') ?? [...new Set([1, 2, cpus().length])].join(',')).split(',').map(Number);
const reps = opt('reps', 5);
const pairs = opt('pairs', 3);

interface Row {
  dtype: WeightDType;
  threads: number;
  op: string;
  elements: number;
  best_s: number;
  median_s: number;
  elements_per_s: number;
  GB_per_s: number;
  /** n / (process CPU seconds / threads): the rate the pass would have on an otherwise idle machine. */
  cpu_time_elements_per_s: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dpzo-bench-perturb-'));
  const rows: Row[] = [];
  try {
    const n = writeGpt2Checkpoint(dir, GPT2_SMALL);
    console.log(`GPT-2-124M-shaped checkpoint: ${n} parameters; direction ISA ${native.directionIsa()}; ${cpus()[0]?.model}`);
    for (const dtype of ['float32', 'bfloat16'] as const) {
      for (const threads of threadList) {
        const m = await loadModel(dir, { threads, dtype });
        try {
          const bytesPerElem = dtype === 'float32' ? 4 : 2;
          const time = async (op: string, call: (r: number) => Promise<void>, directions: number) => {
            await call(-1); // warm-up: page faults, pool start
            const t: number[] = [];
            let bestCpu = Infinity;
            for (let r = 0; r < reps; r++) {
              const c0 = process.cpuUsage();
              const t0 = performance.now();
              await call(r);
              t.push((performance.now() - t0) / 1e3);
              const c = process.cpuUsage(c0);
              bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6 / threads);
            }
            t.sort((a, b) => a - b);
            const best = t[0]!,
              median = t[Math.floor(t.length / 2)]!;
            // elements/s counts direction elements (n per pair); GB/s one read + one write of the weights
            rows.push({
              dtype,
              threads,
              op,
              elements: m.numTrainable,
              best_s: best,
              median_s: median,
              elements_per_s: (m.numTrainable * directions) / best,
              GB_per_s: (m.numTrainable * 2 * bytesPerElem) / best / 1e9,
              cpu_time_elements_per_s: (m.numTrainable * directions) / bestCpu,
            });
          };
          await time('perturb', (r) => m.perturb(BigInt(1000 + r), r % 2 ? -1e-3 : 1e-3), 1);
          await time(
            `update ${pairs} pairs`,
            (r) => m.update(Array.from({ length: pairs }, (_, k) => ({ seed: BigInt(5000 + r * pairs + k), coeff: 1e-4 }))),
            pairs,
          );
        } finally {
          m.dispose();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const load = loadavg()[0]!;
  console.log(`\n(1-minute load average at the end: ${load.toFixed(2)} on ${cpus().length} cores; wall-clock rates need an idle machine)`);
  console.log(' dtype     threads  op               best ms   elements/s   GB/s   elements/s by CPU time');
  for (const r of rows) {
    console.log(
      ` ${r.dtype.padEnd(9)} ${String(r.threads).padStart(7)}  ${r.op.padEnd(15)} ${(r.best_s * 1e3).toFixed(1).padStart(8)}   ${r.elements_per_s.toExponential(3).padStart(10)}   ${r.GB_per_s.toFixed(2).padStart(5)}   ${r.cpu_time_elements_per_s.toExponential(3).padStart(10)}`,
    );
  }
  console.log();
  writeResults('perturb', {
    ...header(),
    cores: cpus().length,
    isa: native.directionIsa(),
    load_average_1m: load,
    model: 'gpt2-124M shape (config.json + model.safetensors, F32; BF16 converted on load)',
    reps,
    rows,
  });
}

await main();

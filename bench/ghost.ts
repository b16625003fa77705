// Ghost clipping against the per-example regime (issue 13, DP-SGD's two memory regimes) on a GPT-2-124M-
// shaped model with random F32 weights, batch 8 × 64, CPU: the time and memory of
//   lossAndGradient       one backward of the batch (the reference cost),
//   perExampleGradNorms   every example's gradient norm from one forward + backward (ghost norms),
//   ghost-step            DP-SGD's ghost clipping step: the norms, then one backward reweighted by
//                         min(1, C/‖g_s‖)/B (the clipped sum's gradient),
//   per-example           DP-SGD's per-example step: B one-hot backward passes, each gradient clipped and
//                         added into a sum (one gradient and the sum alive at a time).
// Each method runs in its own child process on a freshly loaded model, so that the backend's high-water mark
// (model.memory().hostPeakBytes: weights, arenas, gradient buffer) and the process's peak RSS are that
// method's own. Prints a table and writes bench/results/ghost.json.
//
//   node --import tsx bench/ghost.ts [--threads N] [--reps N] [--layers N] [--quick]
//
// --quick uses 2 layers (a smoke run, not a measurement).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadModel } from '../lib/index.js';
import { GPT2_SMALL, type Shape, writeGpt2Checkpoint } from './gpt2-checkpoint.js';
import { randomBatch } from '../lib/bench/random-batch.js';
import { flag, opt, str } from './args.js';
import { printGpt2Run } from './report.js';
import { header, writeResults } from './results.js';

const quick = flag('quick');
const threads = opt('threads', cpus().length);
const reps = opt('reps', 2);
const SHAPE: Shape = { ...GPT2_SMALL, layers: opt('layers', quick ? 2 : GPT2_SMALL.layers) };
const BATCH = 8;
const SEQ = 64;
const CLIP = 1;
const MiB = 2 ** 20;
const METHODS = ['lossAndGradient', 'perExampleGradNorms', 'ghost-step', 'per-example'] as const;
type Method = (typeof METHODS)[number];

interface Row {
  method: Method;
  seconds: number;
  /** The backend's high-water mark since load (weights + arenas + gradient buffer), MiB. */
  peak_held_mb: number;
  /** The child process's peak resident set, MiB. */
  peak_rss_mb: number;
  /** The Float32Array the step leaves to JS (the gradient or the clipped sum), MiB; 0 for the norms alone. */
  kept_mb: number;
}

/** Child: one method on a fresh model; prints its Row as JSON. */
async function child(method: Method, dir: string): Promise<void> {
  const m = await loadModel(dir, { threads });
  try {
    const batch = randomBatch(SHAPE.vocab, BATCH, SEQ);
    let keep: Float32Array | null = null; // the latest result stays alive, as a training loop's would
    let keptFloats = 0;
    const step: Record<Method, () => Promise<void>> = {
      lossAndGradient: async () => {
        keep = null;
        keep = (await m.lossAndGradient!(batch)).grad;
      },
      perExampleGradNorms: async () => {
        await m.perExampleGradNorms!(batch);
      },
      'ghost-step': async () => {
        keep = null;
        const { norms } = await m.perExampleGradNorms!(batch);
        const weights = Array.from(norms, (n) => (n > 0 ? Math.min(1, CLIP / n) : 0) / BATCH);
        keep = (await m.lossAndGradient!(batch, { weights })).grad;
      },
      'per-example': async () => {
        keep = null;
        const sum = new Float32Array(m.numTrainable);
        for (let s = 0; s < BATCH; s++) {
          const w = new Float64Array(BATCH);
          w[s] = 1;
          const g = (await m.lossAndGradient!(batch, { weights: w })).grad;
          let sq = 0;
          for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
          const f = Math.min(1, CLIP / Math.sqrt(sq)) / BATCH;
          for (let i = 0; i < g.length; i++) sum[i] += f * g[i]!;
        }
        keep = sum;
      },
    };
    const run = async () => {
      await step[method]();
      keptFloats = (keep as Float32Array | null)?.length ?? 0;
    };
    await run(); // warm-up: arena allocation, page faults
    let best = Infinity;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await run();
      best = Math.min(best, (performance.now() - t0) / 1000); // best of n: the machine may be shared
    }
    const row: Row = {
      method,
      seconds: best,
      kept_mb: (keptFloats * 4) / MiB,
      peak_held_mb: m.memory().hostPeakBytes / MiB,
      peak_rss_mb: (process.resourceUsage().maxRSS * 1024) / MiB,
    };
    process.stdout.write(`ROW ${JSON.stringify(row)}\n`);
  } finally {
    m.dispose();
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'dpzo-bench-ghost-'));
  const rows: Row[] = [];
  const sizes = { params: 0, weightsMb: 0 };
  try {
    writeGpt2Checkpoint(root, SHAPE, 'F32');
    const probe = await loadModel(root, { threads: 1 });
    sizes.params = probe.numTrainable;
    sizes.weightsMb = probe.memory().hostBytes / MiB;
    probe.dispose();
    const self = fileURLToPath(import.meta.url);
    for (const method of METHODS) {
      const r = spawnSync(
        process.execPath,
        [...process.execArgv, self, '--child', method, '--dir', root, '--threads', String(threads), '--reps', String(reps), '--layers', String(SHAPE.layers)],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      const line = r.stdout.split('\n').find((l) => l.startsWith('ROW '));
      if (r.status !== 0 || !line) throw new Error(`${method} failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
      rows.push(JSON.parse(line.slice(4)) as Row);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const { params, weightsMb } = sizes;
  const f = (x: number, d = 2) => x.toFixed(d);
  const base = rows[0]!;
  printGpt2Run({ layers: SHAPE.layers, params, batch: BATCH, seq: SEQ, threads, weightsMb });
  console.log('| method | time (s) | × lossAndGradient | peak held (MiB) | peak RSS (MiB) | result kept in JS (MiB) |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.method} | ${f(r.seconds, 3)} | ${f(r.seconds / base.seconds, 2)} | ${f(r.peak_held_mb, 0)} | ${f(r.peak_rss_mb, 0)} | ${f(r.kept_mb, 0)} |`,
    );
  writeResults('ghost', {
    ...header(),
    threads,
    shape: SHAPE,
    params,
    batch: BATCH,
    seq: SEQ,
    clip: CLIP,
    quick,
    reps,
    weights_mb: weightsMb,
    rows,
  });
}

const childMethod = str('child');
if (childMethod !== undefined) {
  if (!(METHODS as readonly string[]).includes(childMethod)) throw new Error(`unknown method ${childMethod}`);
  await child(childMethod as Method, str('dir')!);
} else {
  await main();
}

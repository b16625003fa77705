// Forward vs forward + backward of the CPU backend (issue 13) on a GPT-2-124M-shaped model with random F32
// weights, batch 8 × 64: the time of `perExampleLoss`, of `lossAndGradient` (training forward that keeps
// the activations, fused loss gradient, backward through every block), the bytes the core holds (its
// MemoryTracker's peak) and the process's peak RSS after each phase. Prints a table and writes
// bench/results/backward.json.
//
//   node --import tsx bench/backward.ts [--threads N] [--reps N] [--layers N] [--quick]
//
// The forward is measured first: peak RSS only grows, so the figure after the forward phase is the
// forward's own high-water mark, and the one after the backward phase adds what the backward needs
// (saved activations, its scratch, the gradient buffer, and the Float32Array of the gradient handed to JS).
// --quick uses 2 layers (a smoke run, not a measurement).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadModel } from '../lib/index.js';
import { GPT2_SMALL, type Shape, writeGpt2Checkpoint } from './gpt2-checkpoint.js';
import { randomBatch } from '../lib/bench/random-batch.js';
import { bestOf } from './timing.js';
import { flag, opt } from './args.js';
import { printGpt2Run } from './report.js';
import { header, writeResults } from './results.js';

const quick = flag('quick');
const threads = opt('threads', cpus().length);
const reps = opt('reps', 3);
const SHAPE: Shape = { ...GPT2_SMALL, layers: opt('layers', quick ? 2 : GPT2_SMALL.layers) };
const BATCH = 8;
const SEQ = 64;
const MiB = 2 ** 20;

/** Peak resident set of this process so far, bytes (getrusage's ru_maxrss, reported in KiB). */
const maxRss = () => process.resourceUsage().maxRSS * 1024;

interface Row {
  phase: 'forward' | 'forward+backward';
  seconds: number;
  /** Bytes the core holds at the end of the phase and its high-water mark (weights + arenas + gradient). */
  held_mb: number;
  peak_held_mb: number;
  peak_rss_mb: number;
}

async function measure(dir: string): Promise<{ rows: Row[]; weightsMb: number; params: number }> {
  const m = await loadModel(dir, { threads });
  try {
    const weightsMb = m.memory().hostBytes / MiB;
    const batch = randomBatch(SHAPE.vocab, BATCH, SEQ);
    const rows: Row[] = [];
    // the memory figures are read right after the phase's timed runs
    const row = (phase: Row['phase'], seconds: number): Row => ({
      phase,
      seconds,
      held_mb: m.memory().hostBytes / MiB,
      peak_held_mb: m.memory().hostPeakBytes / MiB,
      peak_rss_mb: maxRss() / MiB,
    });
    const fwd = await bestOf(() => m.perExampleLoss(batch), reps);
    rows.push(row('forward', fwd));
    // keep only the latest gradient alive, as a training loop would
    let grad: Float32Array | null = null;
    const bwd = await bestOf(async () => {
      grad = null;
      grad = (await m.lossAndGradient!(batch)).grad;
    }, reps);
    if (!grad) throw new Error('no gradient');
    rows.push(row('forward+backward', bwd));
    return { rows, weightsMb, params: m.numTrainable };
  } finally {
    m.dispose();
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'dpzo-bench-backward-'));
  let result: Awaited<ReturnType<typeof measure>>;
  try {
    writeGpt2Checkpoint(root, SHAPE, 'F32');
    result = await measure(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const { rows, weightsMb, params } = result;
  const f = (x: number, d = 2) => x.toFixed(d);
  printGpt2Run({ layers: SHAPE.layers, params, batch: BATCH, seq: SEQ, threads, weightsMb });
  console.log('| phase | time (s) | × forward | held after (MiB) | peak held (MiB) | peak RSS (MiB) |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.phase} | ${f(r.seconds, 3)} | ${f(r.seconds / rows[0]!.seconds, 2)} | ${f(r.held_mb, 0)} | ${f(r.peak_held_mb, 0)} | ${f(r.peak_rss_mb, 0)} |`,
    );
  writeResults('backward', { ...header(), threads, shape: SHAPE, params, batch: BATCH, seq: SEQ, quick, weights_mb: weightsMb, rows });
}

await main();

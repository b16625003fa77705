// The public API on the GPU, end to end (issue 12): what `dpzo_check gpu-check` proves for the native core,
// this proves through N-API and the TypeScript trainer. Run by bench/gpu/run.sh on the GPU machine with a
// carried Node binary and the compiled dist/ (no npm there):
//
//   node bench/gpu/node-check.mjs MODEL_DIR OUT_DIR
//
// For float32 and bfloat16: per-example losses of one batch, CUDA vs CPU, at θ and at θ ± εz; a DP-ZO run of
// a few steps trained with device 'cuda' (the trainer, Poisson batches, ledger, trajectory); the same
// trajectory replayed by `exportRun` on a CPU model — its weights hash must equal the CUDA model's, since the
// update is the same bits on both backends (the step's ĝ came from the CUDA losses; the replay reuses them);
// `device: 'cuda:<count>'` refused with a code; an aborted forward rejects with ERR_CANCELLED.
// Prints one table; exit status 1 when a check fails.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
/* global AbortController */

import { DPZOTrainer, exportRun, loadModel } from '../../dist/index.js';

const [modelDir, outDir] = process.argv.slice(2);
// NODE_CHECK_DEVICE=cpu runs the script's logic on a machine without a GPU (CPU against itself)
const DEVICE = process.env.NODE_CHECK_DEVICE ?? 'cuda';
if (!modelDir || !outDir) {
  console.error('usage: node bench/gpu/node-check.mjs MODEL_DIR OUT_DIR');
  process.exit(2);
}
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

let failures = 0;
const row = (what, value, limit, ok) => {
  if (!ok) failures++;
  console.log(`| ${what.padEnd(58)} | ${String(value).padStart(14)} | ${String(limit).padStart(8)} | ${ok ? 'ok' : 'FAIL'} |`);
};
const maxRel = (a, b) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]) / Math.abs(b[i])));

// a fixed pseudo-random token stream (no CSPRNG needed: these are public test tokens, not private data)
let s = 12345;
const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
const sequences = (n, len, vocab) => Array.from({ length: n }, () => Int32Array.from({ length: len }, () => 3 + (next() % (vocab - 3))));

console.log(`| ${'node-check (API on CUDA vs CPU)'.padEnd(58)} | ${'value'.padStart(14)} | ${'limit'.padStart(8)} |      |`);
for (const dtype of ['float32', 'bfloat16']) {
  const gpu = await loadModel(modelDir, { device: DEVICE, dtype });
  const cpu = await loadModel(modelDir, { device: 'cpu', dtype });
  const vocab = gpu.config.vocabSize;
  const batch = { inputIds: sequences(8, 40, vocab) };
  const at = [[{ seed: 7n, coeff: 1e-3 }], [{ seed: 7n, coeff: -1e-3 }]];
  // BF16 on the tensor cores (DPZO_CUDA_GEMM auto, docs/cuda.md) rounds the activations to BF16: transformers'
  // own BF16-vs-F32 differences on such models are 5e-4 to 1.4e-3; the SIMT path and F32 stay at 1e-4
  const limit = dtype === 'bfloat16' && DEVICE !== 'cpu' && process.env.DPZO_CUDA_GEMM !== 'simt' ? 2e-2 : 1e-4;
  const lg = await gpu.perExampleLossAt(batch, [[], ...at]);
  const lc = await cpu.perExampleLossAt(batch, [[], ...at]);
  row(
    `${dtype}: losses at θ, θ±εz, CUDA vs CPU (max rel)`,
    Math.max(...lg.map((r, i) => maxRel(r.loss, lc[i].loss))).toExponential(2),
    limit.toExponential(0),
    lg.every((r, i) => maxRel(r.loss, lc[i].loss) <= limit),
  );

  const train = { task: { kind: 'tokens' }, source: 'node-check', generative: false, examples: sequences(400, 32, vocab).map((inputIds) => ({ inputIds })) };
  const runDir = join(outDir, `run-${dtype}`);
  const t0 = performance.now();
  const report = await new DPZOTrainer(gpu, { train, epsilon: 8, delta: 1e-5, batchSize: 32, steps: 20, lr: 1e-3, clip: 1, zoEps: 1e-3, runDir }).train();
  const ms = (performance.now() - t0) / report.steps;
  row(`${dtype}: DP-ZO steps trained on CUDA (ms per step)`, `${report.steps} (${ms.toFixed(1)})`, '20', report.steps === 20);
  const hGpu = await gpu.weightsHash();
  const exported = await exportRun(cpu, runDir, join(outDir, `export-${dtype}`));
  row(`${dtype}: CPU replay of the CUDA run: weights hash equal (0/1)`, exported.weightsHash === hGpu ? 1 : 0, '1', exported.weightsHash === hGpu);
  gpu.dispose();
  cpu.dispose();
}

try {
  await loadModel(modelDir, { device: 'cuda:7' });
  row("device 'cuda:7' refused", 'loaded', 'error', false);
} catch (e) {
  row(`device 'cuda:7' refused with a code`, e.code ?? 'none', 'ERR_*', typeof e.code === 'string' && e.code.startsWith('ERR_'));
}

{
  const gpu = await loadModel(modelDir, { device: DEVICE });
  const ac = new AbortController();
  const big = { inputIds: sequences(64, 120, gpu.config.vocabSize) };
  const p = gpu.perExampleLossAt(
    big,
    Array.from({ length: 64 }, (_, i) => [{ seed: BigInt(i + 1), coeff: 1e-3 }]),
    { signal: ac.signal },
  );
  ac.abort();
  try {
    await p;
    row('an aborted forward on CUDA rejects', 'resolved', 'reject', false);
  } catch (e) {
    row('an aborted forward on CUDA rejects with', e.code ?? 'none', 'CANCEL', e.code === 'ERR_CANCELLED');
  }
  gpu.dispose();
}
console.log(`node-check: ${failures} failed`);
process.exit(failures ? 1 : 0);

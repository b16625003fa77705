// The process `dpzo bench memory` starts for one method, so that each method's
// peak is its own (a process's peak RSS never goes down): loads the model, runs
// the method's step twice on a fixed random batch (the first warms the arenas),
// and prints one JSON line: the backend's own byte accounting (weights after
// load, high-water mark after the steps), the process's peak RSS, and the
// seconds of the second step. Argument: a JSON MemoryChildSpec.
import { fstatSync } from 'node:fs';

import { loadModel } from '../model/model.js';
import type { LossBatch, Model } from '../model/types.js';
import type { Example } from '../data/tasks.js';
import { privateGradient } from '../dpsgd/gradient.js';
import { batchLosses, estimateScalars } from '../dpzo/estimator.js';
import { Adam } from '../optim/adam.js';
import { DEFAULT_MAX_BATCH_TOKENS, type MemoryChildResult, type MemoryChildSpec } from './memory-types.js';
import { randomBatch } from './random-batch.js';

interface JsHeld {
  perExample: number;
  gradients: number;
  optimizerState: number;
}

/** DP-SGD's state across steps: Adam's moments and the step buffer. */
let adam: Adam | undefined;
let delta: Float32Array | undefined;

/**
 * One step of the method, through the code `dpzo train` runs (the same micro-batches of at most maxBatchTokens
 * tokens per native call): what it evaluates and writes, at the weights' own size.
 */
async function step(model: Model, spec: MemoryChildSpec, batch: LossBatch, seed: bigint, held: JsHeld): Promise<void> {
  const method = spec.method;
  const examples: Example[] = batch.inputIds.map((ids) => ({ inputIds: Int32Array.from(ids) }));
  const maxBatchTokens = spec.maxBatchTokens ?? DEFAULT_MAX_BATCH_TOKENS;
  if (method === 'dpsgd-per-example' || method === 'dpsgd-ghost') {
    adam ??= new Adam(model.numTrainable);
    delta ??= new Float32Array(model.numTrainable);
    // per-example: the gradients of a micro-batch held at once (the whole batch by default: Opacus' GradSampleModule),
    // clipped, summed; ghost: per-example norms, one reweighted backward; both noised (σ = 1, C = 1)
    const g = await privateGradient({
      model,
      batch: examples,
      clip: 1,
      noiseMultiplier: 1,
      divisor: examples.length,
      regime: method === 'dpsgd-ghost' ? 'ghost' : 'per-example',
      microBatch: spec.microBatch ?? examples.length,
      maxBatchTokens,
    });
    adam.step(g.gHat, 1e-4, delta);
    await model.addDense!(delta);
    held.perExample = g.perExampleBytes;
    held.gradients = g.gHat.byteLength + delta.byteLength;
    held.optimizerState = adam.m.byteLength + adam.v.byteLength;
    return;
  }
  if (method === 'inference') {
    await batchLosses(model, examples, { maxBatchTokens });
    return;
  }
  // DP-ZO: per direction the batch at θ + εz and θ − εz (one call per micro-batch, θ not written), then one update
  const n = method === 'dpzo-n4' ? 4 : 1;
  const seeds = Array.from({ length: n }, (_, k) => seed + BigInt(k));
  await estimateScalars(model, examples, seeds, 1e-3, { maxBatchTokens });
  await model.update(seeds.map((s) => ({ seed: s, coeff: 0 })));
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]!) as MemoryChildSpec;
  const model = await loadModel(spec.model, {
    threads: spec.threads,
    device: spec.device,
    dtype: spec.dtype,
    ...(spec.randomInit === undefined ? {} : { randomInit: { seed: spec.randomInit } }),
  });
  try {
    const loaded = model.memory();
    const batch = randomBatch(model.config.vocabSize, spec.batch, Math.min(spec.seq, model.config.maxPositions));
    const held: JsHeld = { perExample: 0, gradients: 0, optimizerState: 0 };
    await step(model, spec, batch, 1000n, held);
    const t0 = performance.now();
    await step(model, spec, batch, 2000n, held);
    const seconds = (performance.now() - t0) / 1000;
    const m = model.memory();
    // the backend counts its gradient buffer during a backward and hands that very buffer to JavaScript (no copy):
    // in the per-example regime it is the last of the batch's per-example gradients, already in held.perExample,
    // so at the step's peak the backend's gradient and the held gradients are B buffers, not B + 1
    const gradientBytes = spec.method.startsWith('dpsgd') ? model.numTrainable * 4 : 0;
    const handedOver = spec.method === 'dpsgd-per-example' ? gradientBytes : 0;
    const out: MemoryChildResult = {
      method: spec.method,
      backend: model.backend,
      weightsBytes: loaded.hostBytes + loaded.deviceBytes,
      // the backend's high-water mark plus what the step holds in JavaScript buffers at its peak
      peakBytes: Math.max(m.hostPeakBytes, m.devicePeakBytes) - handedOver + held.perExample + held.gradients + held.optimizerState,
      hostPeakBytes: m.hostPeakBytes,
      devicePeakBytes: m.devicePeakBytes,
      rssPeakBytes: process.resourceUsage().maxRSS * 1024,
      stepSeconds: seconds,
      js: held,
      backendGradientBytes: gradientBytes - handedOver,
      config: { hiddenSize: model.config.hiddenSize, numLayers: model.config.numLayers, vocabSize: model.config.vocabSize },
      numParams: model.numParameters,
      numTrainable: model.numTrainable,
      dtype: model.dtype,
      seq: batch.inputIds[0]!.length,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    model.dispose();
  }
}

// stdin is a pipe from `dpzo bench memory` that it never writes: its end means the parent is gone (killed, even by
// SIGKILL), and nobody will read this measurement; without this the process ran on with all the memory it measures
// (only when it is such a pipe: run by hand with stdin at /dev/null it would end at once)
const fromParent = (() => {
  try {
    return fstatSync(0);
  } catch {
    return undefined; // no stdin at all
  }
})();
if (fromParent?.isFIFO() || fromParent?.isSocket()) {
  process.stdin.on('end', () => process.exit(143));
  process.stdin.on('error', () => process.exit(143));
  process.stdin.resume();
}

main()
  .finally(() => {
    if (fromParent?.isFIFO() || fromParent?.isSocket()) process.stdin.destroy(); // the pipe no longer keeps it alive
  })
  .catch((e: unknown) => {
    const err = e as { code?: string; message?: string };
    process.stderr.write(JSON.stringify({ code: err.code ?? 'ERR_INTERNAL', message: err.message ?? String(e) }) + '\n');
    process.exitCode = 2;
  });

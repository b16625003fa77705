// defines: benchMemory — `dpzo bench memory`: each method run in its own process
// on the same model and batch (memory-child.ts), its peak bytes measured (the
// backend's high-water mark, and the process's peak RSS), split into components,
// then extrapolated from the measured per-component sizes to the OPT family in
// BF16 with the memory budgets of common GPUs.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DpzoError } from '../errors.js';
import { resolveModelDir } from '../model/hf-cache.js';
import type { WeightDType } from '../model/types.js';
import { OPT_FAMILY, optParams } from './opt-family.js';
import { availableHostBytes, methodNeeds, paramsLowerBound, seqCapped } from './memory-need.js';
import { DEFAULT_MAX_BATCH_TOKENS, MEMORY_METHODS, type MemoryChildResult, type MemoryChildSpec, type MemoryMethod } from './memory-types.js';

/** Bytes of a method's peak by what holds them (DP-ZO holds no gradients, optimizer state or per-example buffers). */
export interface MemoryComponents {
  weights: number;
  gradients: number;
  optimizerState: number;
  /** Activations and the other working buffers of the forward (the backend's arenas). */
  activations: number;
  perExample: number;
}

/** One measured method. */
export interface MemoryRow {
  method: MemoryMethod;
  /** The backend's high-water mark (host, or device on a GPU), bytes. */
  peakBytes: number;
  /** The process's peak resident set, bytes (Node.js itself included). */
  rssPeakBytes: number;
  stepSeconds: number;
  components: MemoryComponents;
}

/** One OPT model at the measured batch and sequence, BF16 weights. */
export interface MemoryExtrapolation {
  model: string;
  params: number;
  /** Peak bytes per measured method, from the measured per-component sizes scaled to this shape. */
  peakBytes: Partial<Record<MemoryMethod, number>>;
  /** Per GPU card, keyed '24GB', '80GB', '141GB' (GPU_CARDS): whether each measured method fits in its memory. */
  fits: Record<string, Partial<Record<MemoryMethod, boolean>>>;
}

export interface MemoryReport {
  model: string;
  batch: number;
  seq: number;
  /** Most tokens per native call (every method runs the batch in micro-batches of at most this many, as `dpzo train`). */
  maxBatchTokens: number;
  /** DP-SGD per-example: gradients held at once. */
  microBatch: number;
  /** The weights' dtype every method ran on. */
  dtype: WeightDType;
  /**
   * Where the methods ran: 'cpu' or 'cuda:N', as the model loaded ('auto' resolved; the device asked for is
   * `deviceRequested`). It said 'auto' on a machine without a GPU, where every byte measured is host memory.
   */
  device: string;
  /** The device asked for (--device). */
  deviceRequested: string;
  /** Which memory the weights and the backend's peak are in: host (CPU) or device (GPU) memory. */
  memory: 'host' | 'device';
  rows: MemoryRow[];
  extrapolation: MemoryExtrapolation[];
  /** What is not measured, said rather than computed. */
  notMeasured: string[];
}

export interface MemoryBenchOptions extends Omit<MemoryChildSpec, 'method'> {
  /** Called when a method starts (progress on a long run). */
  onMethod?: (method: MemoryMethod) => void;
  /** Host bytes a measuring process may use (default: what the system has available now, availableHostBytes). */
  availableBytes?: number;
  /** The model as the user named it, for messages (default: `model`). */
  name?: string;
  /** Test hook: the script each measuring process runs (default memory-child.ts). */
  childScript?: string;
  /** Aborting it kills the measuring process and rejects ERR_CANCELLED. */
  signal?: AbortSignal;
}

/** Bytes in a GiB. */
const GIB = 2 ** 30;

/**
 * The GPU cards the extrapolation checks, by their sold size (the `fits` keys) and the memory the driver reports for
 * them (nvidia-smi's total, MiB): RTX 4090 24564 MiB, H100 80 GB 81559 MiB (the A100 80 GB has 81920), H200 143771 MiB.
 * They were checked at 10^9 bytes a "GB": 80e9 is 74.5 GiB, 6 % less than an H100 holds.
 */
export const GPU_CARDS: readonly { name: string; bytes: number }[] = [
  { name: '24GB', bytes: 24564 * 2 ** 20 },
  { name: '80GB', bytes: 81559 * 2 ** 20 },
  { name: '141GB', bytes: 143771 * 2 ** 20 },
];

/** Bytes for people: MiB below a GiB, else GiB (binary units throughout `dpzo bench memory`; JSON gives bytes). */
export function formatBytes(b: number): string {
  return b >= GIB ? `${(b / GIB).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`;
}

const ONE_LINE = 300;

const GiB = (b: number): string => `${(b / GIB).toFixed(1)} GiB`;

/**
 * The one-line error of a measuring process that did not give its result: its own coded error (the JSON line
 * memory-child.ts writes), or else how it ended (a signal: SIGKILL is what the kernel's out-of-memory killer sends)
 * and the first line of what it wrote that says why (V8's "FATAL ERROR: … heap out of memory", an uncaught error),
 * never a stack trace.
 */
export function childFailure(method: MemoryMethod, status: number | null, signal: NodeJS.Signals | null, stderr: string): DpzoError {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  for (const l of [...lines].reverse()) {
    if (!l.startsWith('{')) continue;
    try {
      const e = JSON.parse(l) as { code?: unknown; message?: unknown };
      if (typeof e.code === 'string' && /^ERR_[A-Z_]+$/.test(e.code) && typeof e.message === 'string')
        return new DpzoError(e.code as 'ERR_INTERNAL', `bench memory (${method}): ${e.message.split('\n')[0]!.slice(0, ONE_LINE)}`);
    } catch {
      // not the child's record: read on
    }
  }
  const how =
    signal !== null
      ? `the measuring process was killed by ${signal}${signal === 'SIGKILL' ? ' (the out-of-memory killer sends SIGKILL: the method may not fit in memory; try a smaller --batch, --seq or model)' : ''}`
      : `the measuring process exited with status ${status}`;
  const why =
    lines.find((l) => l.startsWith('FATAL ERROR')) ??
    lines.find((l) => /^[A-Za-z]*Error( \[\w+\])?: /.test(l)) ??
    lines.find((l) => /out of memory/i.test(l)) ??
    lines.find((l) => !/^(at\s|\^+$|<---|-----)/.test(l));
  return new DpzoError(
    signal === 'SIGKILL' || (why !== undefined && /out of memory/i.test(why)) ? 'ERR_OUT_OF_MEMORY' : 'ERR_INTERNAL',
    `bench memory (${method}): ${how}${why === undefined ? '' : `: ${why.slice(0, ONE_LINE)}`}`,
  );
}

/**
 * Runs one method in its own process (`script`: memory-child.ts beside this file, or a test's stand-in). An abort of
 * `signal` kills it (SIGTERM) and rejects ERR_CANCELLED; its stdin is a pipe from this process, so it also ends when this
 * process dies (SIGTERM, SIGKILL) without a word: it ran on, minutes of all the host's memory, after `kill` of the parent.
 */
export function runChild(spec: MemoryChildSpec, script?: string, signal?: AbortSignal): Promise<MemoryChildResult> {
  const here = fileURLToPath(import.meta.url);
  const child = script ?? here.replace(/memory\.(ts|js)$/, 'memory-child.$1');
  return new Promise((resolve, reject) => {
    // the same Node flags (tsx in a checkout) so the child runs the same code; TypeScript source run by a loader
    // that is not in execArgv (vitest's workers) still needs tsx
    const flags = child.endsWith('.ts') && !process.execArgv.some((a) => a.includes('tsx')) ? [...process.execArgv, '--import', 'tsx'] : process.execArgv;
    if (signal?.aborted) return reject(new DpzoError('ERR_CANCELLED', `bench memory (${spec.method}): cancelled`));
    const p = spawn(process.execPath, [...flags, child, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const onAbort = () => p.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    p.stdin.on('error', () => {}); // EPIPE once the child has gone: its exit is reported by 'close'
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', (e) =>
      reject(new DpzoError('ERR_INTERNAL', `bench memory (${spec.method}): cannot start the measuring process (${e.message.split('\n')[0]})`)),
    );
    p.on('close', (status, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(new DpzoError('ERR_CANCELLED', `bench memory (${spec.method}): cancelled`));
      if (status !== 0 || killedBy !== null) return reject(childFailure(spec.method, status, killedBy, err));
      const last = out.trim().split('\n').pop() ?? '';
      let r: MemoryChildResult | undefined;
      try {
        r = JSON.parse(last) as MemoryChildResult;
      } catch {
        r = undefined;
      }
      if (r === undefined || r === null || typeof r !== 'object' || r.method !== spec.method || !Number.isFinite(r.peakBytes))
        return reject(
          new DpzoError(
            'ERR_INTERNAL',
            `bench memory (${spec.method}): the measuring process ended without its result (its last line: '${last.slice(0, 80)}')`,
          ),
        );
      resolve(r);
    });
  });
}

/**
 * Components of a peak: the weights as loaded; the gradient buffers (the backend's during a backward and
 * the step's own in JavaScript), the optimizer state and the per-example gradients at their allocated
 * sizes; the rest of the backend's high-water mark is activations and working buffers.
 */
function components(r: MemoryChildResult): MemoryComponents {
  const js = r.js.perExample + r.js.gradients + r.js.optimizerState;
  const gradients = r.js.gradients + r.backendGradientBytes;
  return {
    weights: r.weightsBytes,
    gradients,
    optimizerState: r.js.optimizerState,
    activations: Math.max(0, r.peakBytes - js - r.weightsBytes - r.backendGradientBytes),
    perExample: r.js.perExample,
  };
}

/**
 * Scales the measured components to each OPT model in BF16 at the same batch and sequence: weights as
 * 2 bytes per parameter; gradients, optimizer state and per-example gradients at the measured bytes per
 * parameter (they are P-sized buffers, float32 as measured); working memory by the width, and for DP-SGD
 * (whose backward keeps every layer's activations) by width × depth. The CPU forward of inference and
 * DP-ZO runs layer by layer and reuses its arena, so theirs does not grow with the depth (the head's
 * share is scaled with the width too: an approximation the report states).
 */
export function extrapolate(rows: MemoryRow[], measured: { hiddenSize: number; numLayers: number; numTrainable: number }): MemoryExtrapolation[] {
  return OPT_FAMILY.map((s) => {
    const params = optParams(s);
    const peakBytes: Partial<Record<MemoryMethod, number>> = {};
    for (const r of rows) {
      const c = r.components;
      const perParam = (c.gradients + c.optimizerState + c.perExample) / measured.numTrainable;
      const depth = r.method.startsWith('dpsgd') ? s.layers / measured.numLayers : 1;
      peakBytes[r.method] = 2 * params + perParam * params + (c.activations * s.hidden * depth) / measured.hiddenSize;
    }
    const fits: Record<string, Partial<Record<MemoryMethod, boolean>>> = {};
    for (const card of GPU_CARDS) {
      const f: Partial<Record<MemoryMethod, boolean>> = {};
      for (const r of rows) f[r.method] = peakBytes[r.method]! <= card.bytes;
      fits[card.name] = f;
    }
    return { model: s.name, params, peakBytes, fits };
  });
}

export async function benchMemory(o: MemoryBenchOptions): Promise<MemoryReport> {
  const { onMethod, availableBytes, name, childScript, signal, ...given } = o;
  // a wrong --model is one error before anything runs, not one per child; every method loads float32 weights
  // (the backward runs on float32 only: a float16 checkpoint, as facebook/opt-* are, failed at DP-SGD after the
  // other methods had run in its own dtype), so all are measured on the same dtype, batch and threads
  const spec = { ...given, dtype: given.dtype ?? ('float32' as const), model: resolveModelDir(given.model) };
  if (!existsSync(join(spec.model, 'config.json')))
    throw new DpzoError(
      'ERR_CONFIG_MISSING',
      `${given.model} is not a model directory: ${existsSync(spec.model) ? 'it has no config.json' : 'no such directory'}`,
    );
  // what cannot fit is not started: a method whose lower bound exceeds the memory available would be killed by the
  // kernel halfway (or take other work on the host with it); a forward's own not fitting is an error up front
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(join(spec.model, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    config = {}; // the loader says what is wrong with it
  }
  const heldAtOnce = Math.min(spec.microBatch ?? spec.batch, spec.batch);
  const needs = methodNeeds(paramsLowerBound(config), {
    heldAtOnce,
    tokens: spec.batch * seqCapped(config, spec.seq),
    onHost: spec.device === 'cpu' || spec.device === 'auto',
  });
  const available = availableBytes ?? availableHostBytes();
  if (needs.inference > available)
    throw new DpzoError(
      'ERR_OUT_OF_MEMORY',
      `${name ?? given.model}: a forward alone needs at least ${GiB(needs.inference)} of host memory (float32 weights and the token batch) and ${GiB(available)} is available: nothing can be measured (try a smaller model or --batch)`,
    );
  const notMeasured: string[] = [];
  const results: MemoryChildResult[] = [];
  for (const method of MEMORY_METHODS) {
    if (needs[method] > available) {
      notMeasured.push(
        `${method}: needs at least ${GiB(needs[method])} of host memory${method === 'dpsgd-per-example' ? ` with ${heldAtOnce} per-example gradients held at once` : ''}, ${GiB(available)} available (not started)`,
      );
      continue;
    }
    onMethod?.(method);
    try {
      results.push(await runChild({ ...spec, method }, childScript, signal));
    } catch (e) {
      // a backend without a backward pass (CUDA, for now) measures the rest: DP-SGD is said, not computed
      if (!(method.startsWith('dpsgd') && e instanceof DpzoError && e.code === 'ERR_DEVICE')) throw e;
      notMeasured.push(`${method}: ${e.message.replace(/^bench memory \([^)]*\): /, '')}`);
    }
  }
  // the same model, batch and dtype in every process, or the comparison means nothing
  for (const r of results)
    if (
      r.dtype !== results[0]!.dtype ||
      r.backend !== results[0]!.backend ||
      r.seq !== results[0]!.seq ||
      r.numTrainable !== results[0]!.numTrainable ||
      r.weightsBytes !== results[0]!.weightsBytes
    )
      throw new DpzoError(
        'ERR_INTERNAL',
        `bench memory: ${r.method} ran on another model or batch than ${results[0]!.method} (backend, dtype, sequence length or parameters differ)`,
      );
  const rows = results.map((r): MemoryRow => ({
    method: r.method,
    peakBytes: r.peakBytes,
    rssPeakBytes: r.rssPeakBytes,
    stepSeconds: r.stepSeconds,
    components: components(r),
  }));
  return {
    model: o.model,
    batch: o.batch,
    seq: results[0]!.seq,
    maxBatchTokens: spec.maxBatchTokens ?? DEFAULT_MAX_BATCH_TOKENS,
    microBatch: heldAtOnce,
    dtype: results[0]!.dtype,
    // where the children ran, as they loaded the model: 'auto' on a machine without a GPU is the CPU and host memory
    device: results[0]!.backend === 'cuda' ? (o.device.startsWith('cuda') ? o.device : 'cuda:0') : 'cpu',
    deviceRequested: o.device,
    memory: results[0]!.backend === 'cuda' ? 'device' : 'host',
    rows,
    extrapolation: extrapolate(rows, { ...results[0]!.config, numTrainable: results[0]!.numTrainable }),
    notMeasured,
  };
}

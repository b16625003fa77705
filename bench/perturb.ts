// Throughput of the perturbation kernel θ += Σ_k c_k z(s_k) (one pass over the
// trainable weights) on a GPT-2-124M-shaped checkpoint, F32 and BF16 (the BF16
// model is the same file converted on load), at 1 and 2 threads and more.
// Writes a real checkpoint (config.json + model.safetensors, 498 MB) to a temp
// dir, loads it through the public API, times Model.perturb / Model.update.
// Prints a table and writes bench/results/perturb.json.
//
//   node --import tsx bench/perturb.ts [--threads 1,2] [--reps 5] [--pairs 3]
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadModel, native } from '../lib/index.js';
import type { WeightDType } from '../lib/index.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const threadList = (flag('threads') ?? [...new Set([1, 2, cpus().length])].join(',')).split(',').map(Number);
const reps = Number(flag('reps') ?? 5);
const pairs = Number(flag('pairs') ?? 3);

// GPT-2 small: vocab 50257, 12 layers, hidden 768, 1024 positions, Conv1D (in, out) shapes.
function gpt2Tensors(): [string, number[]][] {
  const H = 768;
  const out: [string, number[]][] = [['transformer.wte.weight', [50257, H]], ['transformer.wpe.weight', [1024, H]]];
  for (let l = 0; l < 12; l++) {
    const p = `transformer.h.${l}.`;
    out.push(
      [`${p}ln_1.weight`, [H]], [`${p}ln_1.bias`, [H]],
      [`${p}attn.c_attn.weight`, [H, 3 * H]], [`${p}attn.c_attn.bias`, [3 * H]],
      [`${p}attn.c_proj.weight`, [H, H]], [`${p}attn.c_proj.bias`, [H]],
      [`${p}ln_2.weight`, [H]], [`${p}ln_2.bias`, [H]],
      [`${p}mlp.c_fc.weight`, [H, 4 * H]], [`${p}mlp.c_fc.bias`, [4 * H]],
      [`${p}mlp.c_proj.weight`, [4 * H, H]], [`${p}mlp.c_proj.bias`, [H]],
    );
  }
  out.push(['transformer.ln_f.weight', [H]], ['transformer.ln_f.bias', [H]]);
  return out;
}

/** config.json + model.safetensors streamed tensor by tensor (values: a cheap ±0.02 pattern). */
function writeCheckpoint(dir: string): number {
  const tensors = gpt2Tensors();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json));
    for (const [, shape] of tensors) {
      const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < v.length; i++) v[i] = ((i * 2654435761) % 2001) * 2e-5 - 0.02;
      writeSync(fd, new Uint8Array(v.buffer));
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: 50257, n_embd: 768, n_layer: 12,
    n_head: 12, n_positions: 1024, n_ctx: 1024, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new',
    tie_word_embeddings: true, bos_token_id: 50256, eos_token_id: 50256,
  }));
  return off / 4;
}

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
    const n = writeCheckpoint(dir);
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
            const best = t[0]!, median = t[Math.floor(t.length / 2)]!;
            // elements/s counts direction elements (n per pair); GB/s one read + one write of the weights
            rows.push({
              dtype, threads, op, elements: m.numTrainable, best_s: best, median_s: median,
              elements_per_s: (m.numTrainable * directions) / best, GB_per_s: (m.numTrainable * 2 * bytesPerElem) / best / 1e9,
              cpu_time_elements_per_s: (m.numTrainable * directions) / bestCpu,
            });
          };
          await time('perturb', (r) => m.perturb(BigInt(1000 + r), r % 2 ? -1e-3 : 1e-3), 1);
          await time(`update ${pairs} pairs`, (r) =>
            m.update(Array.from({ length: pairs }, (_, k) => ({ seed: BigInt(5000 + r * pairs + k), coeff: 1e-4 }))), pairs);
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
    console.log(` ${r.dtype.padEnd(9)} ${String(r.threads).padStart(7)}  ${r.op.padEnd(15)} ${(r.best_s * 1e3).toFixed(1).padStart(8)}   ${r.elements_per_s.toExponential(3).padStart(10)}   ${r.GB_per_s.toFixed(2).padStart(5)}   ${r.cpu_time_elements_per_s.toExponential(3).padStart(10)}`);
  }
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'perturb.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({
    date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, isa: native.directionIsa(), load_average_1m: load,
    model: 'gpt2-124M shape (config.json + model.safetensors, F32; BF16 converted on load)', reps, rows,
  }, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

await main();

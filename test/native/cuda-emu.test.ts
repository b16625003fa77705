// The CUDA backend's host code without a GPU (issue 12): dpzo_check_emu links cuda/backend.cpp,
// device_weights.cpp and forward.cpp against a host stand-in for the device (cuda/emu: memory = host
// memory, each kernel a plain loop), and its gpu-check compares that backend with the CPU backend on
// random GPT-2, OPT, Llama and Qwen3 checkpoints in F32 and BF16: losses at θ and at virtual points (row-chunked
// reads included), candidates, all rows, logits, greedy tokens, and perturb/update/decay by weights hash.
// This checks buffer sizes, offsets, pointer translation, tiling and the virtual-point logic; the .cu
// kernels themselves run only on a GPU (bench/gpu/run.sh).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../helpers/checkpoints.js';
import { ROOT } from '../helpers/cli.js';

const BIN = join(ROOT, 'build', 'dpzo_check_emu');
const tmp = makeTempDir('dpzo-cuda-emu-');
afterAll(() => tmp.cleanup());

describe('the CUDA backend on the host emulation', () => {
  it.skipIf(!existsSync(BIN))('agrees with the CPU backend on every family, dtype and check', () => {
    const r = spawnSync(BIN, ['gpu-check', '--dir', tmp.dir], { encoding: 'utf8', timeout: 110_000 });
    expect(r.stdout).toMatch(/^dpzo_check gpu-check: CUDA backend vs CPU backend on host emulation/);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| '));
    const failed = rows.filter((l) => l.includes('FAIL') || l.includes('FAILED'));
    expect(failed).toEqual([]);
    // qwen3: per-head q_norm / k_norm (their device views translated like every other weight's), head_dim 32 ≠ 64/4; YaRN rope scaling (attention factor in the table)
    for (const c of ['llama-F32', 'llama-BF16', 'llama-wide-BF16', 'qwen3-F32', 'qwen3-BF16', 'gpt2-F32', 'gpt2-BF16', 'opt-F32', 'opt-BF16']) {
      const mine = rows.filter((l) => l.startsWith(`| ${c} `) && l.trimEnd().endsWith('| ok   |'));
      expect(mine.length, c).toBeGreaterThanOrEqual(11);
    }
    expect(rows.filter((l) => l.includes('virtual = in-place')).length).toBe(5); // the F32 cases
    const ok = (cse: string, check: string): boolean => rows.some((l) => l.startsWith(`| ${cse} `) && l.includes(check) && l.trimEnd().endsWith('| ok   |'));
    // streaming load of a 3-shard checkpoint: host peak ≤ the largest tensor, losses and weights equal the CPU's
    for (const c of ['host peak during load / largest tensor', 'host peak during load / weights', 'loss at theta (max rel err)', 'weights hash differs', 'F32 file as BF16: hash differs', 'F32 as BF16: host peak / weights'])
      expect(ok('llama-sharded', c), c).toBe(true);
    // random init from config.json alone: no weights file, same seed = same bits on CPU and device, other seed other bits
    for (const d of ['F32', 'BF16'])
      for (const c of ['a weights file exists', 'same seed: CPU, device hash differ', 'other seed: hash equal', 'std of q_proj', 'norm gain - 1|, |bias|'])
        expect(ok(`rand-init-${d}`, c), `${d} ${c}`).toBe(true);
    // cuda:N: an index the runtime does not report is refused, the last one loads
    expect(ok('device-index', 'refused with ERR_DEVICE'), 'cuda:<count>').toBe(true);
    expect(ok('device-index', 'loads'), 'cuda:<count-1>').toBe(true);
    // the KV-cached greedy decoding equals a full recomputation and the CPU's, token for token, in every family,
    // also across four growths of the cache (3 → 48 positions, each copying the cached rows to the new stride)
    for (const f of ['llama', 'gpt2', 'opt']) {
      expect(ok(`${f}-generate`, 'KV-cached vs recomputed tokens differ'), f).toBe(true);
      expect(ok(`${f}-generate`, 'greedy tokens differ CPU vs device'), f).toBe(true);
      expect(ok(`${f}-generate`, '4x-grown cache: CPU tokens differ'), f).toBe(true);
    }
    // the KV cache grows with the tokens: an eos after one token of a 65,536-position model adds nothing to the
    // device peak (it was sized for the whole context: 67 MB), and the peak counts the cache as it grows
    for (const c of ['eos after 1 token ends it', 'eos after 1: peak - 1-token peak', '45 tokens generated', '48-pos cache not counted in peak', '45 tokens: added peak / 48-pos cache'])
      expect(ok('llama-gen-kv', c), c).toBe(true);
    // the device peak of a DP-ZO step (pair + update) within 5 % of weights + one forward's activations
    for (const f of ['llama', 'opt']) expect(ok(`${f}-BF16-step`, 'step peak / (weights + one forward)'), f).toBe(true);
    expect(r.stdout).toMatch(/gpu-check: 0 failed\n$/);
    expect(r.status).toBe(0);
  });
  it.skipIf(!existsSync(BIN))('has a case with 128-wide heads and GQA (the larger tiles of the tiled attention kernel)', () => {
    const r = spawnSync(BIN, ['gpu-check', '--dir', tmp.dir, '--families', 'llama-h128', '--dtypes', 'f32,bf16'], { encoding: 'utf8', timeout: 60_000 });
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| '));
    for (const c of ['llama-h128-F32', 'llama-h128-BF16']) {
      const mine = rows.filter((l) => l.startsWith(`| ${c} `) && l.trimEnd().endsWith('| ok   |'));
      expect(mine.length, c).toBeGreaterThanOrEqual(11);
    }
    expect(r.stdout).toMatch(/gpu-check: 0 failed\n$/);
    expect(r.status).toBe(0);
  });
  it.skipIf(!existsSync(BIN))('gpu-bench builds its random-init model in the --dtype it is given', () => {
    // it once came up float32 whatever --dtype said (the first H200 run measured F32 weights under a BF16
    // label, its device peak twice the weights it printed): BF16 weights are half the F32 ones, and the peak
    // of the BF16 run is near its weights
    const bench = (dtype: string) => {
      const args = ['gpu-bench', '--family', 'opt', '--hidden', '64', '--layers', '1', '--heads', '4', '--inter', '128', '--vocab', '500'];
      args.push('--batch', '1', '--seq', '8', '--dtype', dtype, '--init', 'random', '--reps', '1', '--warmup', '0', '--copy-mib', '1', '--dir', tmp.dir);
      const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const value = (label: string): number => Number(new RegExp(`\\| ${label} +\\| +([0-9.e+]+) +\\|`).exec(r.stdout)?.[1]);
      return { weights: value('weights bytes'), peak: value('device bytes peak') };
    };
    const f32 = bench('f32'), bf16 = bench('bf16');
    expect(f32.weights).toBeGreaterThan(0);
    expect(Math.abs((2 * bf16.weights) / f32.weights - 1)).toBeLessThan(0.01); // printed to 3 digits
    expect(bf16.peak / bf16.weights).toBeLessThan(1.5);
  });
});

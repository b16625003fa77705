// The tensor-core GEMM of the CUDA backend (cuda/tensor_gemm.h) without a GPU: its host-side decisions through
// dpzo_check_emu — the mapping of the row-major GEMM onto cuBLASLt's column-major operands (checked by
// evaluating the returned plan with cuBLAS's documented semantics against out = a·Wᵀ), the env switches, the
// library search order — and the whole path (16-bit activations, split weights at virtual points, the bias,
// the self-test) in the host emulation against an emulated cuBLASLt (DPZO_CUDA_EMU_LT=1) and the CPU backend.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../helpers/checkpoints.js';
import { ROOT } from '../helpers/cli.js';

const BIN = join(ROOT, 'build', 'dpzo_check_emu');
const tmp = makeTempDir('dpzo-tensor-gemm-');
afterAll(() => tmp.cleanup());

interface Operand {
  type: number;
  rows: number;
  cols: number;
  ld: number;
}
interface Plan {
  transA: number;
  transB: number;
  m: number;
  n: number;
  k: number;
  A: Operand;
  B: Operand;
  C: Operand;
}

function check(args: string[], env: Record<string, string> = {}): { json: Record<string, unknown>; status: number | null; stderr: string } {
  const clean = { ...process.env };
  for (const k of ['DPZO_CUDA_GEMM', 'DPZO_CUDA_POINT_GEMM', 'DPZO_CUBLASLT', 'DPZO_CUDA_EMU_LT', 'DPZO_CUDA_EMU_LT_BREAK']) delete clean[k];
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...clean, ...env }, timeout: 110_000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { json: last.startsWith('{') ? (JSON.parse(last) as Record<string, unknown>) : {}, status: r.status, stderr: r.stderr };
}

function plan(m: number, n: number, k: number, lda: number, ldw: number, ldo: number, layout: string, dtype = 'bf16'): Plan {
  const args = ['gemm-plan', '--m', m, '--n', n, '--k', k, '--lda', lda, '--ldw', ldw, '--ldo', ldo, '--layout', layout, '--dtype', dtype];
  return check(args.map(String)).json as unknown as Plan;
}

// D = op(A)·op(B) as cuBLAS defines it: column-major storage, element (r, c) of a stored matrix at r + c·ld,
// op = N (as stored) or T (transposed); the layouts describe the stored matrices.
// Reading outside a layout's declared rows × cols is an error, as it would be for the library.
function columnMajor(p: Plan, A: Float64Array, B: Float64Array, D: Float64Array): void {
  const at = (l: Operand, X: Float64Array, r: number, c: number): number => {
    if (r >= l.rows || c >= l.cols) throw new Error(`element (${r}, ${c}) outside a ${l.rows} x ${l.cols} layout`);
    return X[r + c * l.ld];
  };
  const opA = (i: number, q: number): number => (p.transA === 0 ? at(p.A, A, i, q) : at(p.A, A, q, i));
  const opB = (q: number, j: number): number => (p.transB === 0 ? at(p.B, B, q, j) : at(p.B, B, j, q));
  for (let j = 0; j < p.n; j++)
    for (let i = 0; i < p.m; i++) {
      let s = 0;
      for (let q = 0; q < p.k; q++) s += opA(i, q) * opB(q, j);
      D[i + j * p.C.ld] = s;
    }
}

describe.skipIf(!existsSync(BIN))('the tensor-core GEMM (host side)', () => {
  it('maps out = a·Wᵀ (both weight layouts, strided operands) onto cuBLASLt operands that compute it', () => {
    const M = 5, N = 7, K = 3, lda = 4, ldo = 9;
    for (const layout of ['outin', 'inout']) {
      const ldw = layout === 'outin' ? 6 : 8; // W (N, K) or (K, N) with padding
      const p = plan(M, N, K, lda, ldw, ldo, layout);
      // the stored layouts fit the buffers the engine has (row-major, with these leading dimensions)
      expect([p.m, p.n, p.k]).toEqual([N, M, K]);
      expect(p.C).toEqual({ type: 0, rows: N, cols: M, ld: ldo });
      expect(p.B).toEqual({ type: 14, rows: K, cols: M, ld: lda });
      expect(p.A.ld).toBe(ldw);
      // a layout describes the stored matrix: op(A) is m × k, op(B) k × n; column-major needs ld ≥ rows
      expect([p.A.rows, p.A.cols]).toEqual(p.transA === 0 ? [p.m, p.k] : [p.k, p.m]);
      expect([p.B.rows, p.B.cols]).toEqual(p.transB === 0 ? [p.k, p.n] : [p.n, p.k]);
      for (const o of [p.A, p.B, p.C]) expect(o.ld).toBeGreaterThanOrEqual(o.rows);
      const a = Float64Array.from({ length: M * lda }, (_, i) => ((i * 7) % 11) - 5);
      const w = Float64Array.from({ length: (layout === 'outin' ? N : K) * ldw }, (_, i) => ((i * 5) % 13) - 6);
      const W = (n: number, k: number): number => (layout === 'outin' ? w[n * ldw + k] : w[k * ldw + n]);
      const out = new Float64Array(M * ldo).fill(NaN);
      columnMajor(p, w, a, out); // A = the weight buffer, B = the activations, C = D = out
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[m * lda + k] * W(n, k);
          expect(out[m * ldo + n], `${layout} out[${m}, ${n}]`).toBe(s);
        }
    }
    expect(plan(2, 3, 4, 4, 4, 3, 'outin', 'f16').A.type).toBe(2); // CUDA_R_16F
    expect(plan(2, 3, 4, 4, 4, 3, 'outin').transA).toBe(1); // (out, in) is read transposed
    expect(plan(2, 3, 4, 4, 3, 3, 'inout').transA).toBe(0);
  });

  it('parses DPZO_CUDA_GEMM and DPZO_CUDA_POINT_GEMM, refusing other values in one line', () => {
    expect(check(['gemm-mode']).json).toEqual({ gemm: 'auto', point: 'split' });
    expect(check(['gemm-mode'], { DPZO_CUDA_GEMM: 'tensor', DPZO_CUDA_POINT_GEMM: 'round' }).json).toEqual({ gemm: 'tensor', point: 'round' });
    expect(check(['gemm-mode'], { DPZO_CUDA_GEMM: 'simt' }).json.gemm).toBe('simt');
    const bad = check(['gemm-mode'], { DPZO_CUDA_GEMM: 'cublas' });
    expect(bad.status).toBe(1);
    expect(bad.json).toEqual({ error: 'ERR_ARGUMENT', message: "DPZO_CUDA_GEMM: 'cublas' is not one of auto, simt, tensor" });
    expect(check(['gemm-mode'], { DPZO_CUDA_POINT_GEMM: 'exact' }).json.message).toBe("DPZO_CUDA_POINT_GEMM: 'exact' is not one of split, round");
  });

  it('looks for cuBLASLt at DPZO_CUBLASLT first, then by soname, and says why none loaded', () => {
    const fake = join(tmp.dir, 'libcublasLt-missing.so');
    const r = check(['cublaslt-load'], { DPZO_CUBLASLT: fake }).json;
    expect(r.candidates).toEqual([fake, 'libcublasLt.so.13', 'libcublasLt.so.12', 'libcublasLt.so']);
    expect(r.path).not.toBe(fake);
    expect(String(r.message)).toContain(`${fake}: cannot open shared object file`);
    expect(check(['cublaslt-load']).json.candidates).toEqual(['libcublasLt.so.13', 'libcublasLt.so.12', 'libcublasLt.so']);
    // a library that loads but is not cuBLASLt is named with the first entry point it lacks
    const libm = check(['cublaslt-load'], { DPZO_CUBLASLT: 'libm.so.6' }).json;
    expect(String(libm.message)).toContain('libm.so.6: lacks cublasLtCreate');
  });

  it('runs the whole tensor path in the emulation against the CPU: BF16 activations, split points, bias, self-test', () => {
    const r = spawnSync(BIN, ['gpu-check', '--dir', join(tmp.dir, 'lt'), '--dtypes', 'bf16'], {
      encoding: 'utf8',
      env: { ...process.env, DPZO_CUDA_EMU_LT: '1', DPZO_CUDA_GEMM: '' },
      timeout: 110_000,
    });
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| '));
    expect(rows.filter((l) => l.includes('FAIL'))).toEqual([]);
    for (const f of ['llama', 'llama-wide', 'gpt2', 'opt']) {
      const mine = rows.filter((l) => l.startsWith(`| ${f}-BF16-tc `));
      expect(mine.find((l) => l.includes('GEMM path')), f).toMatch(/\| tensor \(cuBLASLt emulated/);
      expect(mine.filter((l) => l.trimEnd().endsWith('| ok   |')).length, f).toBe(5);
    }
    // the exact rows still ran the SIMT kernel: the BF16 case's losses at 1e-4, its updates bit for bit
    expect(rows.filter((l) => l.startsWith('| llama-BF16 ') && l.trimEnd().endsWith('| ok   |')).length).toBeGreaterThanOrEqual(11);
    expect(r.stderr).not.toContain('notice');
    expect(r.status).toBe(0);
  });

  it('holds a bounded number of prepared shapes over a run of changing batch heights, and stays exact', () => {
    // a Poisson batch's token count M changes every step: the cache was keyed on M and grew for the whole run
    const r = check(['tensor-cache', '--dtypes', 'bf16', '--heights', '600'], { DPZO_CUDA_EMU_LT: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.heights).toBe(600);
    expect(r.json.mismatches).toBe(0);
    expect(r.json.maxPrepared).toBeLessThan(600);
    expect(r.json.mostPrepared).toBeGreaterThan(0);
    expect(r.json.mostPrepared).toBeLessThanOrEqual(r.json.maxPrepared as number);
  });

  it('runs the self-test per dtype: a library broken for F16 leaves BF16 on, in either order', () => {
    // keyed by device alone, the first model's verdict decided the second's (F16 on after a BF16 pass, BF16 off after an F16 failure)
    for (const order of ['bf16,f16', 'f16,bf16']) {
      const r = check(['tensor-cache', '--dtypes', order, '--heights', '3'], { DPZO_CUDA_EMU_LT: '1', DPZO_CUDA_EMU_LT_BREAK: 'f16' });
      expect(r.status, r.stderr).toBe(0);
      const paths = r.json.paths as string[];
      expect(paths.find((p) => p.startsWith('bf16: ')), order).toMatch(/^bf16: tensor \(/);
      expect(paths.find((p) => p.startsWith('f16: ')), order).toMatch(/^f16: simt \(cuBLASLt self-test mismatch/);
      expect(r.json.mismatches).toBe(0);
      expect(r.stderr.match(/notice: CUDA tensor-core GEMM off/g)).toHaveLength(1);
    }
  });

  it('falls back silently under auto where there is no cuBLASLt, and DPZO_CUDA_GEMM=tensor is ERR_DEVICE', () => {
    const args = ['gpu-check', '--dir', join(tmp.dir, 'none'), '--families', 'llama', '--dtypes', 'bf16'];
    const auto = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, DPZO_CUDA_EMU_LT: '', DPZO_CUDA_GEMM: '' }, timeout: 110_000 });
    expect(auto.stdout).toMatch(/\| llama-BF16-tc +\| GEMM path +\| simt \(the host emulation has no cuBLASLt\)/);
    expect(auto.stderr).toBe('');
    expect(auto.status).toBe(0);
    const forced = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, DPZO_CUDA_EMU_LT: '', DPZO_CUDA_GEMM: 'tensor' }, timeout: 110_000 });
    expect(forced.stdout).toContain('| llama-bf16-tc   | FAILED with ERR_DEVICE: DPZO_CUDA_GEMM=tensor: the tensor-core GEMM is unavailable: the host emulation has no cuBLASLt');
    expect(forced.status).toBe(1);
  });
});

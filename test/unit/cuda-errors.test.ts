// How cuda/*.cu turns CUDA runtime failures into exceptions (a structural guard: no GPU runs here). The
// runtime remembers a failed call's error as its "last error" until cudaGetLastError reads it, and
// check_launch (cuda/launch.h) reads exactly that after every kernel launch: a handled failure left there (a
// cudaMalloc out of memory that the tensor path's fallback catches, or that a user catches before retrying
// with a smaller batch) made the next, successful launch throw ERR_DEVICE "CUDA kernel embed: out of memory".
// So every runtime result goes through check_call, which clears the error before throwing, and the one
// ignored result (cudaFree's) is cleared too. The tiled attention's shared-memory opt-in is per device, so
// it is not cached in a static once per process.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';

const CUDA = join(ROOT, 'cuda');
const kernelFiles = readdirSync(CUDA).filter((f) => f.endsWith('.cu'));
const code = (f: string) => readFileSync(join(CUDA, f), 'utf8').replace(/\/\/.*$/gm, '');

describe('CUDA runtime errors', () => {
  it('check_call clears the runtime error before throwing', () => {
    const launch = code('launch.h');
    const body = /inline void check_call\(cudaError_t e, const char\* what\) \{([\s\S]*?)\n\}/.exec(launch)?.[1] ?? '';
    expect(body).toMatch(/cudaGetLastError\(\);[\s\S]*throw Error\(err::kDevice/);
  });

  it('no .cu file builds its own exception from a runtime error (only check_call and check_launch do)', () => {
    expect(kernelFiles.length).toBeGreaterThan(5);
    const offenders = kernelFiles.filter((f) => /cudaGetErrorString/.test(code(f)));
    expect(offenders).toEqual([]);
  });

  it('a failed cudaFree is cleared, not left for the next launch check', () => {
    const perturb = code('philox_perturb.cu');
    const free = /void device_free\(void\* p\) noexcept \{([\s\S]*?)\n\}/.exec(perturb)?.[1] ?? '';
    expect(free).toMatch(/cudaFree\(p\) != cudaSuccess\) cudaGetLastError\(\)/);
  });

  it('the tiled attention asks for its shared memory on the device it launches on (no per-process static)', () => {
    const attention = code('attention.cu');
    expect(attention).toMatch(/cudaFuncSetAttribute/);
    expect(attention).not.toMatch(/static\s+(const\s+)?\w+\s+\w+\s*=[^;]*cudaFuncSetAttribute/);
  });
});

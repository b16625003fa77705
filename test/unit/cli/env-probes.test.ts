// `dpzo env` is what a user runs when dpzo misbehaves: a probe that fails says so in its row, and the command still
// prints every row and exits 0.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzoWithEnv } from '../../helpers/cli.js';

describe('dpzo env with a bad DPZO_ISA', () => {
  // the SIMD probe threw (directionIsa() refuses the override), and env printed nothing and exited 2
  it('--json: the isa row says why, every other row is there', async () => {
    const r = await dpzoWithEnv({ DPZO_ISA: 'avx9000' }, 'env', '--json');
    expect(r.status, r.stderr).toBe(0);
    const env = JSON.parse(r.stdout);
    expect(env.isa).toMatch(/^unknown: .*DPZO_ISA='avx9000'/);
    expect(env.isa).not.toContain('\n');
    expect(env.node).toBe(process.version);
    expect(env.backends.split(',')).toContain('cpu');
  });

  it('table: the SIMD path row says why', async () => {
    const r = await dpzoWithEnv({ DPZO_ISA: 'avx9000' }, 'env');
    expect(r.status, r.stderr).toBe(0);
    const row = r.stdout.split('\n').find((l) => l.startsWith('SIMD path'));
    expect(row).toMatch(/unknown: .*expected scalar, avx2 or avx512/);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(12);
  });

  it('a valid override is what the row shows', async () => {
    const r = await dpzoWithEnv({ DPZO_ISA: 'scalar' }, 'env', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).isa).toBe('scalar');
  });
});

// An addon file that links a library named like a BLAS (built here with the C compiler; skipped without one). It does
// not load as an addon, so the BLAS row comes from the libraries the file links, as for a source build with OpenBLAS.
const cc = process.platform === 'linux' && spawnSync('cc', ['--version'], { stdio: 'ignore' }).status === 0;
describe.skipIf(!cc)('dpzo env: a linked BLAS is not one in use', () => {
  let tmp: { dir: string; cleanup: () => void };
  let addon: string;
  beforeAll(() => {
    tmp = makeTempDir('dpzo-env-blas-');
    const run = (args: string[]) => expect(spawnSync('cc', args, { cwd: tmp.dir, encoding: 'utf8' }).status).toBe(0);
    writeFileSync(join(tmp.dir, 'b.c'), 'int fake_blas(void) { return 0; }\n');
    writeFileSync(join(tmp.dir, 'a.c'), 'extern int fake_blas(void);\nint f(void) { return fake_blas(); }\n');
    run(['-shared', '-fPIC', '-o', 'libfakeblas.so', 'b.c']);
    run(['-shared', '-fPIC', '-o', 'dpzo.node', 'a.c', '-L.', '-lfakeblas']);
    addon = join(tmp.dir, 'dpzo.node');
  });
  afterAll(() => tmp?.cleanup());

  // the row said "libfakeblas.so" alone, while the core multiplies with its own GEMM unless DPZO_GEMM=blas
  it('without DPZO_GEMM=blas: linked, not used', async () => {
    const r = await dpzoWithEnv({ DPZO_ADDON: addon, DPZO_GEMM: '' }, 'env', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).blas).toBe('libfakeblas.so (linked, not used: the built-in GEMM runs unless DPZO_GEMM=blas)');
  });

  it('with DPZO_GEMM=blas: used for float32 weights', async () => {
    const r = await dpzoWithEnv({ DPZO_ADDON: addon, DPZO_GEMM: 'blas' }, 'env', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).blas).toBe('libfakeblas.so (used for float32 weights: DPZO_GEMM=blas)');
  });
});

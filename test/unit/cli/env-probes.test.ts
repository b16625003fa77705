// `dpzo env` is what a user runs when dpzo misbehaves: a probe that fails says so in its row, and the command still
// prints every row and exits 0.
import { describe, expect, it } from 'vitest';

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
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(11);
  });

  it('a valid override is what the row shows', async () => {
    const r = await dpzoWithEnv({ DPZO_ISA: 'scalar' }, 'env', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).isa).toBe('scalar');
  });
});

// calibrateNoise with δ ≥ 1 − (1 − q)^T: every release, noisy or not, is (0, δ)-DP then (an example's chance of being sampled
// at all bounds the outputs' total variation), so there is no smallest noise. The PLD search walked down for ~100 s (event loop
// blocked) and returned σ ≈ 1.2e-5 at ε = 0; RDP, which cannot see it, returned σ ≈ 0.06; `calibrate --delta 0.999999` ran >120 s.
import { describe, expect, it } from 'vitest';
import { calibrateNoise } from '../../../lib/privacy/index.js';
import { dpzo } from '../../helpers/cli.js';

describe('calibrateNoise: a δ that holds without noise', () => {
  it.each(['rdp', 'pld'] as const)('%s: refused at once with ERR_ARGUMENT saying why', (accountant) => {
    const t0 = performance.now();
    expect(() => calibrateNoise({ epsilon: 100, delta: 1e-5, sampleRate: 1e-9, steps: 1, accountant })).toThrow(
      expect.objectContaining({
        code: 'ERR_ARGUMENT',
        message: expect.stringMatching(/^delta 0\.00001 is at least 1 − \(1 − q\)\^T = 1\.00000e-9, .*no noise at all/),
      }),
    );
    // T steps: 1 − (1 − 0.01)^1000 = 0.999957
    expect(() => calibrateNoise({ epsilon: 3, delta: 0.99996, sampleRate: 0.01, steps: 1000, accountant })).toThrow(/1 − \(1 − q\)\^T = 0\.999957/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('opacusCompat too; a δ just below the bound is still calibrated', () => {
    expect(() => calibrateNoise({ epsilon: 8, delta: 0.5, sampleRate: 0.04, steps: 10, opacusCompat: true })).toThrow(/no noise at all/);
    const reach = 1 - (1 - 0.04) ** 10;
    const r = calibrateNoise({ epsilon: 8, delta: reach * 0.9, sampleRate: 0.04, steps: 10, accountant: 'rdp' });
    expect(r.noiseMultiplier).toBeGreaterThan(0);
    expect(r.epsilon).toBeLessThanOrEqual(8);
  });

  it('dpzo calibrate --delta 0.999999: one line, exit 2, at once', async () => {
    const t0 = performance.now();
    const r = await dpzo('calibrate', '--epsilon', '3', '--delta', '0.999999', '--sample-rate', '0.01', '--steps', '1000');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^dpzo: delta 0\.999999 is at least 1 − \(1 − q\)\^T = 0\.999957, .* \[ERR_ARGUMENT\]\n$/);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

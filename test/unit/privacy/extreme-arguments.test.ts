// Issue 10.13, the general rule behind `--noise-multiplier 1e-300`: an argument the accountant cannot
// represent is an ERR_ARGUMENT naming what the user typed, never an internal error about a value the
// user never saw. Found by trying every numeric flag at 1e±300: a sample rate of 1e-300 or a noise
// multiplier of 1e300 rounded A_α to a hair below 1, and the negative RDP was refused as `rdp[0] must
// be >= 0` (ERR_ARGUMENT about an internal array); 1e15 steps coarsened the PLD grid into NaN
// (ERR_INTERNAL "mass is not finite at loss NaN").
import { describe, expect, it } from 'vitest';

import { composeHistory, computeRdpGaussian, epsilonFromRdp, rdpSubsampledGaussian } from '../../../lib/privacy/index.js';
import { OPACUS_ORDERS } from '../../../lib/privacy/orders.js';
import { dpzo } from '../../helpers/cli.js';

describe('RDP at the edges of the floating-point range', () => {
  it('is never negative (A_α >= 1), and vanishes as q → 0 or σ → ∞', () => {
    for (const a of [1.5, 2, 3.25, 32, 256]) {
      // a Rényi divergence is >= 0; for q = 1e-300 it is ~q²α/σ² (MTZ 2019), far below any double but 0
      const tinyQ = rdpSubsampledGaussian(1e-300, 1, a);
      expect(tinyQ, `q=1e-300 α=${a}`).toBeGreaterThanOrEqual(0);
      expect(tinyQ).toBeLessThan(1e-250);
      const hugeSigma = rdpSubsampledGaussian(0.3, 1e300, a);
      expect(hugeSigma, `σ=1e300 α=${a}`).toBeGreaterThanOrEqual(0);
      // the true value is ~q²α/σ² ≈ 0; the log-sum-exp of q^i(1−q)^{α−i} lands within rounding of log 1
      expect(hugeSigma).toBeLessThan(1e-12);
    }
    const rdp = computeRdpGaussian(0.3, 1e300, 2, OPACUS_ORDERS);
    // ≈ log(1/δ)/(α_max − 1): only the conversion term remains
    expect(epsilonFromRdp(OPACUS_ORDERS, rdp, 1e-5).epsilon).toBeLessThan(0.2);
  });
});

describe('PLD beyond its grid', () => {
  it('1e15 releases: ERR_ARGUMENT naming the count, not a NaN grid', () => {
    const m = { kind: 'gaussian' as const, sampleRate: 0.3, noiseMultiplier: 1 };
    expect(() => composeHistory([{ mechanism: m, times: 1e15 }])).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/cannot represent 1000000000000000 releases.*RDP accountant/) }),
    );
    // a long but representable history still composes (the cap does not bite early)
    expect(composeHistory([{ mechanism: m, times: 1e8 }]).interval).toBeLessThanOrEqual(1);
  });
});

describe('dpzo account with extreme numbers', () => {
  const base = ['account', '--sample-rate', '0.3', '--noise-multiplier', '1', '--steps', '2', '--delta', '1e-5'];
  const set = (flag: string, v: string) => base.map((x, i) => (base[i - 1] === flag ? v : x));
  it('q = 1e-300 and σ = 1e300 account to ε ≈ 0; 1e15 steps (no PLD grid) report the RDP bound, saying so', async () => {
    for (const args of [set('--sample-rate', '1e-300'), set('--noise-multiplier', '1e300')]) {
      const r = await dpzo(...args);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/epsilon pld +0\.0+ /);
      expect(Number(/epsilon rdp +([0-9.e-]+)/.exec(r.stdout)?.[1])).toBeLessThan(0.05);
    }
    const r = await dpzo(...set('--steps', '1000000000000000'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/epsilon pld +\S+ \(the RDP bound, below the PLD's own: no PLD loss grid can hold these steps\)/);
  });
});

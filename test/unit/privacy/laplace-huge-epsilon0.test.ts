// The Laplace RDP at a huge ε0 = C/b: the Rényi moments overflowed to ∞ − ∞ = NaN, and `dpzo account --mechanism laplace
// --clip 1e307 --laplace-scale 1` failed with "rdp[106] must be a number >= 0, got NaN", naming no flag. D_α never exceeds
// the (amplified) pure ε, which bounds it where the moments overflow.
import { describe, expect, it } from 'vitest';

import { rdpLaplace, rdpSubsampledLaplace } from '../../../lib/privacy/index.js';
import { dpzo } from '../../helpers/cli.js';

const ORDERS = [1.1, 2, 10, 64, 1024, 5000.5];

describe('Laplace RDP at a huge ε0', () => {
  it('is finite and at most the pure ε at every order', () => {
    for (const eps0 of [1e300, 1e307, 1.7e308]) {
      for (const a of ORDERS) {
        const full = rdpLaplace(eps0, a);
        expect(full, `q = 1, ε0 ${eps0}, α ${a}`).toBeLessThanOrEqual(eps0);
        expect(Number.isFinite(full)).toBe(true);
        const sub = rdpSubsampledLaplace(0.01, eps0, a);
        expect(Number.isNaN(sub), `q = 0.01, ε0 ${eps0}, α ${a}`).toBe(false);
        expect(sub).toBeLessThanOrEqual(eps0);
        expect(sub).toBeGreaterThan(0.99 * eps0);
      }
    }
  });

  it('leaves the published values as they were', () => {
    expect(rdpLaplace(1, 2)).toBeCloseTo(0.6191236299985929, 14);
    expect(rdpLaplace(1, 100)).toBeCloseTo(0.9930491450632687, 14);
    expect(rdpLaplace(0.1, 2)).toBeCloseTo(0.00964420784034467, 15);
  });

  it('dpzo account --mechanism laplace --clip 1e307 prints ε, exit 0', async () => {
    const r = await dpzo(
      'account',
      '--mechanism',
      'laplace',
      '--sample-rate',
      '0.01',
      '--laplace-scale',
      '1',
      '--clip',
      '1e307',
      '--steps',
      '10',
      '--delta',
      '1e-5',
      '--json',
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { epsilon: number; results: { accountant: string; epsilon: number }[] };
    expect(j.epsilon).toBeGreaterThan(9e307);
    expect(j.results.map((x) => x.accountant)).toEqual(['pld', 'rdp', 'pure']);
  });
});

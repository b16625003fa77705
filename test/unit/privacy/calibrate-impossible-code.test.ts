// A budget no noise reaches is ERR_BUDGET_IMPOSSIBLE, from calibrateNoise as from planNoise (the code the privacy layer
// defines for it): calibrateNoise coded it ERR_ARGUMENT, as if an argument were malformed. And a budget met with no noise at
// all is not "impossible": planNoise passes calibrateNoise's ERR_ARGUMENT on (it read "no noise level reaches ε = …").
import { describe, expect, it } from 'vitest';
import { calibrateNoise, planNoise } from '../../../lib/privacy/index.js';
import { dpzo } from '../../helpers/cli.js';

describe('an impossible budget', () => {
  it('calibrateNoise: ERR_BUDGET_IMPOSSIBLE (no σ up to 1e7; Opacus: none up to 2000)', () => {
    expect(() => calibrateNoise({ epsilon: 0.01, delta: 1e-5, sampleRate: 1, steps: 1e15, accountant: 'rdp' })).toThrow(
      expect.objectContaining({ code: 'ERR_BUDGET_IMPOSSIBLE', message: expect.stringMatching(/^no noise up to 1e7 reaches epsilon=0\.01/) }),
    );
    expect(() => calibrateNoise({ epsilon: 0.01, delta: 1e-5, sampleRate: 0.04, steps: 2250, opacusCompat: true })).toThrow(
      expect.objectContaining({ code: 'ERR_BUDGET_IMPOSSIBLE', message: 'The privacy budget is too low.' }),
    );
    // a malformed argument is still ERR_ARGUMENT
    expect(() => calibrateNoise({ epsilon: -1, delta: 1e-5, sampleRate: 1, steps: 10 })).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
  });

  it('planNoise: the same code; a budget met without noise stays ERR_ARGUMENT with its own message', () => {
    const req = { mechanism: 'gaussian' as const, clip: 1, accountant: 'rdp' as const };
    expect(() => planNoise({ ...req, budget: { epsilon: 0.01, delta: 1e-5 }, sampleRate: 1, steps: 1e15 })).toThrow(
      expect.objectContaining({ code: 'ERR_BUDGET_IMPOSSIBLE' }),
    );
    expect(() => planNoise({ ...req, budget: { epsilon: 100, delta: 1e-5 }, sampleRate: 1e-9, steps: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/^delta 0\.00001 is at least 1 − \(1 − q\)\^T/) }),
    );
  });

  it('dpzo calibrate names the code', async () => {
    const r = await dpzo('calibrate', '--epsilon', '0.01', '--delta', '1e-5', '--sample-rate', '1', '--steps', '1e15', '--accountant', 'rdp');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^dpzo: no noise up to 1e7 reaches epsilon=0\.01: .* \[ERR_BUDGET_IMPOSSIBLE\]\n$/);
  });
});

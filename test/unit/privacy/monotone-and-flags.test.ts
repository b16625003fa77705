// Properties every accountant must have, on seeded random inputs: ε never falls when T or q grows or the noise shrinks
// (the calibration's bisection and the ledger's budget check both rely on it), and PLD's ε never exceeds RDP's (both are
// upper bounds of the same history, and the PLD accountant reports the smaller). Plus: a noise the accountant cannot
// represent, given on the command line, is refused naming the flag (it named the library's field: `noiseMultiplier`).
import { describe, expect, it } from 'vitest';

import { PldAccountant, RdpAccountant, type Mechanism } from '../../../lib/privacy/index.js';
import { dpzo } from '../../helpers/cli.js';

/** A small LCG: the same inputs on every run. */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const DELTA = 1e-5;
const eps = (pld: boolean, m: Mechanism, T: number) => (pld ? new PldAccountant() : new RdpAccountant()).step(m, T).getEpsilon(DELTA).epsilon;
const SLACK = 1e-12;

describe('monotonicity (seeded random inputs)', () => {
  it('Gaussian: ε(T) <= ε(2T), ε(T) <= ε(T + 1), ε(q) <= ε(1.3q), ε(σ) <= ε(σ/1.2); PLD <= RDP', () => {
    const r = rng(20261206);
    for (let i = 0; i < 6; i++) {
      const q = Math.min(1, 10 ** (-3 + 3 * r()));
      const s = 10 ** (-0.3 + 2.5 * r());
      const T = Math.max(1, Math.round(10 ** (4 * r())));
      const g = (qq: number, ss: number): Mechanism => ({ kind: 'gaussian', sampleRate: qq, noiseMultiplier: ss });
      for (const pld of [true, false]) {
        const tag = `${pld ? 'pld' : 'rdp'} q=${q} σ=${s} T=${T}`;
        const e0 = eps(pld, g(q, s), T);
        expect(eps(pld, g(q, s), 2 * T), `${tag} 2T`).toBeGreaterThanOrEqual(e0 * (1 - SLACK));
        expect(eps(pld, g(q, s), T + 1), `${tag} T+1`).toBeGreaterThanOrEqual(e0 * (1 - SLACK));
        expect(eps(pld, g(Math.min(1, 1.3 * q), s), T), `${tag} 1.3q`).toBeGreaterThanOrEqual(e0 * (1 - SLACK));
        expect(eps(pld, g(q, s / 1.2), T), `${tag} σ/1.2`).toBeGreaterThanOrEqual(e0 * (1 - SLACK));
        if (pld) expect(e0, tag).toBeLessThanOrEqual(eps(false, g(q, s), T));
      }
    }
  }, 120_000);
  it('Laplace: the same in T, q and the scale b; PLD <= RDP', () => {
    const r = rng(7);
    for (let i = 0; i < 4; i++) {
      const q = Math.min(1, 10 ** (-3 + 3 * r()));
      const b = 10 ** (-1 + 2.5 * r());
      const T = Math.max(1, Math.round(10 ** (3 * r())));
      const l = (qq: number, bb: number): Mechanism => ({ kind: 'laplace', sampleRate: qq, clip: 1, scale: bb });
      for (const pld of [true, false]) {
        const tag = `${pld ? 'pld' : 'rdp'} q=${q} b=${b} T=${T}`;
        const e0 = eps(pld, l(q, b), T);
        expect(eps(pld, l(q, b), 2 * T), `${tag} 2T`).toBeGreaterThanOrEqual(e0 * (1 - SLACK));
        expect(eps(pld, l(Math.min(1, 1.3 * q), b), T), `${tag} 1.3q`).toBeGreaterThanOrEqual(e0 * (1 - SLACK));
        expect(eps(pld, l(q, b / 1.2), T), `${tag} b/1.2`).toBeGreaterThanOrEqual(e0 * (1 - SLACK));
        if (pld) expect(e0, tag).toBeLessThanOrEqual(eps(false, l(q, b), T));
      }
    }
  }, 120_000);
});

describe('a noise no accountant can represent, on the command line', () => {
  const cases: [string[], string][] = [
    [['account', '--delta', '1e-5', '--sample-rate', '0.01', '--steps', '3', '--noise-multiplier', '1e-200'], '--noise-multiplier'],
    [['account', '--delta', '1e-5', '--sample-rate', '0.01', '--steps', '3', '--mechanism', 'laplace', '--laplace-scale', '1e-320'], '--laplace-scale'],
    [['calibrate', '--epsilon', '1', '--delta', '1e-5', '--sample-rate', '0.01', '--noise-multiplier', '1e-200'], '--noise-multiplier'],
    [['calibrate', '--epsilon', '1', '--delta', '1e-5', '--sample-rate', '0.01', '--mechanism', 'laplace', '--laplace-scale', '1e-320'], '--laplace-scale'],
  ];
  it.each(cases)('%j: one line naming %s, exit 2, nothing on stdout', async (args, flag) => {
    const r = await dpzo(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^dpzo: ${flag} must be .*\\[ERR_ARGUMENT\\]\\n$`));
  });
});

// Mutation-found gaps in the accountants' history: releases of different mechanisms are never merged (a merge
// keyed on too little, e.g. the sampling rate alone, counted a σ = 0.5 release as a σ = 10 one), and every one of
// `times` releases is counted.
import { describe, expect, it } from 'vitest';

import { PldAccountant, RdpAccountant } from '../../../lib/privacy/index.js';

const weak = { kind: 'gaussian' as const, sampleRate: 0.1, noiseMultiplier: 10 };
const strong = { kind: 'gaussian' as const, sampleRate: 0.1, noiseMultiplier: 0.5 };
const lap1 = { kind: 'laplace' as const, sampleRate: 0.1, clip: 1, scale: 10 };
const lap2 = { kind: 'laplace' as const, sampleRate: 0.1, clip: 1, scale: 0.5 };

describe('accountant history (mutants)', () => {
  for (const make of [() => new RdpAccountant(), () => new PldAccountant()]) {
    const name = make().constructor.name;
    it(`${name}: a release with less noise after one with more is kept apart, and costs at least what it costs alone`, () => {
      for (const [a, b] of [
        [weak, strong],
        [lap1, lap2],
      ] as const) {
        const both = make().step(a).step(b);
        expect(both.history).toEqual([
          { mechanism: a, times: 1 },
          { mechanism: b, times: 1 },
        ]);
        const alone = make().step(b).getEpsilon(1e-5).epsilon;
        expect(both.getEpsilon(1e-5).epsilon).toBeGreaterThanOrEqual(alone);
      }
    });
    it(`${name}: step(m, 2) then step(m, 3) counts 5 releases, as step(m, 5) does`, () => {
      const a = make().step(strong, 2).step(strong, 3);
      expect(a.steps).toBe(5);
      expect(a.history).toEqual([{ mechanism: strong, times: 5 }]);
      expect(a.getEpsilon(1e-5).epsilon).toBe(make().step(strong, 5).getEpsilon(1e-5).epsilon);
    });
  }
});

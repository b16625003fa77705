// One DP-ZO step against the same step computed by hand (seeds, batch and noise
// injected through the test hook), on the pure-TS fake model.
import { describe, expect, it } from 'vitest';

import { installTestHooks } from '../../../lib/dpzo/hooks.js';
import { DPZOTrainer, type StepInfo } from '../../../lib/dpzo/index.js';
import { FakeModel, direction, tokenDataset } from '../../helpers/fake-model.js';

const d = 6;
const theta0 = [0.5, -0.25, 0.125, 1, -1, 0.75];

function handStep(
  model: FakeModel,
  tokens: number[],
  batch: number[],
  seeds: bigint[],
  xi: number[],
  p: { zoEps: number; clip: number; lr: number; q: number; N: number; norm: 'l2' | 'l1' },
) {
  const n = seeds.length;
  const zs = seeds.map((s) => Array.from(direction(s, d)));
  const sum = new Array(n).fill(0);
  let clipped = 0;
  let nonFinite = 0;
  const norms: number[] = [];
  for (const i of batch) {
    const ids = [1, tokens[i]!];
    const g = zs.map((z) => {
      const plus = theta0.map((t, j) => t + p.zoEps * z[j]!);
      const minus = theta0.map((t, j) => t - p.zoEps * z[j]!);
      return (model.lossAt(plus, ids) - model.lossAt(minus, ids)) / (2 * p.zoEps);
    });
    if (!g.every(Number.isFinite)) {
      nonFinite++;
      continue;
    }
    const norm = p.norm === 'l2' ? Math.hypot(...g) : g.reduce((a, b) => a + Math.abs(b), 0);
    norms.push(norm);
    const f = norm > p.clip ? p.clip / norm : 1;
    if (f < 1) clipped++;
    g.forEach((v, k) => (sum[k] += v * f));
  }
  const gHat = sum.map((s, k) => (s + xi[k]!) / (p.q * p.N));
  const theta1 = theta0.map((t, j) => t - (p.lr / n) * gHat.reduce((a, gk, k) => a + gk * zs[k]![j]!, 0));
  return { gHat, theta1, clipped, nonFinite, norms };
}

describe('a DP-ZO step', () => {
  for (const mechanism of ['gaussian', 'laplace'] as const) {
    it(`matches the hand-computed step (${mechanism}, 2 directions, clipping and a non-finite example)`, async () => {
      const tokens = [5, 9, 12, 63, 20];
      const model = new FakeModel(d, theta0);
      const p = {
        zoEps: 1e-2,
        clip: Infinity,
        lr: 0.05,
        N: tokens.length,
        q: 2 / tokens.length,
        norm: mechanism === 'gaussian' ? ('l2' as const) : ('l1' as const),
      };
      const seeds = [11n, 0xfedcba9876543210n];
      const xi = [0.3, -0.2];
      const batch = [0, 1, 2, 3];
      // C between the smallest and largest per-example norm: some examples clipped, some not
      const norms = handStep(model, tokens, batch, seeds, xi, p).norms.sort((a, b) => a - b);
      p.clip = (norms[0]! + norms[1]!) / 2;
      const trainer = new DPZOTrainer(model, {
        train: tokenDataset(tokens),
        epsilon: 100,
        delta: 1e-5,
        accountant: 'rdp',
        mechanism,
        ...(mechanism === 'gaussian' ? { noiseMultiplier: 1 } : { laplaceScale: 1 }),
        batchSize: 2,
        steps: 1,
        lr: p.lr,
        zoEps: p.zoEps,
        clip: p.clip,
        directions: 2,
        privateDiagnostics: true,
      });
      installTestHooks(trainer, { seeds: () => seeds, noise: () => Float64Array.from(xi), batch: () => batch });
      const steps: StepInfo[] = [];
      const report = await trainer.train({ onStep: (s) => void steps.push(s) });
      const hand = handStep(model, tokens, batch, seeds, xi, p);

      expect(report.private).toBe(false);
      expect(report.steps).toBe(1);
      expect(steps).toHaveLength(1);
      expect(steps[0]!.privateDiagnostics!.nonFinite).toBe(1);
      expect(steps[0]!.privateDiagnostics!.clipped).toBe(hand.clipped);
      expect(hand.clipped).toBe(2);
      steps[0]!.gHat.forEach((g, k) => expect(g).toBeCloseTo(hand.gHat[k]!, 4));
      const theta1 = model.getParameter();
      theta0.forEach((t, j) => {
        // the update itself, compared at 1e-4 relative (float32 θ ± ε z in the fake)
        expect(theta1[j]! - t).toBeCloseTo(hand.theta1[j]! - t, 5);
      });
      // the native call sequence: per direction one call at θ ± ε z (θ never written), then one update
      const e = p.zoEps;
      expect(model.log.slice(0, 2)).toEqual([`lossAt ${seeds[0]}:${e} ${seeds[0]}:${-e}`, `lossAt ${seeds[1]}:${e} ${seeds[1]}:${-e}`]);
      const g = steps[0]!.gHat;
      expect(model.log[2]).toBe(`update ${seeds[0]}:${-(p.lr * g[0]!) / 2},${seeds[1]}:${-(p.lr * g[1]!) / 2}`);
      expect(model.log).toHaveLength(3);
    });
  }

  it('an empty batch still releases noise: ĝ = ξ/(qN)', async () => {
    const model = new FakeModel(d, theta0);
    const trainer = new DPZOTrainer(model, {
      train: tokenDataset([5, 9, 12, 20]),
      epsilon: 100,
      delta: 1e-5,
      accountant: 'rdp',
      noiseMultiplier: 1,
      batchSize: 1,
      steps: 1,
      lr: 0.1,
      clip: 1,
    });
    installTestHooks(trainer, { seeds: () => [3n], noise: () => Float64Array.of(0.5), batch: () => [] });
    let g = NaN;
    await trainer.train({ onStep: (s) => void (g = s.gHat[0]!) });
    expect(g).toBe(0.5 / (0.25 * 4));
    const z = direction(3n, d);
    model.getParameter().forEach((t, j) => expect(t).toBeCloseTo(theta0[j]! - 0.1 * 0.5 * z[j]!, 5));
  });
});

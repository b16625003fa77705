// Privacy accounting benchmark: PLD for T = 20,000 identical subsampled-Gaussian steps, RDP over the default orders,
// PLD heterogeneous and calibration. Prints a table and writes bench/results/privacy.json.
// Run: node --import tsx bench/privacy.ts
import { fileURLToPath } from 'node:url';
import { PldAccountant, RdpAccountant, calibrateNoise, DP_ACCOUNTING_ORDERS, OPACUS_ORDERS } from '../lib/privacy/index.js';
import { writeResults } from './results.js';

interface Row {
  name: string;
  ms: number;
  value: number;
  note: string;
}

function time<T>(f: () => T, reps = 1): { ms: number; out: T } {
  let out!: T;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) out = f();
  return { ms: (performance.now() - t0) / reps, out };
}

export function runPrivacyBench(): Row[] {
  const rows: Row[] = [];
  const g = (q: number, s: number) => ({ kind: 'gaussian' as const, sampleRate: q, noiseMultiplier: s });
  // warm the JIT once on a small problem so the timings are of the steady state
  new PldAccountant().step(g(0.04, 1.5), 10).getEpsilon(1e-5);

  const pld = time(() => new PldAccountant().step(g(0.04, 1.5), 20000).getEpsilon(1e-5));
  rows.push({ name: 'PLD T=20000 q=0.04 σ=1.5 (cold)', ms: pld.ms, value: pld.out.epsilon, note: 'ε at δ=1e-5, interval 1e-4, both adjacencies' });
  const pld2 = time(() => new PldAccountant().step(g(0.04, 1.5), 2249).getEpsilon(1e-5));
  rows.push({ name: 'PLD T=2249 q=0.04 σ=1.5', ms: pld2.ms, value: pld2.out.epsilon, note: 'published 6.76705' });
  const het = time(() =>
    new PldAccountant().step(g(0.04, 1.5), 1000).step(g(0.02, 1.2), 1000).step({ kind: 'laplace', sampleRate: 0.04, clip: 1, scale: 4 }, 500).getEpsilon(1e-5),
  );
  rows.push({ name: 'PLD heterogeneous (3 groups)', ms: het.ms, value: het.out.epsilon, note: '1000 + 1000 Gaussian + 500 Laplace steps' });

  // RDP: a fresh accountant each time (no cache)
  const rdp = time(() => new RdpAccountant({ orders: DP_ACCOUNTING_ORDERS }).step(g(0.04, 1.5), 20000).getEpsilon(1e-5), 20);
  rows.push({ name: 'RDP dp_accounting orders (156)', ms: rdp.ms, value: rdp.out.epsilon, note: `T=20000, order ${rdp.out.order}` });
  const rdpO = time(() => new RdpAccountant({ orders: OPACUS_ORDERS }).step(g(0.04, 1.5), 2250).getEpsilon(1e-5), 20);
  rows.push({ name: 'RDP Opacus orders (151)', ms: rdpO.ms, value: rdpO.out.epsilon, note: 'published 7.32911117143' });
  const lapRdp = time(() => new RdpAccountant().step({ kind: 'laplace', sampleRate: 0.04, clip: 1, scale: 2 }, 1000).getEpsilon(1e-5), 5);
  rows.push({ name: 'RDP subsampled Laplace', ms: lapRdp.ms, value: lapRdp.out.epsilon, note: 'quadrature at fractional orders' });

  const cal = time(() => calibrateNoise({ epsilon: 8, delta: 1e-5, sampleRate: 0.04, steps: 2250, opacusCompat: true }));
  rows.push({ name: 'calibrate (Opacus compat, RDP)', ms: cal.ms, value: cal.out.noiseMultiplier!, note: 'published σ 1.416' });
  const calP = time(() => calibrateNoise({ epsilon: 8, delta: 1e-5, sampleRate: 0.04, steps: 2250, accountant: 'pld', tolerance: 1e-3 }));
  rows.push({ name: 'calibrate (PLD, tol 1e-3)', ms: calP.ms, value: calP.out.noiseMultiplier!, note: `ε reached ${calP.out.epsilon.toFixed(5)}` });
  // the slow edges: δ just below 1 − (1 − q)^T (every PLD evaluation at σ ≈ 0.13 spans millions of grid points), and
  // T = 1e12 (the PLD accountant's RDP bound answers)
  const reach = -Math.expm1(10 * Math.log1p(-0.04));
  const calD = time(() => calibrateNoise({ epsilon: 1, delta: 0.999 * reach, sampleRate: 0.04, steps: 10 }));
  rows.push({ name: 'calibrate (PLD, δ = 0.999·(1−(1−q)^T))', ms: calD.ms, value: calD.out.noiseMultiplier!, note: 'q=0.04 T=10 ε=1' });
  const calT = time(() => calibrateNoise({ epsilon: 3, delta: 1e-5, sampleRate: 0.01, steps: 1e12 }));
  rows.push({ name: 'calibrate (PLD, T = 1e12)', ms: calT.ms, value: calT.out.noiseMultiplier!, note: 'q=0.01 ε=3 δ=1e-5' });
  const tiny = time(() => new PldAccountant().step(g(1e-9, 1e-5), 10).getEpsilon(1e-5));
  rows.push({ name: 'PLD σ=1e-5 q=1e-9 T=10', ms: tiny.ms, value: tiny.out.epsilon, note: `ε at δ=1e-5 (${tiny.out.bound} bound; was RDP's 5.5e10)` });
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = runPrivacyBench();
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'benchmark'.padEnd(w)}  ${'ms'.padStart(10)}  ${'value'.padStart(12)}  note`);
  for (const r of rows) console.log(`${r.name.padEnd(w)}  ${r.ms.toFixed(2).padStart(10)}  ${r.value.toPrecision(8).padStart(12)}  ${r.note}`);
  writeResults('privacy', { date: new Date().toISOString(), node: process.version, rows });
}

// Test helpers: re-exports plus small numeric references written independently of lib/.
export * from '../../../lib/privacy/index.js';

/** Φ(x) by a plain Simpson integral of the density from −40 (a reference independent of lib/privacy/special.ts). */
export function normCdfForTests(x: number, n = 20000): number {
  if (x > 0) return 1 - normCdfForTests(-x, n);
  const a = -40;
  const h = (x - a) / n;
  const f = (t: number) => Math.exp((-t * t) / 2) / Math.sqrt(2 * Math.PI);
  let s = f(a) + f(x);
  for (let i = 1; i < n; i++) s += f(a + i * h) * (i % 2 ? 4 : 2);
  return (s * h) / 3;
}

// defines: auditPlot — the audit's picture (lib/plot/svg-chart.ts): histograms of
// the canary scores with the canary in the dataset and without, the test's
// threshold, and the claimed ε beside the lower bound in the title.
import { type Series, lineChart } from '../plot/svg-chart.js';
import type { AuditResult } from './report.js';
import type { Trial } from './runs.js';

function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x);
}

/** 100·c without the float's noise (0.57 → 57, not 56.99999999999999) and without rounding 0.9999999 up to 100. */
function percent(c: number): string {
  return Number((c * 100).toPrecision(12)).toString();
}

/** A histogram as a step outline: the fraction of `xs` in each of `count` bins of [lo, lo + count·width). */
function outline(xs: number[], lo: number, width: number, count: number): [number, number][] {
  const bins = new Array<number>(count).fill(0);
  for (const x of xs) bins[Math.min(count - 1, Math.max(0, Math.floor((x - lo) / width)))]!++;
  const pts: [number, number][] = [[lo, 0]];
  bins.forEach((c, i) => {
    const v = xs.length > 0 ? c / xs.length : 0;
    pts.push([lo + i * width, v], [lo + (i + 1) * width, v]);
  });
  pts.push([lo + count * width, 0]);
  return pts;
}

/** The SVG of an audit: score histograms of the canaries in and out, the threshold, the claimed ε and the bound. */
export function auditPlot(a: AuditResult, trials: readonly Trial[]): string {
  const ins = trials.filter((t) => t.member).map((t) => t.score);
  const outs = trials.filter((t) => !t.member).map((t) => t.score);
  const all = [...ins, ...outs].filter(Number.isFinite).sort((p, q) => p - q);
  // the central 99.8%: a few extreme scores would squeeze the rest into one bin
  const lo = all[Math.floor(all.length * 0.001)] ?? 0;
  const hi = all[Math.min(all.length - 1, Math.ceil(all.length * 0.999))] ?? 1;
  const count = Math.max(10, Math.min(60, Math.round(Math.sqrt(all.length))));
  const width = (hi - lo) / count || 1;
  const series: Series[] = [
    { name: `canary in (${ins.length})`, points: outline(ins, lo, width, count), color: '#d62728' },
    { name: `canary out (${outs.length})`, points: outline(outs, lo, width, count), color: '#1f77b4' },
  ];
  const t = a.test;
  if (t.kind === 'threshold' && Number.isFinite(t.threshold) && t.threshold >= lo && t.threshold <= lo + count * width) {
    const top = Math.max(...series.flatMap((s) => s.points.map(([, y]) => y)));
    series.push({
      name: `threshold ${fmt(t.threshold)}`,
      points: [
        [t.threshold, 0],
        [t.threshold, top],
      ],
      color: '#333',
      dashed: true,
    });
  }
  return lineChart({
    title: `dpzo audit (${a.setting}): claimed ε = ${fmt(a.claimedEpsilon)}, ε ≥ ${fmt(a.epsilonLowerBound)} at ${percent(a.confidence)}% — ${a.verdict}`,
    xLabel: `canary score (log-likelihood ratio of its released ĝ); ${a.runs} run(s) × ${a.canaries} canaries, δ = ${a.delta}`,
    panels: [{ yLabel: 'fraction of trials', series }],
    panelHeight: 300,
  });
}

// defines: auditPlot — the audit's picture as a self-contained SVG: histograms of
// the canary scores with the canary in the dataset and without, the test's
// threshold, and the claimed ε beside the lower bound in the title.
import type { AuditResult } from './report.js';
import type { Trial } from './runs.js';

const W = 720;
const H = 400;
const M = { left: 56, right: 16, top: 56, bottom: 44 };

function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x);
}

function bins(xs: number[], lo: number, width: number, count: number): number[] {
  const out = new Array<number>(count).fill(0);
  for (const x of xs) out[Math.min(count - 1, Math.max(0, Math.floor((x - lo) / width)))]!++;
  return out;
}

/** A step outline of densities (fractions of each group) over the bins. */
function outline(counts: number[], total: number, x: (i: number) => string, y: (v: number) => string): string {
  let d = `M ${x(0)} ${y(0)}`;
  counts.forEach((c, i) => {
    const v = total > 0 ? c / total : 0;
    d += ` L ${x(i)} ${y(v)} L ${x(i + 1)} ${y(v)}`;
  });
  return d + ` L ${x(counts.length)} ${y(0)}`;
}

export function auditPlot(a: AuditResult, trials: readonly Trial[]): string {
  const ins = trials.filter((t) => t.member).map((t) => t.score);
  const outs = trials.filter((t) => !t.member).map((t) => t.score);
  const all = [...ins, ...outs].filter(Number.isFinite).sort((p, q) => p - q);
  // the central 99.8%: a few extreme scores would squeeze the rest into one bin
  const lo = all[Math.floor(all.length * 0.001)] ?? 0;
  const hi = all[Math.min(all.length - 1, Math.ceil(all.length * 0.999))] ?? 1;
  const count = Math.max(10, Math.min(60, Math.round(Math.sqrt(all.length))));
  const width = (hi - lo) / count || 1;
  const ci = bins(ins, lo, width, count);
  const co = bins(outs, lo, width, count);
  const top = Math.max(...ci.map((c) => c / Math.max(1, ins.length)), ...co.map((c) => c / Math.max(1, outs.length)), 1e-9);
  const px = (i: number) => (M.left + (i / count) * (W - M.left - M.right)).toFixed(1);
  const py = (v: number) => (H - M.bottom - (v / top) * (H - M.top - M.bottom)).toFixed(1);
  const sx = (s: number) => M.left + ((s - lo) / (hi - lo || 1)) * (W - M.left - M.right);
  const t = a.test;
  const line =
    t.kind === 'threshold' && Number.isFinite(t.threshold) && t.threshold >= lo && t.threshold <= hi
      ? `<line x1="${sx(t.threshold).toFixed(1)}" y1="${M.top}" x2="${sx(t.threshold).toFixed(1)}" y2="${H - M.bottom}" stroke="#333" stroke-dasharray="4 3"/>` +
        `<text x="${(sx(t.threshold) + 4).toFixed(1)}" y="${M.top + 12}" font-size="11">threshold ${fmt(t.threshold)}</text>`
      : '';
  const verdictColor = a.verdict === 'consistent' ? '#2a7d2a' : '#c0392b';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="20" font-size="14">dpzo audit (${a.setting}): claimed ε = ${fmt(a.claimedEpsilon)}, lower bound ε ≥ ${fmt(a.epsilonLowerBound)} (${a.confidence * 100}%)</text>`,
    `<text x="${M.left}" y="38" font-size="12" fill="${verdictColor}">${a.verdict} · ${a.runs} run(s) × ${a.canaries} canaries · δ = ${a.delta}</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#000"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#000"/>`,
    `<path d="${outline(co, outs.length, px, py)}" fill="#1f77b4" fill-opacity="0.35" stroke="#1f77b4"/>`,
    `<path d="${outline(ci, ins.length, px, py)}" fill="#ff7f0e" fill-opacity="0.35" stroke="#ff7f0e"/>`,
    line,
    `<text x="${M.left}" y="${H - 24}" font-size="11">${fmt(lo)}</text>`,
    `<text x="${W - M.right}" y="${H - 24}" font-size="11" text-anchor="end">${fmt(hi)}</text>`,
    `<text x="${(W + M.left) / 2}" y="${H - 8}" font-size="12" text-anchor="middle">canary score (log-likelihood ratio of its observed ĝ)</text>`,
    `<text x="14" y="${(H + M.top) / 2}" font-size="12" transform="rotate(-90 14 ${(H + M.top) / 2})" text-anchor="middle">fraction of trials</text>`,
    `<rect x="${W - 190}" y="${M.top}" width="12" height="12" fill="#ff7f0e" fill-opacity="0.5"/><text x="${W - 172}" y="${M.top + 10}" font-size="11">canary in (${ins.length})</text>`,
    `<rect x="${W - 190}" y="${M.top + 18}" width="12" height="12" fill="#1f77b4" fill-opacity="0.5"/><text x="${W - 172}" y="${M.top + 28}" font-size="11">canary out (${outs.length})</text>`,
    '</svg>',
    '',
  ].join('\n');
}

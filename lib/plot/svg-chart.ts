// defines: lineChart — stacked line-chart panels sharing one x axis, as a
// self-contained SVG string (no scripts, no external fonts), for the charts dpzo
// writes beside its results (a run's curves, the audit, the benches) so a person
// can open them in a browser instead of reading a table.

export interface Series {
  name: string;
  /** [x, y] pairs; non-finite y values break the line. */
  points: [number, number][];
  color: string;
  /** Draw markers at the points (sparse series such as evaluations). */
  markers?: boolean;
  dashed?: boolean;
}

export interface Panel {
  yLabel: string;
  series: Series[];
  /** A horizontal reference line (e.g. the ε budget). */
  rule?: { y: number; label: string; color: string };
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  panels: Panel[];
  width?: number;
  panelHeight?: number;
}

const MARGIN = { left: 78, right: 150, top: 40, bottom: 44, gap: 26 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Where v lies in [lo, hi], 0..1; halves first, as hi - lo overflows to ∞ for values beyond ±9e307 (the points became NaN). */
export function frac(v: number, lo: number, hi: number): number {
  return (v / 2 - lo / 2) / (hi / 2 - lo / 2);
}

/** Round-number ticks covering [lo, hi] (about `n` of them, `minStep` apart at least). */
export function niceTicks(lo: number, hi: number, n = 5, minStep = 0): number[] {
  if (!(hi > lo)) return [lo];
  // hi / n - lo / n: hi - lo overflows to ∞ for values beyond ±9e307
  const raw = Math.max(hi / n - lo / n, minStep);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw && (minStep === 0 || Number.isInteger(s / minStep))) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/**
 * The labels of ticks `ts` (evenly spaced): as many digits as their spacing needs, so neighbours never read the same and
 * each reads its own value (4 significant digits labelled ticks 0.0002 apart 1.671, 1.671, 1.671, 1.672, and
 * toExponential(1) labelled 12500 '1.3e+4').
 */
export function tickLabels(ts: number[]): string[] {
  const step = ts.length > 1 ? Math.abs(ts[1]! - ts[0]!) : 0;
  const big = Math.max(0, ...ts.map(Math.abs));
  // the step's last significant digit, one further for a step such as 2.5 or 0.25
  const stepExp = step > 0 ? Math.floor(Math.log10(step)) : 0;
  const lastDigit = step > 0 && Math.abs(step / 10 ** stepExp - Math.round(step / 10 ** stepExp)) > 1e-9 ? stepExp - 1 : stepExp;
  // whole numbers below 1e7 as they are (step 20000, not 2.0e+4)
  const whole = big < 1e7 && ts.every((t) => Number.isInteger(t));
  const exponential = !whole && (big >= 1e4 || (big < 1e-3 && big !== 0));
  return ts.map((t) => {
    if (t === 0) return '0';
    if (step === 0) return exponential ? t.toExponential(1) : String(Number(t.toPrecision(4)));
    if (exponential) return t.toExponential(Math.min(20, Math.max(1, Math.floor(Math.log10(Math.abs(t))) - lastDigit)));
    return String(Number(t.toFixed(Math.min(20, Math.max(0, -lastDigit)))));
  });
}

function extent(values: number[]): [number, number] {
  // a loop, not Math.min(...values): spreading the ~3 values per step of a 40,000-step run overflowed the stack
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 760;
  const ph = spec.panelHeight ?? 170;
  // each panel's y range and tick labels first: the left margin widens to the longest label (about 7 px a character
  // at 12 px, after the rotated axis title), where labels such as 1.00000000025e+6 started left of the image
  const yAxes = spec.panels.map((panel) => {
    const [y0, y1] = extent(panel.series.flatMap((s) => s.points.map(([, y]) => y)).concat(panel.rule ? [panel.rule.y] : []));
    const ticks = niceTicks(y0, y1);
    return { y0, y1, ticks, labels: tickLabels(ticks) };
  });
  const left = Math.max(MARGIN.left, 30 + 7 * Math.max(0, ...yAxes.flatMap((a) => a.labels.map((l) => l.length))));
  const plotW = width - left - MARGIN.right;
  const height = MARGIN.top + spec.panels.length * (ph + MARGIN.gap) - MARGIN.gap + MARGIN.bottom;
  const xs = spec.panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const [x0, x1] = extent(xs);
  const sx = (x: number): number => left + frac(x, x0, x1) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  spec.panels.forEach((panel, i) => {
    const top = MARGIN.top + i * (ph + MARGIN.gap);
    const { y0, y1, ticks: yTicks, labels: yLabels } = yAxes[i]!;
    const sy = (y: number): number => top + ph - frac(y, y0, y1) * ph;
    out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${ph}" fill="none" stroke="#999"/>`);
    yLabels.forEach((l, k) => {
      const y = sy(yTicks[k]!).toFixed(1);
      out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#eee"/>`);
      out.push(`<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${l}</text>`);
    });
    out.push(`<text transform="translate(16 ${top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(panel.yLabel)}</text>`);
    if (panel.rule) {
      const y = sy(panel.rule.y).toFixed(1);
      out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="${esc(panel.rule.color)}" stroke-dasharray="6 4"/>`);
      // inside the plot, above the line at its left end: the right margin holds the legend
      out.push(`<text x="${left + 6}" y="${(Number(y) - 5).toFixed(1)}" fill="${esc(panel.rule.color)}">${esc(panel.rule.label)}</text>`);
    }
    panel.series.forEach((s, k) => {
      // a non-finite value breaks the line into runs
      const runs: string[][] = [[]];
      for (const [x, y] of s.points) {
        if (Number.isFinite(x) && Number.isFinite(y)) runs[runs.length - 1].push(`${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
        else if (runs[runs.length - 1].length > 0) runs.push([]);
      }
      for (const r of runs.filter((r) => r.length > 0))
        out.push(`<polyline fill="none" stroke="${esc(s.color)}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''} points="${r.join(' ')}"/>`);
      // a run of one point is no line (a polyline of one point draws nothing: a 1-step run's ĝ was invisible): a marker
      for (const r of runs)
        if (s.markers || r.length === 1) for (const p of r) out.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${esc(s.color)}"/>`);
      const ly = top + 14 + k * 16;
      out.push(`<line x1="${left + plotW + 6}" x2="${left + plotW + 22}" y1="${ly}" y2="${ly}" stroke="${esc(s.color)}" stroke-width="2"/>`);
      out.push(`<text x="${left + plotW + 26}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`);
    });
  });
  const bottom = MARGIN.top + spec.panels.length * (ph + MARGIN.gap) - MARGIN.gap;
  // x values all integers (steps): no tick between two of them (a 3-step run's axis read 0, 0.5, 1, 1.5, ...)
  const xTicks = niceTicks(x0, x1, 8, xs.every((x) => !Number.isFinite(x) || Number.isInteger(x)) ? 1 : 0);
  tickLabels(xTicks).forEach((l, k) => out.push(`<text x="${sx(xTicks[k]!).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${l}</text>`));
  out.push(`<text x="${left + plotW / 2}" y="${bottom + 36}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

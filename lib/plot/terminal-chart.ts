// defines: terminalChart — a small line chart drawn with text characters, so a
// run's held-out metric and ε against the step can be looked at right in the
// terminal (`dpzo report`, `dpzo eval --run`, the demo), next to the SVG file.
import { DpzoError } from '../errors.js';
import { frac } from './svg-chart.js';

/** One line of a {@link terminalChart}. */
export interface TextSeries {
  name: string;
  /** [x, y] pairs in increasing x; non-finite y values are skipped. */
  points: [number, number][];
  /** The character the points are drawn with (one column wide). */
  mark: string;
}

/** What {@link terminalChart} draws. */
export interface TextChartSpec {
  title: string;
  series: TextSeries[];
  /** Plot columns (default 56) and rows (default 8). */
  width?: number;
  height?: number;
  /** y range; default the data's, padded when flat. */
  yMin?: number;
  yMax?: number;
  /** Formats a y tick (default 3 significant digits). */
  format?: (y: number) => string;
}

/**
 * The chart as lines of text: y ticks on the left, the series drawn with their marks (linear between
 * points, the points themselves where columns meet them), x ticks and a legend below. Empty when no
 * series has a finite point.
 */
export function terminalChart(spec: TextChartSpec): string[] {
  const W = spec.width ?? 56;
  const H = spec.height ?? 8;
  // a width of 1 divided by W - 1 = 0 and threw a bare TypeError; 0 or 2.5 drew nothing sensible
  for (const [name, v] of [
    ['width', W],
    ['height', H],
  ] as const)
    if (!(Number.isInteger(v) && v >= 2 && v <= 10_000))
      throw new DpzoError('ERR_ARGUMENT', `terminalChart: ${name} must be an integer in [2, 10000] (got ${v})`);
  const pts = spec.series.map((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const all = pts.flat();
  if (all.length === 0) return [];
  // loops, not Math.min(...xs): spreading a long run's points overflowed the stack
  let [x0, x1, yLo, yHi] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [x, y] of all) {
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    yLo = Math.min(yLo, y);
    yHi = Math.max(yHi, y);
  }
  let y0 = spec.yMin ?? yLo;
  let y1 = spec.yMax ?? yHi;
  // a yMin above every point (or a yMax below) turned the axis upside down (top label below the bottom one)
  if (y1 < y0) {
    if (spec.yMin !== undefined && spec.yMax !== undefined) throw new DpzoError('ERR_ARGUMENT', `terminalChart: yMax (${y1}) is below yMin (${y0})`);
    if (spec.yMin !== undefined) y1 = y0;
    else y0 = y1;
  }
  // flat (relative to the values: 1e6 and 1e6 + 1e-9 were drawn from the bottom row to the top, every label 1.00e+6); the pad
  // puts the value on the labelled middle row (centred between two rows, a flat series was drawn on both)
  if (y1 - y0 <= 1e-9 * Math.max(Math.abs(y0), Math.abs(y1))) {
    const v = spec.yMin !== undefined ? y0 : spec.yMax !== undefined ? y1 : (y0 + y1) / 2;
    const unit = (Math.abs(v) * 0.1 || 1) / (H - 1);
    const above = spec.yMin !== undefined ? H - 1 : spec.yMax !== undefined ? 0 : Math.floor((H - 1) / 2);
    y0 = v - (H - 1 - above) * unit;
    y1 = v + above * unit;
  }
  // enough digits that the labels differ (3 significant digits labelled 1e6 .. 1e6 + 0.001 1.00e+6 three times)
  const digits = Math.min(15, Math.max(3, Math.ceil(Math.log10(Math.max(Math.abs(y0), Math.abs(y1)) / (y1 / 2 - y0 / 2) / 2)) + 2));
  const fmt = spec.format ?? ((y: number) => y.toPrecision(digits));
  const grid = Array.from({ length: H }, () => Array<string>(W).fill(' '));
  // frac, and mixes below: differences of values beyond ±9e307 overflow to ∞ (a TypeError on a row that does not exist)
  const col = (x: number) => (x1 === x0 ? 0 : Math.round(frac(x, x0, x1) * (W - 1)));
  const row = (y: number) => H - 1 - Math.round(frac(Math.min(y1, Math.max(y0, y)), y0, y1) * (H - 1));
  const mix = (a: number, b: number, t: number) => a * (1 - t) + b * t;
  spec.series.forEach((s, k) => {
    const p = pts[k]!;
    if (p.length === 0) return;
    // the line between points, one cell per column, then the points over it
    for (let i = 0; i + 1 < p.length; i++) {
      const [xa, ya] = p[i]!;
      const [xb, yb] = p[i + 1]!;
      for (let c = col(xa); c <= col(xb); c++) {
        // the column's x, kept inside the segment (points that share a column would extrapolate)
        const x = Math.min(xb, Math.max(xa, mix(x0, x1, c / (W - 1))));
        const y = xb === xa ? yb : mix(ya, yb, frac(x, xa, xb));
        if (grid[row(y)]![c] === ' ') grid[row(y)]![c] = '·';
      }
    }
    for (const [x, y] of p) grid[row(y)]![col(x)] = clean(s.mark);
  });
  const labels = grid.map((_, r) => (r === 0 ? fmt(y1) : r === H - 1 ? fmt(y0) : r === Math.floor((H - 1) / 2) ? fmt(mix(y1, y0, r / (H - 1))) : ''));
  const lw = Math.max(...labels.map((l) => l.length));
  // an integer (a step) whole, else at most 6 significant digits, and a space between (0.1 + 0.2 and 123456789012 ran together)
  const xText = (x: number) => (Number.isSafeInteger(x) ? String(x) : String(Number(x.toPrecision(6))));
  const xl = xText(x0);
  const xr = x1 === x0 ? '' : xText(x1);
  return [
    clean(spec.title),
    ...grid.map((cells, r) => `${labels[r]!.padStart(lw)} ┤${cells.join('')}`),
    `${' '.repeat(lw)} └${'─'.repeat(W)}`,
    `${' '.repeat(lw + 2)}${xl}${xr.padStart(Math.max(W - xl.length, xr.length + 1))}`,
    `${' '.repeat(lw + 2)}${spec.series.map((s) => `${clean(s.mark)} ${clean(s.name)}`).join('   ')}`,
  ];
}

/** Text for the terminal without its control characters (a metric name or title from a file could carry escape sequences). */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex -- the control characters are what is removed
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

// defines: terminalChart — a small line chart drawn with text characters, so a
// run's held-out metric and ε against the step can be looked at right in the
// terminal (`dpzo report`, `dpzo eval --run`, the demo), next to the SVG file.

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
  if (y1 - y0 < 1e-12) {
    const pad = Math.abs(y0) * 0.05 || 0.5;
    y0 -= pad;
    y1 += pad;
  }
  const fmt = spec.format ?? ((y: number) => y.toPrecision(3));
  const grid = Array.from({ length: H }, () => Array<string>(W).fill(' '));
  const col = (x: number) => (x1 === x0 ? 0 : Math.round(((x - x0) / (x1 - x0)) * (W - 1)));
  const row = (y: number) => H - 1 - Math.round(((Math.min(y1, Math.max(y0, y)) - y0) / (y1 - y0)) * (H - 1));
  spec.series.forEach((s, k) => {
    const p = pts[k]!;
    if (p.length === 0) return;
    // the line between points, one cell per column, then the points over it
    for (let i = 0; i + 1 < p.length; i++) {
      const [xa, ya] = p[i]!;
      const [xb, yb] = p[i + 1]!;
      for (let c = col(xa); c <= col(xb); c++) {
        // the column's x, kept inside the segment (points that share a column would extrapolate)
        const x = Math.min(xb, Math.max(xa, x0 + ((x1 - x0) * c) / (W - 1)));
        const y = xb === xa ? yb : ya + ((yb - ya) * (x - xa)) / (xb - xa);
        if (grid[row(y)]![c] === ' ') grid[row(y)]![c] = '·';
      }
    }
    for (const [x, y] of p) grid[row(y)]![col(x)] = s.mark;
  });
  const labels = grid.map((_, r) => (r === 0 ? fmt(y1) : r === H - 1 ? fmt(y0) : r === Math.floor((H - 1) / 2) ? fmt(y1 - ((y1 - y0) * r) / (H - 1)) : ''));
  const lw = Math.max(...labels.map((l) => l.length));
  const xl = String(x0);
  const xr = String(x1);
  return [
    spec.title,
    ...grid.map((cells, r) => `${labels[r]!.padStart(lw)} ┤${cells.join('')}`),
    `${' '.repeat(lw)} └${'─'.repeat(W)}`,
    `${' '.repeat(lw + 2)}${xl}${xr.padStart(W - xl.length)}`,
    `${' '.repeat(lw + 2)}${spec.series.map((s) => `${s.mark} ${s.name}`).join('   ')}`,
  ];
}

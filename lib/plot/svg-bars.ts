// defines: stackedBars — horizontal stacked bars as a self-contained SVG (one bar per
// row, one coloured segment per component, the total at the bar's end), for
// measurements a person compares at a glance (`dpzo bench memory`).

export interface BarSegment {
  name: string;
  value: number;
  color: string;
}

export interface Bar {
  label: string;
  segments: BarSegment[];
  /** Text after the bar (default: the total in `format`). */
  note?: string;
}

export interface BarChartSpec {
  title: string;
  /** Formats a value for the axis and the totals. */
  format: (v: number) => string;
  bars: Bar[];
  width?: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A segment that can be drawn: a finite value above 0 (an infinite one scaled every bar to 0 and wrote NaN coordinates). */
const drawn = (s: BarSegment): boolean => Number.isFinite(s.value) && s.value > 0;

export function stackedBars(spec: BarChartSpec): string {
  const width = spec.width ?? 760;
  const left = 130;
  const right = 170;
  const rowH = 34;
  const top = 44;
  const names = [...new Set(spec.bars.flatMap((b) => b.segments.filter(drawn).map((s) => s.name)))];
  const legendH = 24;
  const height = top + spec.bars.length * rowH + 30 + legendH;
  const max = Math.max(1e-300, ...spec.bars.map((b) => b.segments.reduce((a, s) => a + (drawn(s) ? s.value : 0), 0)));
  const plotW = width - left - right;
  const sx = (v: number): number => (v / max) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  spec.bars.forEach((b, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${left - 8}" y="${y + rowH / 2}" text-anchor="end" dominant-baseline="middle">${esc(b.label)}</text>`);
    let x = left;
    for (const s of b.segments) {
      if (!drawn(s)) continue;
      const w = sx(s.value);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y + 6}" width="${w.toFixed(1)}" height="${rowH - 12}" fill="${esc(s.color)}"><title>${esc(`${s.name}: ${spec.format(s.value)}`)}</title></rect>`,
      );
      x += w;
    }
    const total = b.segments.reduce((a, s) => a + (drawn(s) ? s.value : 0), 0);
    out.push(`<text x="${(x + 6).toFixed(1)}" y="${y + rowH / 2}" dominant-baseline="middle">${esc(b.note ?? spec.format(total))}</text>`);
  });
  const ly = top + spec.bars.length * rowH + 24;
  let lx = left;
  for (const n of names) {
    const color = spec.bars.flatMap((b) => b.segments).find((s) => s.name === n)!.color;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${esc(color)}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly}" dominant-baseline="alphabetic">${esc(n)}</text>`);
    lx += 30 + n.length * 7;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// lineChart (lib/plot/svg-chart.ts), the SVG chart behind curves.svg, the audit and pretrain charts:
// edge cases a long or unusual run meets.
import { describe, expect, it } from 'vitest';

import { stackedBars } from '../../../lib/plot/svg-bars.js';
import { lineChart, niceTicks, tickLabels } from '../../../lib/plot/svg-chart.js';
import { terminalChart } from '../../../lib/plot/terminal-chart.js';

const wave = (n: number) => Array.from({ length: n }, (_, i): [number, number] => [i, Math.sin(i)]);

describe('charts of long runs', () => {
  it('draw 200,000 points (Math.min(...values) overflowed the stack from about 40,000 steps: dpzo report and train failed)', () => {
    const points = wave(200_000);
    const svg = lineChart({ title: 't', xLabel: 'step', panels: [{ yLabel: 'y', series: [{ name: 'n', color: 'red', points }] }] });
    expect(svg).toContain('<polyline');
    const lines = terminalChart({ title: 't', series: [{ name: 'n', mark: '●', points }] });
    expect(lines.length).toBeGreaterThan(8);
  });
});

/** The y tick labels of a one-panel chart, top to bottom, with their pixel positions (x: where the label ends). */
function yTicks(svg: string): { label: string; x: number; y: number }[] {
  return [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" text-anchor="end"[^>]*>([^<]*)<\/text>/g)].map((m) => ({
    label: m[3]!,
    x: Number(m[1]),
    y: Number(m[2]),
  }));
}

describe('tick labels', () => {
  for (const [name, lo, hi] of [
    ['a held-out loss that barely moves', 1.67096, 1.67173],
    ['steps in the ten thousands', 10_000, 20_000],
    ['values near a million', 1e6, 1e6 + 0.001],
    ['tiny values', 0, 1e-5],
    ['a quarter step', 0.45, 0.55],
  ] as const) {
    it(`${name}: each label reads its own tick's value, no two alike (4 significant digits or toExponential(1) repeated or rounded them)`, () => {
      const svg = lineChart({
        title: 't',
        xLabel: 'x',
        panels: [
          {
            yLabel: 'y',
            series: [
              {
                name: 'n',
                color: 'red',
                points: [
                  [0, lo],
                  [1, hi],
                ],
              },
            ],
          },
        ],
      });
      const ticks = yTicks(svg);
      expect(ticks.length).toBeGreaterThan(1);
      expect(new Set(ticks.map((t) => t.label)).size).toBe(ticks.length);
      // the label's value is where it is drawn: y pixel linear in the labelled value (top 40, bottom 210 are lo and hi)
      for (const t of ticks) expect(t.y).toBeCloseTo(210 - ((Number(t.label) - lo) / (hi - lo)) * 170, 0);
      // and starts inside the image, right of the rotated axis title (7 px a character at 12 px; 1.00000000025e+6 began left of x = 0)
      for (const t of ticks) expect(t.x - 7 * t.label.length, t.label).toBeGreaterThanOrEqual(24);
      const ts = niceTicks(lo, hi);
      tickLabels(ts).forEach((l, k) => expect(Number(l)).toBeCloseTo(ts[k]!, 12 - Math.floor(Math.log10(Math.abs(ts[k]!) || 1))));
    });
  }
});

describe('what a chart shows', () => {
  it('a series of one point is drawn (a one-point polyline drew nothing: the ĝ of a 1-step run was invisible)', () => {
    const svg = lineChart({ title: 't', xLabel: 'x', panels: [{ yLabel: 'y', series: [{ name: 'n', color: 'red', points: [[1, 0.5]] }] }] });
    expect(svg).toMatch(/<circle [^>]*fill="red"/);
  });

  it('colours are escaped like every other attribute', () => {
    const svg = lineChart({
      title: 't',
      xLabel: 'x',
      panels: [
        {
          yLabel: 'y',
          series: [
            {
              name: 'n',
              color: 'red" onload="x',
              points: [
                [0, 1],
                [1, 2],
              ],
            },
          ],
        },
      ],
    });
    expect(svg).not.toContain('" onload="');
  });
});

describe('stackedBars', () => {
  it('an infinite or NaN segment is left out (an infinite one made every bar 0 wide and wrote NaN coordinates)', () => {
    const svg = stackedBars({
      title: 't',
      format: (v) => `${v} B`,
      bars: [
        {
          label: 'a',
          segments: [
            { name: 'w', value: Infinity, color: 'red' },
            { name: 'x', value: 5, color: 'blue' },
          ],
        },
        {
          label: 'b',
          segments: [
            { name: 'w', value: NaN, color: 'red' },
            { name: 'x', value: 10, color: 'blue' },
          ],
        },
      ],
    });
    expect(svg).not.toMatch(/NaN|Infinity/);
    const widths = [...svg.matchAll(/<rect x="[\d.]+" y="\d+" width="([\d.]+)" height="22"/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(2);
    expect(widths[1]! / widths[0]!).toBeCloseTo(2, 5);
  });
});

describe('x ticks', () => {
  it('integer x values (steps) get integer ticks (a 3-step run read 0, 0.5, 1, 1.5, ...; 0..20 read 2.5, 7.5)', () => {
    for (const [hi, want] of [
      [3, ['0', '1', '2', '3']],
      [20, ['0', '5', '10', '15', '20']],
    ] as const) {
      const points = Array.from({ length: hi + 1 }, (_, i): [number, number] => [i, i * i]);
      const svg = lineChart({ title: 't', xLabel: 'step', panels: [{ yLabel: 'y', series: [{ name: 'n', color: 'red', points }] }] });
      const labels = [...svg.matchAll(/<text x="[\d.]+" y="\d+" text-anchor="middle">([-\d.e+]+)<\/text>/g)].map((m) => m[1]);
      expect(labels).toEqual(want);
    }
    expect(niceTicks(0, 3, 8)).toContain(0.5); // non-integer data keeps its fine ticks
    // whole ticks below 1e7 written whole (a 50,000-step run's axis read 1.0e+4, 2.0e+4, ...)
    expect(tickLabels([0, 10_000, 20_000, 30_000])).toEqual(['0', '10000', '20000', '30000']);
  });
});

describe('values near the largest double', () => {
  it('±1.5e308 are drawn where they lie (hi - lo overflowed to ∞: NaN coordinates in the SVG, a TypeError in the terminal chart)', () => {
    const points: [number, number][] = [
      [0, -1.5e308],
      [1, 0],
      [2, 1.5e308],
    ];
    const svg = lineChart({ title: 't', xLabel: 'x', panels: [{ yLabel: 'y', series: [{ name: 'n', color: 'red', points }] }] });
    expect(svg).not.toContain('NaN');
    const ys = svg
      .match(/<polyline [^>]*points="([^"]+)"/)![1]!
      .split(' ')
      .map((p) => Number(p.split(',')[1]));
    expect(ys).toEqual([210, 125, 40]);
    const g = terminalChart({ title: 't', width: 3, height: 3, series: [{ name: 'n', mark: '●', points }] });
    expect(g.slice(1, 4).map((l) => l.slice(l.indexOf('┤') + 1))).toEqual(['  ●', ' ● ', '●  ']);
  });
});

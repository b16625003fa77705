// terminalChart (lib/plot/terminal-chart.ts), the text chart that dpzo report, dpzo eval --run and
// the demo print: points land in the right cell, lines stay between their points (dense series
// whose points share a column once drew stray dots far off the curve), ticks and legend are there.
import { describe, expect, it } from 'vitest';

import { terminalChart } from '../../../lib/plot/terminal-chart.js';

/** The plot area: the rows between the title and the x axis, without the y labels. */
function cells(lines: string[]): string[] {
  return lines
    .slice(
      1,
      lines.findIndex((l) => l.includes('└')),
    )
    .map((l) => l.slice(l.indexOf('┤') + 1));
}

describe('terminalChart', () => {
  it('puts each point in the row and column of its value, with the range on the y axis and the x range below', () => {
    const lines = terminalChart({
      title: 't',
      width: 11,
      height: 5,
      series: [
        {
          name: 'acc',
          mark: '●',
          points: [
            [0, 0],
            [5, 1],
            [10, 0.5],
          ],
        },
      ],
    });
    const g = cells(lines);
    expect(g).toHaveLength(5);
    expect(g[4]![0]).toBe('●'); // (0, 0): bottom left
    expect(g[0]![5]).toBe('●'); // (5, 1): top middle
    expect(g[2]![10]).toBe('●'); // (10, 0.5): middle right
    expect(lines[1]).toMatch(/^\s*1\.00 ┤/);
    expect(lines[5]).toMatch(/^\s*0\.00 ┤/);
    expect(lines.at(-2)!.trim()).toMatch(/^0\s+10$/);
    expect(lines.at(-1)).toContain('● acc');
  });

  it('draws a dense staircase (ε as the accountant updates it) without marks off the curve', () => {
    // ε rises in steps every 60 releases: points that share a column used to be extrapolated along a jump
    const points = Array.from({ length: 3001 }, (_, i): [number, number] => [i, Math.sqrt((60 * Math.floor(i / 60)) / 3000)]);
    const g = cells(terminalChart({ title: 'ε', width: 40, height: 8, yMin: 0, series: [{ name: 'ε', mark: '▪', points }] }));
    // every column's marks lie within one row of the curve's value there
    for (let c = 0; c < 40; c++) {
      const y = Math.sqrt((60 * Math.floor((c / 39) * 50)) / 3000);
      const expected = 7 - Math.round(y * 7);
      for (let r = 0; r < 8; r++) if (g[r]![c] !== ' ') expect(Math.abs(r - expected), `column ${c} row ${r}`).toBeLessThanOrEqual(1);
    }
  });

  it('is empty without a finite point, and pads a flat series so it is drawn', () => {
    expect(terminalChart({ title: 't', series: [{ name: 'x', mark: '●', points: [[0, NaN]] }] })).toEqual([]);
    const g = cells(
      terminalChart({
        title: 't',
        width: 5,
        height: 3,
        series: [
          {
            name: 'x',
            mark: '●',
            points: [
              [0, 2],
              [4, 2],
            ],
          },
        ],
      }),
    );
    expect(g[1]).toBe('●●●●●'.replace(/^(.)(...)(.)$/, '●···●'));
  });
});

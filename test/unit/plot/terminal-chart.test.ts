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

describe('terminalChart edge cases', () => {
  const line = (points: [number, number][], extra: Partial<Parameters<typeof terminalChart>[0]> = {}) =>
    terminalChart({ title: 't', width: 10, height: 4, series: [{ name: 'a', mark: '●', points }], ...extra });
  const yLabels = (lines: string[]) =>
    lines
      .slice(
        1,
        lines.findIndex((l) => l.includes('└')),
      )
      .map((l) => l.slice(0, l.indexOf('┤')).trim());

  it('a width or height below 2 is ERR_ARGUMENT (width 1 was a bare TypeError: W - 1 = 0 made every column NaN)', () => {
    expect(() =>
      line(
        [
          [0, 0],
          [1, 1],
        ],
        { width: 1 },
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
    expect(() =>
      line(
        [
          [0, 0],
          [1, 1],
        ],
        { height: 1 },
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
    expect(() =>
      line(
        [
          [0, 0],
          [1, 1],
        ],
        { width: 2.5 },
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
  });

  it('a yMin above every point keeps the axis the right way up (the top label was below the bottom one)', () => {
    const labels = yLabels(
      line(
        [
          [0, -5],
          [1, -3],
        ],
        { yMin: 0 },
      ),
    );
    expect(Number(labels[0])).toBeGreaterThan(Number(labels.at(-1)));
  });

  it('a flat series is drawn on one row, labelled with its value (with an even height it straddled two rows)', () => {
    for (const v of [2, 1e6]) {
      const lines = line([
        [0, v],
        [1, v * (1 + 1e-13)],
        [2, v],
      ]);
      const g = cells(lines);
      const rows = g.map((r, i) => (r.trim() === '' ? -1 : i)).filter((i) => i >= 0);
      expect(rows, lines.join('\n')).toHaveLength(1);
      expect(Number(yLabels(lines)[rows[0]!])).toBe(v);
    }
  });

  it('values that differ in the 9th digit get labels that differ (1e6 .. 1e6 + 0.001 read 1.00e+6 on every labelled row)', () => {
    const labels = yLabels(
      line([
        [0, 1e6],
        [1, 1e6 + 0.001],
      ]),
    ).filter(Boolean);
    expect(new Set(labels).size).toBe(labels.length);
  });

  it('strips control characters from the title, names and marks (an escape sequence from a metrics file reached the terminal)', () => {
    const lines = terminalChart({
      title: 'held-out \u001b]0;x\u0007',
      series: [
        {
          name: 'a\u001b[2J',
          mark: '●',
          points: [
            [0, 0],
            [1, 1],
          ],
        },
      ],
    });
    // eslint-disable-next-line no-control-regex -- control characters are what must not be there
    for (const l of lines) expect(l).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('keeps the x labels apart (0.1 + 0.2 and 123456789012 ran together into one number)', () => {
    const lines = line([
      [0.1 + 0.2, 0],
      [123456789012, 1],
    ]);
    expect(lines.at(-2)!.trim().split(/\s+/).map(Number)).toEqual([0.3, 123456789012]);
    // an integer x (a step) is written whole
    expect(
      line([
        [0, 0],
        [1_234_567, 1],
      ])
        .at(-2)!
        .trim()
        .split(/\s+/),
    ).toEqual(['0', '1234567']);
  });
});

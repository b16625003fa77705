// lineChart (lib/plot/svg-chart.ts), the SVG chart behind curves.svg, the audit and pretrain charts:
// edge cases a long or unusual run meets.
import { describe, expect, it } from 'vitest';

import { lineChart } from '../../../lib/plot/svg-chart.js';
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

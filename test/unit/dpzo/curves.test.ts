// curves.svg (issue 16): the chart is drawn from the released values and public evaluations only, the
// latest line of a step wins (a resumed run appends), a torn tail is skipped, a corrupt line is named,
// and the drawn points follow the data (the ε line rises where ε rises, the budget rule sits at ε).
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { readRunMetrics, runCurves, writeCurves } from '../../../lib/dpzo/curves.js';
import { runCharts } from '../../../lib/dpzo/curves-text.js';
import { lineChart, niceTicks } from '../../../lib/plot/svg-chart.js';
import { makeTempDir } from '../../helpers/checkpoints.js';

const tmp = makeTempDir('dpzo-curves-');
afterAll(() => tmp.cleanup());

const step = (s: number, eps: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'step', step: s, lr: 1e-3, gHat: [Math.sin(s)], epsilon: eps, epsilonRdp: eps * 1.2, ...extra });
const evalLine = (s: number, loss: number) => JSON.stringify({ type: 'eval', step: s, metric: 'loss', value: loss, loss, examples: 10 });

/** The y pixel coordinates of the polyline following the legend entry `name` in panel order. */
function polylineYs(svg: string, index: number): number[] {
  const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]);
  return lines[index].split(' ').map((p) => Number(p.split(',')[1]));
}

describe('run curves', () => {
  it('nice ticks', () => {
    expect(niceTicks(0, 8)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0.13, 0.97)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(-3, 3, 6)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
  });

  it('reads a resumed run (latest line of a step wins), skips a torn tail, names a corrupt line', () => {
    const f = join(tmp.dir, 'metrics.jsonl');
    writeFileSync(f, [evalLine(0, 5), step(0, 1), step(1, 2), step(1, 2.5), step(2, 3), evalLine(3, 4)].join('\n') + '\n{"type":"st');
    const m = readRunMetrics(f);
    expect(m.steps.map((s) => s.epsilon)).toEqual([1, 2.5, 3]);
    expect(m.evals.map((e) => e.loss)).toEqual([5, 4]);
    const bad = join(tmp.dir, 'bad.jsonl');
    writeFileSync(bad, step(0, 1) + '\nnot json\n');
    expect(() => readRunMetrics(bad)).toThrow(/bad\.jsonl: line 2 is not JSON/);
  });

  it('the ε line follows ε, the budget rule is at the budget, private statistics change nothing', () => {
    const eps = [1, 2, 2, 3.5, 4];
    const lines = eps.map((e, s) => step(s, e));
    const f = join(tmp.dir, 'm2.jsonl');
    writeFileSync(f, [evalLine(0, 5), ...lines, evalLine(5, 4.5)].join('\n') + '\n');
    const svg = lineChart(runCurves(readRunMetrics(f), { epsilon: 8, delta: 1e-5 }, 'pld'));
    // polylines in order: held-out loss, ĝ, ε (PLD), ε (RDP)
    const ys = polylineYs(svg, 2);
    expect(ys).toHaveLength(eps.length + 1); // ε = 0 before the first release
    for (let i = 1; i < ys.length; i++) {
      const prev = i === 1 ? 0 : eps[i - 2];
      expect(Math.sign(ys[i - 1] - ys[i])).toBe(Math.sign(eps[i - 1] - prev)); // higher ε is drawn higher (smaller y)
    }
    expect(svg).toContain('budget ε = 8');
    expect(svg).toContain('ε (PLD)');
    const withPrivate = join(tmp.dir, 'm3.jsonl');
    writeFileSync(
      withPrivate,
      [evalLine(0, 5), ...eps.map((e, s) => step(s, e, { private: { loss: 9.87, batchSize: 11 } })), evalLine(5, 4.5)].join('\n') + '\n',
    );
    expect(lineChart(runCurves(readRunMetrics(withPrivate), { epsilon: 8, delta: 1e-5 }, 'pld'))).toBe(svg);
  });

  it('an accuracy run draws accuracy and loss; many directions draw their mean', () => {
    const f = join(tmp.dir, 'm4.jsonl');
    const acc = (s: number, a: number) => JSON.stringify({ type: 'eval', step: s, metric: 'accuracy', value: a, accuracy: a, loss: 1 - a, examples: 8 });
    writeFileSync(f, [acc(0, 0.5), JSON.stringify({ type: 'step', step: 0, gHat: [1, 2, 3, 4, 5, 6], epsilon: 1 }), acc(1, 0.75)].join('\n') + '\n');
    const spec = runCurves(readRunMetrics(f), { epsilon: 4, delta: 1e-5 }, 'rdp');
    expect(spec.panels.map((p) => p.yLabel)).toEqual(['held-out accuracy', 'held-out loss', 'released ĝ', 'ε spent (δ = 0.00001)']);
    expect(spec.panels[2].series).toHaveLength(1);
    expect(spec.panels[2].series[0].points).toEqual([[1, 3.5]]);
    expect(spec.panels[3].series.map((s) => s.name)).toEqual(['ε (RDP)']);
  });
});

describe('damaged metrics lines', () => {
  const good = [evalLine(0, 5), step(0, 1), step(1, 2)];
  for (const [name, line, why] of [
    ['null', 'null', /line 4: not a JSON object/],
    ['an array', '[1,2]', /line 4: not a JSON object/],
    ['a step without gHat', '{"type":"step","step":2,"epsilon":3}', /line 4: field 'gHat' is missing \(expected an array of numbers\)/],
    ['a step that is a string', '{"type":"step","step":"x","gHat":[1],"epsilon":1}', /line 4: field 'step' is not a non-negative integer/],
    ['ε a string', '{"type":"step","step":2,"gHat":[1],"epsilon":"SECRET"}', /line 4: field 'epsilon' is not a number/],
    ['an eval value a string', '{"type":"eval","step":3,"metric":"loss","value":"SECRET","loss":1}', /line 4: field 'value' is not a number/],
    ['an unknown metric', '{"type":"eval","step":3,"metric":"\\u001b[2J","value":1,"loss":1}', /line 4: field 'metric' is not 'accuracy', 'loss' or 'f1'/],
    ['a report without its plan', '{"type":"report","steps":2,"plannedSteps":2,"stopReason":"completed","private":true}', /line 4: field 'plan' is missing/],
    ['an unknown type', '{"type":"stp","step":2}', /line 4: field 'type' is not 'step', 'eval' or 'report'/],
  ] as const) {
    it(`${name}: ERR_RUN_CORRUPT naming the file, line and field, no value (was a bare TypeError or drawn as a number)`, () => {
      const f = join(tmp.dir, `damaged-${name.replace(/\W/g, '_')}.jsonl`);
      writeFileSync(f, [...good, line].join('\n') + '\n');
      let err: unknown;
      try {
        const m = readRunMetrics(f);
        lineChart(runCurves(m, { epsilon: 8, delta: 1e-5 }, 'pld'));
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ERR_RUN_CORRUPT' });
      expect(String((err as Error).message)).toMatch(why);
      expect(String((err as Error).message)).toContain(f);
      expect(String((err as Error).message)).not.toContain('SECRET');
    });
  }

  it('accepts what the trainer writes for NaN and ±∞ (null, "Infinity") and draws them as gaps', () => {
    const f = join(tmp.dir, 'nonfinite.jsonl');
    writeFileSync(
      f,
      [
        JSON.stringify({ type: 'eval', step: 0, metric: 'loss', value: null, loss: null }),
        JSON.stringify({ type: 'step', step: 0, gHat: ['Infinity', null], epsilon: 'Infinity', epsilonRdp: 'Infinity' }),
        evalLine(1, 4),
      ].join('\n') + '\n',
    );
    const m = readRunMetrics(f);
    expect(m.steps[0].epsilon).toBe(Infinity);
    // a step line of the first versions (no epsilon, only epsilonRdp) still reads
    const old = join(tmp.dir, 'first-version.jsonl');
    writeFileSync(old, JSON.stringify({ type: 'step', step: 0, loss: 1, lr: 1e-3, gHat: [0.5], epsilonRdp: 1 }) + '\n');
    expect(lineChart(runCurves(readRunMetrics(old), { epsilon: 8, delta: 1e-5 }, 'pld'))).toContain('<svg');
    expect(lineChart(runCurves(m, { epsilon: Infinity, delta: 1e-5 }, 'pld'))).toContain('<svg');
  });
});

describe('a non-private run (ε = ∞)', () => {
  it('its ε legend says ∞ (the panel showed only ε = 0 at step 0, as if nothing were spent)', () => {
    const f = join(tmp.dir, 'inf.jsonl');
    writeFileSync(f, [0, 1, 2].map((s) => JSON.stringify({ type: 'step', step: s, gHat: [1], epsilon: 'Infinity', epsilonRdp: 'Infinity' })).join('\n') + '\n');
    const spec = runCurves(readRunMetrics(f), { epsilon: Infinity, delta: 1e-5 }, 'pld');
    expect(spec.panels.at(-1)!.series.map((s) => s.name)).toEqual(['ε (PLD) = ∞', 'ε (RDP) = ∞']);
    expect(lineChart(spec)).toContain('ε (PLD) = ∞');
  });
});

describe('writeCurves', () => {
  it('a curves.svg it cannot replace is ERR_IO naming it, and no temporary file stays (a bare EISDIR named curves.svg.tmp)', () => {
    const dir = join(tmp.dir, 'run-curves-dir');
    mkdirSync(join(dir, 'curves.svg'), { recursive: true });
    writeFileSync(join(dir, 'metrics.jsonl'), [step(0, 1), step(1, 2)].join('\n') + '\n');
    expect(() => writeCurves(dir, { budget: { epsilon: 8, delta: 1e-5 }, accountant: 'pld' })).toThrow(
      expect.objectContaining({ code: 'ERR_IO', message: `${join(dir, 'curves.svg')}: cannot write the chart (EISDIR)` }),
    );
    expect(readdirSync(dir).sort()).toEqual(['curves.svg', 'metrics.jsonl']);
  });
});

describe('a long run', () => {
  it('200,000 steps draw (runCurves spread the steps into Math.max: a stack overflow from about 120,000)', () => {
    const f = join(tmp.dir, 'long.jsonl');
    writeFileSync(f, Array.from({ length: 200_000 }, (_, s) => step(s, Math.sqrt(s) / 100)).join('\n') + '\n');
    const m = readRunMetrics(f);
    expect(lineChart(runCurves(m, { epsilon: 8, delta: 1e-5 }, 'pld'))).toContain('<svg');
    expect(runCharts(m, 'pld').length).toBeGreaterThan(0);
  });
});

describe('writeCurves from two processes at once', () => {
  it('both succeed (they shared curves.svg.tmp: the later rename failed with ENOENT once the first had moved it)', async () => {
    const dir = join(tmp.dir, 'run-concurrent');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'metrics.jsonl'), Array.from({ length: 2000 }, (_, s) => step(s, Math.sqrt(s))).join('\n') + '\n');
    const script = [
      `import { writeCurves } from ${JSON.stringify(new URL('../../../lib/dpzo/curves.ts', import.meta.url).pathname)};`,
      `for (let i = 0; i < 30; i++) writeCurves(${JSON.stringify(dir)}, { budget: { epsilon: 8, delta: 1e-5 }, accountant: 'pld' });`,
    ].join('\n');
    const run = () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        c.on('close', (code) => resolve({ code, stderr }));
      });
    const rs = await Promise.all([run(), run(), run()]);
    for (const r of rs) expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['curves.svg', 'metrics.jsonl']);
  }, 60_000);
});

// defines: runCurves / writeCurves — the chart of a run (curves.svg in its run
// directory): the held-out metric, the released ĝ and ε spent against the step,
// read from metrics.jsonl (released values and public evaluations only: no
// private statistic is drawn, even when --private-diagnostics logged some).
// A resumed run's metrics continue in the same file; the latest line of a step wins.
import { join } from 'node:path';

import { DpzoError } from '../errors.js';
import { writeTextAtomic } from '../io/json-file.js';
import { infinityReviver } from '../io/json-infinity.js';
import { readJsonl } from '../io/jsonl.js';
import { type ChartSpec, type Panel, lineChart } from '../plot/svg-chart.js';
import type { TrainPlan } from './options.js';
import type { TrainReport } from './report.js';

export const CURVES_FILE = 'curves.svg';
export const METRICS_FILE = 'metrics.jsonl';

interface StepLine {
  type: 'step';
  step: number;
  gHat: number[];
  /** DP-SGD: ‖ĝ‖₂ of the released gradient (its gHat is empty). */
  gHatNorm?: number;
  epsilon: number;
  epsilonRdp?: number;
}
interface EvalLine {
  type: 'eval';
  step: number;
  metric: string;
  value: number;
  loss: number;
}
type MetricsLine = StepLine | EvalLine | ({ type: 'report' } & TrainReport);

export interface RunMetrics {
  steps: StepLine[];
  evals: EvalLine[];
  /** The last report (the run's latest end). */
  report?: TrainReport;
}

/** The lines of a metrics file; a line that is not JSON names the file and line (a torn tail is skipped). */
export function readRunMetrics(file: string): RunMetrics {
  const byStep = new Map<number, StepLine>();
  const byEval = new Map<number, EvalLine>();
  let report: TrainReport | undefined;
  readJsonl(file).lines.forEach((text, i) => {
    let line: MetricsLine;
    try {
      line = JSON.parse(text, infinityReviver) as MetricsLine;
    } catch {
      throw new DpzoError('ERR_RUN_CORRUPT', `${file}: line ${i + 1} is not JSON`);
    }
    checkLine(line, file, i + 1);
    if (line.type === 'step') byStep.set(line.step, line);
    else if (line.type === 'eval') byEval.set(line.step, line);
    else if (line.type === 'report') {
      const { type: _type, ...r } = line;
      report = r;
    }
  });
  const order = <T extends { step: number }>(m: Map<number, T>) => [...m.values()].sort((a, b) => a.step - b.step);
  return { steps: order(byStep), evals: order(byEval), ...(report ? { report } : {}) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
// a NaN (a diverged loss) is written null by JSON.stringify, ±∞ as '±Infinity' (revived to a number in the ε fields only;
// elsewhere, as null, a gap in the chart)
const isNumber = (v: unknown): boolean => typeof v === 'number' || v === null || v === 'Infinity' || v === '-Infinity';
const isStep = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * The fields the chart and the report read, checked: a line null, an array, or with a field of the wrong type was a bare
 * TypeError ("Cannot read properties of null") or drew a string as a number. Names the file, line and field, never a value.
 */
function checkLine(line: unknown, file: string, n: number): asserts line is MetricsLine {
  const bad = (why: string) => new DpzoError('ERR_RUN_CORRUPT', `${file}: line ${n}: ${why}`);
  if (!isObject(line)) throw bad('not a JSON object');
  const field = (name: string, ok: boolean, what: string) => {
    if (!ok) throw bad(`field '${name}' is ${name in line ? 'not ' : 'missing (expected '}${what}${name in line ? '' : ')'}`);
  };
  if (line.type === 'step') {
    field('step', isStep(line.step), 'a non-negative integer');
    field('gHat', Array.isArray(line.gHat) && line.gHat.every(isNumber), 'an array of numbers');
    // the first versions wrote only epsilonRdp: such a line draws no ε point
    if (line.epsilon !== undefined) field('epsilon', isNumber(line.epsilon), 'a number');
    if (line.epsilonRdp !== undefined) field('epsilonRdp', isNumber(line.epsilonRdp), 'a number');
    if (line.gHatNorm !== undefined) field('gHatNorm', isNumber(line.gHatNorm), 'a number');
  } else if (line.type === 'eval') {
    field('step', isStep(line.step), 'a non-negative integer');
    field('metric', line.metric === 'accuracy' || line.metric === 'loss' || line.metric === 'f1', "'accuracy', 'loss' or 'f1'");
    field('value', isNumber(line.value), 'a number');
    field('loss', isNumber(line.loss), 'a number');
  } else if (line.type === 'report') {
    field('steps', isStep(line.steps), 'a non-negative integer');
    field('plannedSteps', isStep(line.plannedSteps), 'a non-negative integer');
    field('stopReason', typeof line.stopReason === 'string', 'a string');
    field('private', typeof line.private === 'boolean', 'a boolean');
    for (const k of ['plan', 'budget', 'epsilon'] as const) field(k, isObject(line[k]), 'an object');
  } else throw bad(`field 'type' is not 'step', 'eval' or 'report'`);
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd'];

/** The chart of a run's metrics. ε is drawn after each step (step + 1 releases); evaluations at the step they ran. */
export function runCurves(m: RunMetrics, budget?: { epsilon: number; delta: number }, accountant = 'accountant', method: 'dpzo' | 'dpsgd' = 'dpzo'): ChartSpec {
  const panels: Panel[] = [];
  if (m.evals.length > 0) {
    const metric = m.evals[m.evals.length - 1].metric;
    panels.push({
      yLabel: `held-out ${metric}`,
      series: [{ name: metric, points: m.evals.map((e) => [e.step, e.value]), color: '#d62728', markers: true }],
    });
    if (metric !== 'loss')
      panels.push({ yLabel: 'held-out loss', series: [{ name: 'loss', points: m.evals.map((e) => [e.step, e.loss]), color: '#8c564b', markers: true }] });
  }
  // a reduce, not Math.max(...steps): spreading the steps of a run of about 120,000 overflowed the stack
  const n = m.steps.reduce((a, s) => Math.max(a, s.gHat.length), 0);
  // more than four directions: their mean (one line per direction would be unreadable)
  const gSeries =
    n <= 4
      ? Array.from({ length: n }, (_, k) => ({
          name: n === 1 ? 'ĝ' : `ĝ direction ${k + 1}`,
          points: m.steps.map((s): [number, number] => [s.step + 1, s.gHat[k] ?? NaN]),
          color: COLORS[k],
        }))
      : [
          {
            name: `mean ĝ (${n} dirs)`,
            points: m.steps.map((s): [number, number] => [s.step + 1, s.gHat.reduce((a, b) => a + b, 0) / s.gHat.length]),
            color: COLORS[0],
          },
        ];
  if (method === 'dpsgd')
    panels.push({
      yLabel: 'released ‖ĝ‖₂',
      series: [{ name: '‖ĝ‖₂', points: m.steps.map((s): [number, number] => [s.step + 1, s.gHatNorm ?? NaN]), color: COLORS[0] }],
    });
  else panels.push({ yLabel: 'released ĝ', series: gSeries });
  panels.push({
    yLabel: `ε spent${budget ? ` (δ = ${budget.delta})` : ''}`,
    series: [
      // ε = 0 before the first release
      // ε = ∞ (a non-private baseline) has no point to draw: the panel showed only ε = 0 at step 0, as if nothing were spent
      {
        name: `ε (${accountant.toUpperCase()})${m.steps.some((s) => s.epsilon === Infinity) ? ' = ∞' : ''}`,
        points: [[0, 0], ...m.steps.map((s): [number, number] => [s.step + 1, s.epsilon])],
        color: '#2ca02c',
      },
      ...(accountant !== 'rdp' && m.steps.some((s) => s.epsilonRdp !== undefined)
        ? [
            {
              name: `ε (RDP)${m.steps.some((s) => s.epsilonRdp === Infinity) ? ' = ∞' : ''}`,
              points: [[0, 0], ...m.steps.map((s): [number, number] => [s.step + 1, s.epsilonRdp ?? NaN])] as [number, number][],
              color: '#9467bd',
              dashed: true,
            },
          ]
        : []),
    ],
    ...(budget && Number.isFinite(budget.epsilon) ? { rule: { y: budget.epsilon, label: `budget ε = ${budget.epsilon}`, color: '#d62728' } } : {}),
  });
  return { title: `${method === 'dpsgd' ? 'DP-SGD' : 'DP-ZO'} run: held-out metric, released ĝ and ε against the step`, xLabel: 'step', panels };
}

/** Writes curves.svg into `runDir` from the metrics in `metricsFile` (default its metrics.jsonl); returns the chart's path. */
export function writeCurves(
  runDir: string,
  plan: Pick<TrainPlan, 'budget' | 'accountant'> & Partial<Pick<TrainPlan, 'method'>>,
  metricsFile = join(runDir, METRICS_FILE),
): string {
  const path = join(runDir, CURVES_FILE);
  // replaced whole: eval --run redraws it in the run directory, where a kill mid-write left half a chart
  const svg = lineChart(runCurves(readRunMetrics(metricsFile), plan.budget, plan.accountant, plan.method));
  // replaced through a temporary file of this call's own (two processes redrawing one run shared curves.svg.tmp)
  try {
    writeTextAtomic(path, svg);
  } catch (e) {
    // a bare EISDIR/EACCES naming the temporary file
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined || e instanceof DpzoError) throw e;
    throw new DpzoError('ERR_IO', `${path}: cannot write the chart (${code})`);
  }
  return path;
}

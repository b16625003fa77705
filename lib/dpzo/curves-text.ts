// defines: heldOutChart and epsilonChart — a run's curves (metrics.jsonl) as
// terminal charts: the held-out metric and ε spent against the step, the same
// public values curves.svg draws, for a person reading the terminal.
import { terminalChart } from '../plot/terminal-chart.js';
import type { RunMetrics } from './curves.js';

/** One run of a chart and its mark. */
export interface ChartRun {
  name: string;
  mark: string;
  metrics: RunMetrics;
}

/** The held-out metric (the runs' latest evaluation metric) against the step; empty without evaluations. */
export function heldOutChart(runs: ChartRun[], width?: number): string[] {
  const withEvals = runs.filter((r) => r.metrics.evals.length > 0);
  if (withEvals.length === 0) return [];
  const last = withEvals[0]!.metrics.evals;
  const metric = last[last.length - 1]!.metric;
  return terminalChart({
    title: `held-out ${metric} against the step`,
    width,
    series: withEvals.map((r) => ({ name: r.name, mark: r.mark, points: r.metrics.evals.map((e): [number, number] => [e.step, e.value]) })),
  });
}

/** ε spent (by the run's accountant, after each step's release) against the step; empty for a run without finite ε. */
export function epsilonChart(m: RunMetrics, accountant = 'accountant', width?: number): string[] {
  const points: [number, number][] = [[0, 0], ...m.steps.map((s): [number, number] => [s.step + 1, s.epsilon])];
  if (!points.slice(1).some(([, e]) => Number.isFinite(e))) return [];
  return terminalChart({ title: `ε spent (${accountant.toUpperCase()}) against the step`, width, yMin: 0, series: [{ name: 'ε', mark: '▪', points }] });
}

/** Both charts of one run (held-out metric, then ε), each after a blank line: what `dpzo report` and `dpzo eval --run` print. */
export function runCharts(m: RunMetrics, accountant = 'accountant'): string[] {
  return [heldOutChart([{ name: 'this run', mark: '●', metrics: m }]), epsilonChart(m, accountant)].filter((c) => c.length > 0).flatMap((c) => ['', ...c]);
}

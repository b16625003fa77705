// defines: how the CLI prints — the two-column table, the training plan and report rows,
// evaluation results — and the small option parsers shared by the commands.
import { InvalidArgumentError } from 'commander';
import { MAX_THREADS } from '../model/model.js';
import { MAX_CUDA_INDEX, checkDevice } from '../model/device.js';
import type { Device } from '../model/types.js';
import type { EvalResult } from '../dpzo/evaluate.js';
import type { TrainPlan, TrainReport } from '../dpzo/index.js';
import { NO_CLIP, clipNorm, isNonPrivate, notPrivateReason, releaseSensitivity } from '../dpzo/options.js';

export function parseDevice(v: string): Device {
  try {
    return checkDevice(v);
  } catch {
    throw new InvalidArgumentError(`must be cpu, cuda, cuda:N (N in 0..${MAX_CUDA_INDEX}) or auto (got '${v.slice(0, 40)}')`);
  }
}

export function parseThreads(v: string): number {
  // decimal digits only: Number() would also read '0x10', '1e3' and ' 4 '
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new InvalidArgumentError(`must be an integer in [1, ${MAX_THREADS}]`);
  return n;
}

/**
 * Two columns, one row a line. Control characters are written as '?': a value read from a run directory (a report's
 * stopReason, its warnings) reached the terminal raw, escape sequences and line breaks included.
 */
export function printTable(rows: [string, string][], out: NodeJS.WritableStream = process.stdout): void {
  // eslint-disable-next-line no-control-regex -- the control characters are what is replaced
  const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) out.write(`${clean(k.padEnd(w))}  ${clean(v)}\n`);
}

/** A number for a table: `d` significant digits, ∞ for Infinity, — for NaN or none. */
export function fmt(x: number | undefined, d = 4): string {
  if (x === Infinity) return '∞';
  return x === undefined || !Number.isFinite(x) ? '—' : Number(x.toPrecision(d)).toString();
}

export function noiseText(p: TrainPlan): string {
  if (isNonPrivate(p)) return 'none: NOT PRIVATE (epsilon ∞, the exact sum is released)';
  const s = releaseSensitivity(p);
  return p.mechanism === 'gaussian'
    ? s === p.clip
      ? `gaussian, σ = ${fmt(p.noiseMultiplier)} (noise std σ·C = ${fmt(p.noiseMultiplier! * p.clip)})`
      : `gaussian, σ = ${fmt(p.noiseMultiplier)} (noise std σ·2C = ${fmt(p.noiseMultiplier! * s)}: constant-time cuts double the sensitivity)`
    : `laplace, b = ${fmt(p.laplaceScale)}${s === p.clip ? '' : ' (calibrated to sensitivity 2C: constant-time cuts)'}`;
}

function constantTimeRows(p: TrainPlan): [string, string][] {
  if (!p.constantTime) return [];
  const { slots, length } = p.constantTime;
  return [['constant time', `${slots} slots × ${length} tokens per step (padded with dummies, cut uniformly beyond ${slots})`]];
}

/** q and B, and N only when the run treats it as public (then it says so, once per table). */
function samplingText(p: TrainPlan): string {
  return p.datasetSize === undefined
    ? `Poisson, q = ${fmt(p.sampleRate)} fixed a priori, divisor B = ${p.expectedBatch} (N is not used)`
    : `Poisson, q = ${fmt(p.sampleRate)} = B/N (expected batch ${p.expectedBatch} of N = ${p.datasetSize}; N is treated as public: use --sample-rate to keep it private)`;
}

export function planRows(p: TrainPlan, numTrainable?: number): [string, string][] {
  return [
    ...(isNonPrivate(p) ? ([['NOT PRIVATE', notPrivateReason(p)]] as [string, string][]) : []),
    ['budget', `ε = ${fmt(p.budget.epsilon)}, δ = ${p.budget.delta} (${p.accountant.toUpperCase()} accountant)`],
    ['noise', `${noiseText(p)}${p.calibrated ? ', calibrated' : ''}`],
    ['predicted ε', `${fmt(p.predictedEpsilon)} after ${p.steps} steps`],
    ['sampling', samplingText(p)],
    ['method', p.method === 'dpsgd' ? `DP-SGD, ${p.optimizer} optimizer, ${p.clipRegime} clipping` : 'DP-ZO'],
    [
      'step',
      `${p.method === 'dpsgd' ? 'one gradient (backward pass)' : `${p.directions} direction(s), ε_zo = ${p.zoEps}`}, ${p.clip === NO_CLIP ? 'no clipping' : `clip C = ${p.clip} (${clipNorm(p).toUpperCase()})`}`,
    ],
    ['learning rate', `${p.lr} ${p.schedule}${p.warmupSteps ? `, ${p.warmupSteps} warmup steps` : ''}`],
    ...constantTimeRows(p),
    ...(numTrainable !== undefined ? ([['trainable', numTrainable.toLocaleString('en-US') + ' parameters']] as [string, string][]) : []),
  ];
}

export function evalText(r: EvalResult | undefined): string {
  if (!r) return '—';
  if (r.metric === 'accuracy') return `accuracy ${fmt(r.accuracy)} (loss ${fmt(r.loss)})`;
  if (r.metric === 'f1') return `F1 ${fmt(r.f1)}, exact match ${fmt(r.exactMatch)} (loss ${fmt(r.loss)})`;
  return `loss ${fmt(r.loss)}`;
}

/**
 * The rows `dpzo eval` prints for a result: ∞ and — where toPrecision printed 'Infinity' and 'NaN', and the examples
 * exact match and F1 were computed on when generation scored fewer than all (it printed 'examples 500' above an F1 of
 * the first 100).
 */
export function evalRows(r: EvalResult): [string, string][] {
  const p = (x: number | undefined, d: number) => (x !== undefined && Number.isFinite(x) ? x.toPrecision(d) : fmt(x));
  const rows: [string, string][] = [
    ['examples', String(r.examples)],
    ['loss', p(r.loss, 5)],
  ];
  if (r.accuracy !== undefined) rows.push(['accuracy', p(r.accuracy, 4)]);
  if (r.f1 !== undefined) {
    const over = r.generated !== undefined && r.generated < r.examples ? ` (greedy generation, first ${r.generated} of ${r.examples} examples)` : '';
    rows.push(['F1', `${p(r.f1, 4)}${over}`], ['exact match', `${p(r.exactMatch, 4)}${over}`]);
  }
  return rows;
}

/**
 * The dataset's ε as a report states it. Releases of an older dpzo that did not mark their sensitivity are counted at their
 * upper bound Δ = 2C (datasetSpent): the number is then an upper bound, not the ε spent, and it said "X (PLD)" as if exact.
 */
function datasetEpsilonText(d: NonNullable<TrainReport['dataset']>): string {
  const older = d.olderReleases ?? 0;
  return older > 0 ? `≤ ${fmt(d.epsilon)} (PLD; ${older} older release(s) counted at Δ = 2C)` : `${fmt(d.epsilon)} (PLD)`;
}

export function reportRows(r: TrainReport): [string, string][] {
  const rows: [string, string][] = [
    ['method', r.plan.method === 'dpsgd' ? `DP-SGD (${r.plan.optimizer}, ${r.plan.clipRegime} clipping)` : 'DP-ZO'],
    ['status', `${r.stopReason}: ${r.steps} of ${r.plannedSteps} steps in ${fmt(r.seconds, 3)} s (${fmt(r.stepsPerSecond, 3)} steps/s)`],
    [
      'ε spent',
      `${fmt(r.epsilon.pld)} (PLD), ${fmt(r.epsilon.rdp)} (RDP${r.epsilon.rdpOrder !== undefined && Number.isFinite(r.epsilon.rdpOrder) ? `, order ${r.epsilon.rdpOrder}` : ''})${r.epsilon.pure !== undefined ? `, pure ε ${fmt(r.epsilon.pure)}` : ''} at δ = ${r.epsilon.delta}`,
    ],
    ['budget', `ε = ${fmt(r.budget.epsilon)}, δ = ${r.budget.delta}`],
    ['noise', noiseText(r.plan)],
    ['sampling', samplingText(r.plan)],
  ];
  if (r.evalBefore) {
    rows.push(['before', evalText(r.evalBefore)]);
    rows.push(['after', evalText(r.evalAfter)]);
  }
  if (r.dataset) {
    const d = r.dataset;
    const budget = d.budget ? `, budget ε = ${d.budget.epsilon}` : '';
    rows.push(['dataset ε', `${datasetEpsilonText(d)} at δ = ${d.delta} over ${d.runs} run(s), ${d.releases} releases on this training file${budget}`]);
  }
  if (r.runDir) rows.push(['run', r.runDir]);
  if (!r.private) rows.push(['WARNING', `this run is NOT PRIVATE: ${notPrivateReason(r.plan)}`]);
  return rows;
}

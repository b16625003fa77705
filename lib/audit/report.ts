// defines: the audit's result as a user reads it — AuditResult (what `--json`
// prints), the verdict ("consistent" while the empirical lower bound stays below
// the accountant's ε), and the rows of the text report.
import type { AuditRunsResult, AuditSetting } from './runs.js';
import type { ThresholdBound } from './hypothesis.js';
import type { GuessBound } from './one-run.js';

/** "consistent": the lower bound stays below the claimed ε; "violated": it reaches the claimed ε. */
export type AuditVerdict = 'consistent' | 'violated';

/** What `audit` returns and `dpzo audit --json` prints. */
export interface AuditResult {
  /** The threat model: many runs (gradient-canary) or one (one-run). */
  setting: AuditSetting;
  /** ε the trainer's accountant states for the audited configuration. */
  claimedEpsilon: number;
  /** δ of the configuration (its budget's). */
  delta: number;
  /** The accountant that states claimedEpsilon (the configuration's). */
  accountant: 'pld' | 'rdp';
  /** ε that the observed canary scores prove, at `confidence`. */
  epsilonLowerBound: number;
  /** Probability with which the lower bound holds. */
  confidence: number;
  /** Training runs made. */
  runs: number;
  /** Canaries per run. */
  canaries: number;
  /** Canary trials scored (runs × canaries). */
  trials: number;
  /** "consistent" or, when the bound reaches the claimed ε, "violated". */
  verdict: AuditVerdict;
  /** The audited release: as the trainer planned it. */
  mechanism: 'gaussian' | 'laplace';
  /** σ of a Gaussian release. */
  noiseMultiplier?: number;
  /** b of a Laplace release. */
  laplaceScale?: number;
  /** Poisson sampling rate q of the runs. */
  sampleRate: number;
  /** Steps per run. */
  steps: number;
  /** Directions per step (at least one per canary). */
  directions: number;
  /** Per-example clip C. */
  clip: number;
  /** How the bound was reached: the test's errors (gradient-canary) or the guesses (one-run). */
  test: ({ kind: 'threshold' } & ThresholdBound) | ({ kind: 'one-run' } & GuessBound);
  /** Wall time of the audit. */
  seconds: number;
  /** The SVG plot written, if any. */
  plot?: string;
}

/** "consistent" when the lower bound stays strictly below the claimed ε. */
export function verdictOf(lowerBound: number, claimed: number): AuditVerdict {
  return lowerBound < claimed ? 'consistent' : 'violated';
}

/** The user-facing result of the runs. */
export function auditResult(r: AuditRunsResult): AuditResult {
  const p = r.plan;
  return {
    setting: r.setting,
    claimedEpsilon: r.claimedEpsilon,
    delta: p.budget.delta,
    accountant: p.accountant,
    epsilonLowerBound: r.epsilonLowerBound,
    confidence: r.confidence,
    runs: r.runs,
    canaries: r.canaries,
    trials: r.trials.length,
    verdict: verdictOf(r.epsilonLowerBound, r.claimedEpsilon),
    // runAudit refuses the non-private 'none'
    mechanism: p.mechanism as 'gaussian' | 'laplace',
    ...(p.mechanism === 'gaussian' ? { noiseMultiplier: p.noiseMultiplier } : { laplaceScale: p.laplaceScale }),
    sampleRate: p.sampleRate,
    steps: p.steps,
    directions: p.directions,
    clip: p.clip,
    test: r.bound.kind === 'threshold' ? { kind: 'threshold', ...r.bound.detail } : { kind: 'one-run', ...r.bound.detail },
    seconds: r.seconds,
  };
}

function fmt(x: number, d = 4): string {
  return Number.isFinite(x) ? Number(x.toPrecision(d)).toString() : String(x);
}

/** The text report: two columns, the verdict last. */
export function auditRows(a: AuditResult): [string, string][] {
  const t = a.test;
  const how: [string, string][] =
    t.kind === 'threshold'
      ? [
          ['test', `score ${t.side === 'in-above' ? '≥' : '<'} ${fmt(t.threshold)} → canary in (chosen on ${t.pilotTrials} pilot trials)`],
          ['errors', `FP ${t.falsePositives}/${t.outTrials} (≤ ${fmt(t.fprUpper)}), FN ${t.falseNegatives}/${t.inTrials} (≤ ${fmt(t.fnrUpper)})`],
        ]
      : [['guesses', `${t.correct} right of ${t.guesses} (best of ${t.tries} guess counts, Bonferroni)`]];
  return [
    ['setting', a.setting],
    ['claimed ε', `${fmt(a.claimedEpsilon)} (${a.accountant}, δ = ${a.delta})`],
    ['ε lower bound', `${fmt(a.epsilonLowerBound)} at confidence ${a.confidence}`],
    ['runs', String(a.runs)],
    ['canaries', `${a.canaries} per run (${a.trials} trials)`],
    [
      'release',
      `${a.mechanism} ${a.noiseMultiplier !== undefined ? `σ = ${fmt(a.noiseMultiplier)}` : `b = ${fmt(a.laplaceScale!)}`}, q = ${fmt(a.sampleRate)}, ${a.steps} steps, ${a.directions} directions, C = ${a.clip}`,
    ],
    ...how,
    ['time', `${a.seconds.toFixed(1)} s`],
    ...(a.plot ? ([['plot', a.plot]] as [string, string][]) : []),
    [
      'verdict',
      a.verdict === 'consistent'
        ? `consistent: the audit could not show more than ε = ${fmt(a.epsilonLowerBound)} < ${fmt(a.claimedEpsilon)}`
        : `VIOLATED: the trainer leaks at least ε = ${fmt(a.epsilonLowerBound)} ≥ the claimed ${fmt(a.claimedEpsilon)}`,
    ],
  ];
}

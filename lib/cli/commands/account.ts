// `dpzo account`: the privacy spent by T releases of a mechanism, or by the releases recorded in a ledger.
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { fileSha256 } from '../../data/fingerprint.js';
import { checkLedgerAgainstRun } from '../../dpzo/run-integrity.js';
import { LEDGER_FILE, RUN_FILE, readRunJson, runDatasetLedger } from '../../dpzo/run-record.js';
import { DpzoError } from '../../errors.js';
import { infinityReplacer } from '../../io/json-infinity.js';
import { checkDelta, checkPositive, checkSampleRate, argumentError } from '../../privacy/errors.js';
import {
  type AccountResult,
  type AccountantChoice,
  DatasetLedger,
  type GaussianMechanism,
  type LaplaceMechanism,
  type LedgerEntry,
  type UnmarkedReleases,
  PrivacyLedger,
  accountHistory,
  checkLaplaceScale,
  checkNoiseMultiplier,
  datasetLedgerFile,
  dpzoHome,
  unmarkedReleases,
} from '../../privacy/index.js';
import { flagInteger, flagNumber as num } from '../numbers.js';
import { printTable } from '../format.js';

interface AccountOptions {
  mechanism: string;
  sampleRate?: string;
  noiseMultiplier?: string;
  laplaceScale?: string;
  clip: string;
  steps?: string;
  delta?: string;
  accountant: string;
  interval?: string;
  ledger?: string;
  dataset?: string;
  repairTornTail?: boolean;
  json?: boolean;
}

function parseAccountant(v: string): AccountantChoice {
  if (v === 'prv') return 'pld'; // Opacus' name for the same accounting
  if (v !== 'rdp' && v !== 'pld' && v !== 'all') throw argumentError('--accountant', v, 'rdp, pld (or prv) or all');
  return v;
}

/** --interval, the PLD's loss grid: refused with --accountant rdp, where it was silently ignored. */
function intervalFlag(o: AccountOptions, which: AccountantChoice): number | undefined {
  if (o.interval === undefined) return undefined;
  if (which === 'rdp') throw argumentError('--interval', o.interval, "absent with --accountant rdp (it is the PLD accountant's discretisation)");
  return checkPositive('--interval', num('--interval', o.interval));
}

function mechanismFromFlags(o: AccountOptions, cmd: Command): GaussianMechanism | LaplaceMechanism {
  const sampleRate = checkSampleRate(num('--sample-rate', o.sampleRate), false, '--sample-rate');
  if (o.mechanism === 'gaussian') {
    if (o.laplaceScale !== undefined) throw argumentError('--laplace-scale', o.laplaceScale, 'absent for --mechanism gaussian (use --noise-multiplier)');
    // σ is relative to C, so --clip changed nothing here, yet --json echoed it as if it had been accounted
    if (cmd.getOptionValueSource('clip') === 'cli')
      throw argumentError('--clip', o.clip, 'absent for --mechanism gaussian (σ is a multiple of the clip C, so ε does not depend on C)');
    // named by the flag: checkMechanism's own refusal would name its field (noiseMultiplier)
    return { kind: 'gaussian', sampleRate, noiseMultiplier: checkNoiseMultiplier(num('--noise-multiplier', o.noiseMultiplier), '--noise-multiplier') };
  }
  if (o.mechanism === 'laplace') {
    if (o.noiseMultiplier !== undefined) throw argumentError('--noise-multiplier', o.noiseMultiplier, 'absent for --mechanism laplace (use --laplace-scale)');
    const clip = checkPositive('--clip', num('--clip', o.clip));
    return { kind: 'laplace', sampleRate, clip, scale: checkLaplaceScale(num('--laplace-scale', o.laplaceScale), clip, '--laplace-scale') };
  }
  throw argumentError('--mechanism', o.mechanism, 'gaussian or laplace');
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(6) : String(x);
}

/**
 * `noiseless`: the history holds a release without noise (mechanism 'none'). Without one, an ε = ∞ is a noisy history whose ε
 * overflows float64 (Laplace ε0 = C/b = 1.7e308 over 10 steps): it was labelled "a release without noise".
 */
function printResults(results: AccountResult[], rows: [string, string][], noiseless: boolean, tail: [string, string][] = []): void {
  for (const r of results) {
    // ε = ∞: δ below the PLD's mass at ∞ (its truncated tails), a release without noise (no order or discretisation to
    // name), or a noise so small for its sensitivity that ε overflows
    const massNote =
      r.infinityMass !== undefined
        ? `δ is below ${r.infinityMass.toPrecision(3)}, the PLD's probability mass at ε = ∞ from its truncated tails: no finite PLD ε at this δ`
        : undefined;
    const extra = !Number.isFinite(r.epsilon)
      ? massNote !== undefined
        ? ` (${massNote}; give a larger --delta or use --accountant rdp)`
        : noiseless
          ? ' (a release without noise: NOT PRIVATE)'
          : ' (beyond the float64 range: the noise is far too small for its sensitivity; NOT PRIVATE)'
      : r.accountant === 'rdp'
        ? ` (order ${r.order})`
        : r.accountant === 'pld'
          ? r.bound === 'rdp'
            ? ` (the RDP bound, below the PLD's own: ${massNote ?? (r.interval !== undefined ? `its loss grid (interval ${r.interval}) is too coarse for these steps` : 'no PLD loss grid can hold these steps')})`
            : r.bound === 'pure'
              ? " (the pure ε of basic composition, below the PLD's own)"
              : ` (interval ${r.interval})`
          : ' (basic composition)';
    rows.push([`epsilon ${r.accountant}`, fmt(r.epsilon) + extra]);
  }
  // no releases (--steps 0, an empty ledger): the table named no ε at all, where --json says epsilon 0
  if (results.length === 0) rows.push(['epsilon', '0 (no releases)']);
  printTable([...rows, ...tail]);
}

/** The ledger to account: a file, or the ledger.jsonl of a run directory. */
function ledgerFile(given: string): string {
  let st;
  try {
    st = statSync(given);
  } catch (e) {
    throw new DpzoError('ERR_IO', `${given}: cannot read the ledger (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!st.isDirectory()) return given;
  const inside = join(given, LEDGER_FILE);
  if (!existsSync(inside)) throw new DpzoError('ERR_IO', `${given} is a directory without a ${LEDGER_FILE}: give a ledger file or a run directory`);
  return inside;
}

/**
 * A ledger inside a run directory is checked against what the run planned (run.json) and against
 * the training file's dataset ledger, as --resume checks it: a re-sealed or rolled-back ledger is
 * an error, not a smaller ε. Returns the dataset ledger's file when there is one.
 */
async function checkRunLedger(ledger: PrivacyLedger): Promise<void> {
  const dir = dirname(ledger.path);
  if (!existsSync(join(dir, RUN_FILE))) return;
  const run = readRunJson(dir);
  checkLedgerAgainstRun(ledger, dir, run);
  // the dataset ledger the run recorded its releases in, whatever $DPZO_HOME is now
  const where = runDatasetLedger(run);
  if (!run.dataset || !run.runId || !where) return;
  const dataset = await DatasetLedger.openFile(where.file, { readOnly: true });
  try {
    dataset.missingFrom(run.runId, ledger.path, ledger.entries);
  } finally {
    await dataset.close();
  }
}

async function accountLedger(o: AccountOptions, which: AccountantChoice): Promise<void> {
  const ledger = await PrivacyLedger.open(ledgerFile(o.ledger as string), { readOnly: !o.repairTornTail, create: false, repairTornTail: o.repairTornTail });
  try {
    await checkRunLedger(ledger);
    // a run's ledger without a budget (an --epsilon inf baseline) takes δ from its run.json
    const runFile = join(dirname(ledger.path), RUN_FILE);
    const delta = o.delta ?? (ledger.budget === null && existsSync(runFile) ? String(readRunJson(dirname(ledger.path)).plan.budget.delta) : undefined);
    // a dataset ledger given by its file (its lines carry an origin): the same warning as --dataset
    const older = ledger.entries.some((e) => e.origin !== undefined) ? olderReleases(ledger.entries) : undefined;
    printLedger({ ...o, delta }, which, ledger, { ledger: ledger.path }, [['ledger', ledger.path]], older);
  } finally {
    await ledger.close();
  }
}

/** `--dataset FILE`: every release of every run on that training file, from its dataset ledger. */
async function accountDataset(o: AccountOptions, which: AccountantChoice): Promise<void> {
  const file = o.dataset as string;
  const sha256 = fileSha256(file);
  const path = datasetLedgerFile(dpzoHome(), sha256);
  if (path === undefined) {
    // not the file's SHA-256: a function of every example, which dpzo prints and writes nowhere (dataset-key.ts)
    const report = { dataset: file, ledger: null, runs: 0, releases: 0, epsilon: 0, results: [] };
    if (o.json) process.stdout.write(`${JSON.stringify(report, infinityReplacer)}\n`);
    else
      printTable([
        ['dataset', `${file} (no run has released anything on it: no dataset ledger in ${dpzoHome()})`],
        ['epsilon', '0'],
      ]);
    return;
  }
  const dataset = await DatasetLedger.openFile(path, { readOnly: true });
  try {
    const runs = dataset.runs().length;
    printLedger(
      o,
      which,
      dataset.ledger,
      { dataset: file, ledger: dataset.path, runs },
      [
        ['dataset', file],
        ['ledger', dataset.path],
        ['runs', String(runs)],
      ],
      olderReleases(dataset.ledger.entries),
    );
  } finally {
    await dataset.close();
  }
}

/**
 * A dataset ledger's lines written by a dpzo older than their `trueSensitivity` mark (unmarkedReleases): that dpzo set the
 * noise of constant-time runs with K = N slots for Δ = C where the release had Δ = 2C, and no line says which runs those were.
 */
function olderReleases(entries: readonly LedgerEntry[]): UnmarkedReleases | undefined {
  const u = unmarkedReleases(entries);
  return u.releases === 0 ? undefined : u;
}

function headline(results: AccountResult[], which: AccountantChoice, kind: string): AccountResult | undefined {
  return results.find((r) => r.accountant === (which === 'all' ? kind : which)) ?? results[0];
}

function printLedger(
  o: AccountOptions,
  which: AccountantChoice,
  ledger: PrivacyLedger,
  head: Record<string, unknown>,
  headRows: [string, string][],
  older?: UnmarkedReleases,
): void {
  const deltaSource = o.delta ?? (ledger.budget ? String(ledger.budget.delta) : undefined);
  if (deltaSource === undefined) throw argumentError('--delta', 'nothing', 'given (the ledger has no budget to take δ from)');
  const delta = checkDelta(num('--delta', deltaSource), '--delta');
  const history = ledger.accountant('rdp').history;
  const interval = intervalFlag(o, which);
  const results = ledger.length === 0 ? [] : accountHistory(history, delta, which, interval);
  const main = headline(results, which, ledger.accountantKind);
  // ε if every unmarked line's true Δ was twice the one its noise was set for: an upper bound whatever runs they came from
  const worst = older ? headline(accountHistory(older.worstCase, delta, which, interval), which, ledger.accountantKind) : undefined;
  const olderNote = older
    ? `${older.releases} release(s) of run(s) ${older.runs.join(', ')} were written by an older dpzo that did not mark the sensitivity its noise was set for: ` +
      `if any came from a constant-time run with K = N slots (noise set for Δ = C, true Δ = 2C), the epsilon above is understated; ` +
      `it is at most ${fmt(worst?.epsilon ?? Infinity)} (every such release taken at Δ = 2C)`
    : undefined;
  const report = {
    ...head,
    releases: ledger.length,
    epsilon: main ? main.epsilon : 0,
    delta,
    accountant: main ? main.accountant : which === 'all' ? ledger.accountantKind : which,
    ...(main?.order !== undefined ? { order: main.order } : {}),
    budget: ledger.budget,
    head: ledger.head,
    results,
    ...(older ? { olderReleases: { releases: older.releases, runs: older.runs, epsilonUpperBound: worst?.epsilon ?? Infinity, note: olderNote } } : {}),
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(report, infinityReplacer)}\n`);
    return;
  }
  const rows: [string, string][] = [
    ...headRows,
    ['releases', String(ledger.length)],
    ['budget', ledger.budget ? `epsilon ${ledger.budget.epsilon}, delta ${ledger.budget.delta}` : 'none'],
    ['delta', String(delta)],
  ];
  const noiseless = ledger.entries.some((e) => e.mechanism === 'none');
  printResults(results, rows, noiseless, olderNote !== undefined ? [['warning', olderNote]] : []);
}

/** Flags that describe a hypothetical release: meaningless (and silently ignored before) with --ledger or --dataset. */
const MECHANISM_FLAGS: [keyof AccountOptions, string][] = [
  ['mechanism', '--mechanism'],
  ['sampleRate', '--sample-rate'],
  ['noiseMultiplier', '--noise-multiplier'],
  ['laplaceScale', '--laplace-scale'],
  ['clip', '--clip'],
  ['steps', '--steps'],
];

function refuseMechanismFlags(cmd: Command, source: string): void {
  for (const [key, flag] of MECHANISM_FLAGS) {
    if (cmd.getOptionValueSource(key) === 'cli') {
      throw argumentError(flag, 'given', `absent with ${source}: the recorded releases are accounted as they were made`);
    }
  }
}

export function register(program: Command): void {
  program
    .command('account')
    .description('privacy spent (ε at δ) by T releases of a mechanism, or by the releases recorded in a privacy ledger')
    .option('--mechanism <kind>', 'gaussian | laplace', 'gaussian')
    .option('--sample-rate <q>', 'Poisson sampling rate q in (0, 1]')
    .option('--noise-multiplier <sigma>', 'Gaussian noise std / L2 clip')
    .option('--laplace-scale <b>', 'Laplace noise scale per coordinate')
    .option('--clip <C>', 'clip (sensitivity) C, Laplace only: L1, ε0 = C/b (refused with the Gaussian mechanism, whose σ is relative to C)', '1')
    .option('--steps <T>', 'number of releases')
    .option('--delta <delta>', "target δ (with --ledger or --dataset: default the ledger's budget δ)")
    .option(
      '--accountant <which>',
      "rdp | pld | prv | all (prv: the same as pld, Opacus' name; all: PLD, RDP and, for Laplace, pure ε; the headline ε is the smallest)",
      'all',
    )
    .option('--interval <d>', 'PLD discretisation interval of the privacy loss', undefined)
    .option('--ledger <file>', 'account the releases recorded in this privacy ledger (or run directory) instead')
    .option('--dataset <file>', 'account every run on this training file: its dataset ledger ($DPZO_HOME or ~/.dpzo)')
    .option('--repair-torn-tail', 'with --ledger: truncate an incomplete last line left by a crash')
    .option('--json', 'print one JSON object: epsilon, delta, accountant, order (RDP), results[] (every accountant run)')
    .action(async (o: AccountOptions, cmd: Command) => {
      const which = parseAccountant(o.accountant);
      if (o.ledger !== undefined && o.dataset !== undefined) throw argumentError('--dataset', 'given', 'absent with --ledger (one of the two)');
      // it only ever acted on --ledger: with --dataset the torn ledger's own message sent the user back to the same refusal
      if (o.repairTornTail && o.ledger === undefined)
        throw argumentError('--repair-torn-tail', 'given', 'used with --ledger only (a dataset ledger: --ledger <its ledger.jsonl> --repair-torn-tail)');
      if (o.ledger !== undefined) {
        refuseMechanismFlags(cmd, '--ledger');
        await accountLedger(o, which);
        return;
      }
      if (o.dataset !== undefined) {
        refuseMechanismFlags(cmd, '--dataset');
        await accountDataset(o, which);
        return;
      }
      const mechanism = mechanismFromFlags(o, cmd);
      const steps = flagInteger('--steps', o.steps, 0);
      const delta = checkDelta(num('--delta', o.delta), '--delta');
      const results = steps === 0 ? [] : accountHistory([{ mechanism, times: steps }], delta, which, intervalFlag(o, which));
      // every accountant's ε is an upper bound at this δ, so the headline is the smallest (ties: PLD, listed
      // first); a PLD with no finite ε at a tiny δ no longer makes the headline Infinity beside a finite RDP ε
      // a PLD row that reports the RDP bound (bound: 'rdp') defers to the RDP row itself
      const own = results.filter((r) => !(r.bound === 'rdp' && results.some((x) => x.accountant === 'rdp')));
      const main = own.reduce<AccountResult | undefined>((best, r) => (best === undefined || r.epsilon < best.epsilon ? r : best), undefined) ?? {
        accountant: which === 'rdp' ? 'rdp' : 'pld',
        epsilon: 0,
      };
      const noise = mechanism.kind === 'gaussian' ? { noiseMultiplier: mechanism.noiseMultiplier } : { laplaceScale: mechanism.scale };
      const report = {
        epsilon: main.epsilon,
        delta,
        accountant: main.accountant,
        ...(main.order !== undefined ? { order: main.order } : {}),
        mechanism: mechanism.kind,
        sampleRate: mechanism.sampleRate,
        ...noise,
        ...(mechanism.kind === 'laplace' ? { clip: mechanism.clip } : {}),
        steps,
        results,
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify(report, infinityReplacer)}\n`);
        return;
      }
      const rows: [string, string][] = [
        ['mechanism', mechanism.kind],
        ['sample rate', String(mechanism.sampleRate)],
        mechanism.kind === 'gaussian'
          ? ['noise multiplier', String(mechanism.noiseMultiplier)]
          : ['laplace scale', `${mechanism.scale} (clip ${mechanism.clip}, epsilon0 ${fmt(mechanism.clip / mechanism.scale)})`],
        ['steps', String(steps)],
        ['delta', String(delta)],
      ];
      printResults(results, rows, false); // the flags describe a Gaussian or Laplace release
    });
}

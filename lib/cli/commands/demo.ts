// `dpzo demo` (npm run demo): the paper's setting end to end with only what ships
// in the package (data/): a small model pretrained on PUBLIC text, its zero-shot
// SST-2 accuracy with a prompt, then private fine-tuning with DP-ZO on SST-2
// sentences at (ε, δ) = (8, 1e-5), the accuracy after and the ε spent, and a
// non-private zeroth-order run as the upper reference — with a plain statement of
// what the model is and what the numbers mean.
import { InvalidArgumentError, type Command } from 'commander';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseRunConfig } from '../../dpzo/config.js';
import { type RunMetrics, readRunMetrics, writeCurves } from '../../dpzo/curves.js';
import { epsilonChart, heldOutChart } from '../../dpzo/curves-text.js';
import type { TrainReport } from '../../dpzo/report.js';
import { prepareRun } from '../../dpzo/session.js';
import { DEMO_MODEL } from '../../demo-model/recipe.js';
import { DpzoError } from '../../errors.js';
import { infinityReplacer } from '../../io/json-infinity.js';
import { makeDirectories } from '../../io/mkdirs.js';
import { visibleCudaDevices } from '../../model/device.js';
import type { Device } from '../../model/types.js';
import { parseDevice, parseThreads, printTable } from '../format.js';
import { listenForInterrupt } from '../interrupt.js';
import { createProgress, type Progress } from '../progress.js';
import { parsePositiveInteger } from '../numbers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * A file of the package as a path that works from the current directory: `data/sst2/test.tsv` was printed as it is
 * named inside the package, so the replay command the demo prints failed (ENOENT) when run from anywhere else.
 */
function fromHere(packagePath: string): string {
  const abs = join(root, packagePath);
  const rel = relative(process.cwd(), abs);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/** The run directories the demo makes in --out (the non-private one unless --no-baseline). */
const RUN_DIRS = ['dpzo-eps8', 'zo-not-private'];

/**
 * --out checked before anything is printed: a file, or a directory holding an earlier demo's runs, failed only after
 * the setup text, with trainer messages that named `--resume` (which the demo does not have).
 */
function checkOut(out: string, baseline: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new DpzoError('ERR_ARGUMENT', `--out ${out}: not a directory`);
  for (const d of baseline ? RUN_DIRS : RUN_DIRS.slice(0, 1)) {
    const dir = join(out, d);
    if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
      throw new DpzoError('ERR_RUN_EXISTS', `--out ${out}: ${dir} holds an earlier run (choose another --out, or remove it)`);
    }
  }
}

/**
 * --out made before anything is printed, with {@link makeDirectories} (Node's recursive mkdir never returns where
 * mkdir fails with ENOENT under a parent that exists: `--out /proc/nope` spun at full CPU, deaf to Ctrl-C, instead of
 * failing), then the run directories in it (which also shows that --out is writable: an existing `/proc` passed every
 * check and spun the same way). On failure what was made is removed and the error is one line naming --out.
 */
function makeOut(out: string, baseline: boolean): void {
  checkOut(out, baseline);
  const runDirs = (baseline ? RUN_DIRS : RUN_DIRS.slice(0, 1)).map((r) => join(out, r));
  const made: string[] = [];
  for (const d of [out, ...runDirs]) {
    try {
      made.push(...makeDirectories(d));
    } catch (e) {
      // what the failed call made it removed itself; these are the earlier calls' (empty) directories
      for (const m of made.reverse()) rmSync(m, { recursive: true, force: true });
      throw new DpzoError('ERR_ARGUMENT', `--out ${out}: cannot create ${resolve(d)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
}

/** The demo's default --out: a missing or unwritable temporary folder was a bare `ENOENT: ... mkdtemp` naming neither TMPDIR nor --out. */
function makeTemporary(): string {
  try {
    return mkdtempSync(join(tmpdir(), 'dpzo-demo-'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new DpzoError('ERR_IO', `cannot make the demo's temporary directory in ${tmpdir()} (${code}): set TMPDIR to a writable folder, or give --out`);
  }
}

/**
 * The most --steps the demo takes. The default's 3,000 take 80-120 s on 2 CPU cores; 100,000 are about an hour there,
 * and more only spreads the same ε over more, noisier releases (σ grows with the steps). A count far beyond that was
 * a typo or a test of the limits, which the demo answered with hours (or days) of work before the first result: a
 * longer run is `dpzo train`'s job.
 */
export const DEMO_MAX_STEPS = 100_000;

/** commander parser for the demo's --steps: a positive integer up to {@link DEMO_MAX_STEPS}. */
function parseDemoSteps(v: string): number {
  const x = parsePositiveInteger(v);
  if (x > DEMO_MAX_STEPS) throw new InvalidArgumentError(`at most ${DEMO_MAX_STEPS} (about an hour on 2 CPU cores; for longer runs use dpzo train)`);
  return x;
}

/** The demo's fine-tuning: MeZO's prompt for SST-2, and the DP-ZO settings chosen for this model (README "Demo"). */
export const DEMO_RUN = {
  model: 'data/models/word-llama',
  template: '{sentence} It was',
  // MeZO's words are ' terrible' / ' great'; ' bad' / ' good' are commoner in this model's public text (news,
  // old books), and the two pairs did alike on the tuning split (docs/demo-history.md)
  labelWords: [' bad', ' good'],
  // the RMSNorm weights (5 × 128): few enough for zeroth-order steps to move them in a minute
  trainable: 'norm',
  steps: 3000,
  batchSize: 64,
  lr: 2e-1,
  schedule: 'cosine' as const,
  zoEps: 3e-2,
  clip: 1,
  maxLength: 64,
  epsilon: 8,
  delta: 1e-5,
};

export const DEMO_SETUP = [
  'Setup (read this first):',
  `  model    ${DEMO_RUN.model}: a tiny Llama (${DEMO_MODEL.shape.numLayers} layers, hidden ${DEMO_MODEL.shape.hiddenSize}, word-level vocabulary of ${DEMO_MODEL.vocabSize} words)`,
  '           pretrained by `dpzo pretrain` (NOT private, public data only: AG News text, the King James Bible,',
  "           Bierce's Devil's Dictionary, the Moby Thesaurus) for minutes on 2 CPU cores (`npm run make-demo-model`",
  "           rebuilds it). It has seen no SST-2 and no movie reviews. It is a toy next to the paper's OPT/Llama",
  "           models: expect accuracies about 10 points above chance (50%), not the paper's 90%.",
  `  task     SST-2 sentiment as next-word prediction (MeZO's prompt): "<sentence>${DEMO_RUN.template.replace('{sentence}', '')} [${DEMO_RUN.labelWords.map((w) => w.trim()).join('|')}]"`,
  '           (the loss and the prediction: which of the two label words the model finds likelier).',
  '           private data: SST-2 train sentences (data/sst2/train.tsv); accuracy: the 872 GLUE validation sentences.',
  `  training DP-ZO (Tang et al. 2024): Poisson sampling, 1 direction per step, per-example clipping, Gaussian noise`,
  `           calibrated to (ε, δ) = (${DEMO_RUN.epsilon}, ${DEMO_RUN.delta}); trainable: the RMSNorm weights only (${(2 * DEMO_MODEL.shape.numLayers + 1) * DEMO_MODEL.shape.hiddenSize} numbers).`,
  '  meaning  zero-shot: the pretrained model with the prompt, before any private data. DP-ZO: after private',
  '           fine-tuning; only the released ĝ and seeds left the training data, at the ε printed. The',
  '           non-private run (ε = ∞, NOT PRIVATE) is the same method without noise: what privacy costs.',
  '           The directions and the noise come from the CSPRNG, so accuracies vary by a few points between runs.',
];

interface DemoRun {
  report: TrainReport;
  metrics: RunMetrics;
  dir: string;
  curves: string;
}

interface FineTuneOptions {
  steps: number;
  threads?: number;
  device: Device;
  quiet: boolean;
  /** The dataset ledger's home (one writer at a time, so each of two runs side by side has its own). */
  dpzoHome: string;
  /** Progress owned by the caller (which stops it); without one the run draws its own bar. */
  progress?: Progress;
  signal?: AbortSignal;
  /** Called once the run is open (model loaded, run directory and ledgers open). */
  onOpen?: () => void;
}

/** One fine-tuning of the demo model at `epsilon` (Infinity: the non-private baseline), its run directory with metrics.jsonl and curves.svg. */
async function fineTune(epsilon: number, dir: string, o: FineTuneOptions): Promise<DemoRun> {
  const config = parseRunConfig(
    {
      model: join(root, DEMO_RUN.model),
      data: join(root, 'data/sst2/train.tsv'),
      eval: join(root, 'data/sst2/test.tsv'),
      evalPublic: true,
      task: 'classification',
      template: DEMO_RUN.template,
      labelWords: DEMO_RUN.labelWords,
      epsilon,
      delta: DEMO_RUN.delta,
      steps: o.steps,
      evalEvery: Math.max(1, Math.round(o.steps / 8)),
      batchSize: DEMO_RUN.batchSize,
      lr: DEMO_RUN.lr,
      schedule: DEMO_RUN.schedule,
      zoEps: DEMO_RUN.zoEps,
      clip: DEMO_RUN.clip,
      trainable: DEMO_RUN.trainable,
      maxLength: DEMO_RUN.maxLength,
      out: dir,
      threads: o.threads,
      device: o.device,
    },
    'demo',
  );
  // the demo's dataset ledger stays with its runs: a demonstration must not add to the user's ~/.dpzo
  const { model, trainer } = await prepareRun(config, { dpzoHome: o.dpzoHome });
  const metricsFile = join(dir, 'metrics.jsonl');
  const metrics = (obj: Record<string, unknown>) => appendFileSync(metricsFile, JSON.stringify(obj, infinityReplacer) + '\n');
  try {
    const label = Number.isFinite(epsilon) ? `DP-ZO ε = ${epsilon}` : 'ZO NOT PRIVATE';
    const progress = o.progress ?? createProgress(o.steps, { label, lossLabel: 'held-out loss', epsilon: Number.isFinite(epsilon) });
    let heldOutLoss = Number.NaN;
    const report = await trainer.train({
      signal: o.signal,
      onOpen: o.onOpen,
      onStep: (s) => {
        progress.update({ step: s.step, steps: s.steps, loss: heldOutLoss, epsilon: s.epsilon });
        // released values only (as dpzo train writes them)
        metrics({ type: 'step', step: s.step, lr: s.lr, gHat: s.gHat, epsilon: s.epsilon, epsilonRdp: s.epsilonRdp });
      },
      onEval: (e) => {
        heldOutLoss = e.result.loss;
        if (!o.quiet) progress.note(`${label}: accuracy @ step ${e.step}: ${(100 * (e.result.accuracy ?? NaN)).toFixed(1)}%`);
        metrics({ type: 'eval', step: e.step, ...e.result });
      },
    });
    if (!o.progress) progress.stop();
    metrics({ type: 'report', ...report });
    const curves = writeCurves(dir, report.plan, metricsFile);
    return { report, metrics: readRunMetrics(metricsFile), dir, curves };
  } finally {
    model.dispose();
  }
}

/**
 * The private run and (unless skipped) the non-private reference. On the CPU they run side by side, each on half
 * the cores (or --threads each): this model's products are too small for two threads to gain much on one forward,
 * so the pair takes about the time of one run (bench/README.md, "The demo"). Elsewhere one after the other.
 */
async function fineTuneBoth(
  out: string,
  o: { steps: number; threads?: number; device: Device; quiet: boolean; baseline: boolean; signal: AbortSignal; onOpen: () => void },
): Promise<{ dp: DemoRun; np: DemoRun | undefined }> {
  const base = { steps: o.steps, device: o.device, quiet: o.quiet, signal: o.signal, onOpen: o.onOpen };
  const dpDir = join(out, 'dpzo-eps8');
  const npDir = join(out, 'zo-not-private');
  // one writer per dataset ledger: side by side, the non-private run (ε = ∞ whatever it composes with) keeps its own
  const dpHome = join(out, 'dpzo-home');
  const npHome = join(out, 'dpzo-home-not-private');
  // 'auto' without a CUDA device is the CPU: side by side too (it ran the two one after the other, twice as long)
  const onCpu = o.device === 'cpu' || (o.device === 'auto' && visibleCudaDevices() === 0);
  if (!o.baseline || !onCpu) {
    const dp = await fineTune(DEMO_RUN.epsilon, dpDir, { ...base, threads: o.threads, dpzoHome: dpHome });
    if (o.signal.aborted) return { dp, np: undefined };
    // its own dataset ledger here too: it shared the private run's, whose ε for the training file then read ∞
    const np = o.baseline ? await fineTune(Infinity, npDir, { ...base, threads: o.threads, dpzoHome: npHome }) : undefined;
    return { dp, np };
  }
  // an odd core goes to the private run, the slower of the two (its accounting runs between its steps)
  const cores = availableParallelism();
  const dpThreads = o.threads ?? Math.max(1, Math.ceil(cores / 2));
  const npThreads = o.threads ?? Math.max(1, Math.floor(cores / 2));
  // one bar, the private run's; the reference only notes its evaluations above it
  const shared = createProgress(o.steps, { label: `DP-ZO ε = ${DEMO_RUN.epsilon} (ZO NOT PRIVATE alongside)`, lossLabel: 'held-out loss' });
  const notesOnly: Progress = { update: () => undefined, note: (line) => shared.note(line), stop: () => undefined };
  // the first failure stops the other run, and is the one reported (the other's then is a cancellation)
  const stop = new AbortController();
  // Ctrl-C / SIGTERM stops both
  o.signal.addEventListener('abort', () => stop.abort(), { once: true });
  if (o.signal.aborted) stop.abort();
  let first: { error: unknown } | undefined;
  const settled = await Promise.allSettled(
    [
      fineTune(DEMO_RUN.epsilon, dpDir, { ...base, threads: dpThreads, dpzoHome: dpHome, progress: shared, signal: stop.signal }),
      fineTune(Infinity, npDir, { ...base, threads: npThreads, dpzoHome: npHome, progress: notesOnly, signal: stop.signal }),
    ].map((p) =>
      p.catch((error: unknown) => {
        first ??= { error };
        stop.abort();
        throw error;
      }),
    ),
  );
  shared.stop();
  if (first) throw first.error;
  const [dp, np] = settled.map((r) => (r as PromiseFulfilledResult<DemoRun>).value);
  return { dp: dp!, np };
}

const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'zero-shot, then private (DP-ZO, ε = 8) and non-private fine-tuning of a small pretrained model on SST-2 (about 1–2 minutes on 2 CPU cores at the default --steps)',
    )
    .option('--steps <n>', `steps of each fine-tuning (default ${DEMO_RUN.steps}, at most ${DEMO_MAX_STEPS})`, parseDemoSteps)
    .option('--threads <n>', 'native worker threads of each fine-tuning (default: half the cores each, the two running side by side)', parseThreads)
    .option('--device <device>', 'cpu | cuda | cuda:N | auto', parseDevice, 'cpu')
    .option('--no-baseline', 'skip the non-private reference run')
    .option('--out <dir>', 'where the run directories go (default a new temporary directory)')
    .option('--json', 'print the results as one JSON object at the end')
    .action(async (opts: { steps?: number; threads?: number; device: Device; baseline: boolean; out?: string; json?: boolean }) => {
      const t0 = performance.now();
      const steps = opts.steps ?? DEMO_RUN.steps;
      if (opts.out !== undefined) makeOut(opts.out, opts.baseline);
      const out = opts.out ?? makeTemporary();
      const quiet = opts.json === true;
      const removeTemporary = () => {
        // a demo that did not finish leaves nothing in the temporary folder (its runs' paths were never printed)
        if (opts.out === undefined) rmSync(out, { recursive: true, force: true });
      };
      // Ctrl-C / SIGTERM: both runs stop between steps, the temporary directory the demo made is removed (the default
      // handler left it, half-written runs and all, in the temporary folder), and the exit status is 130 / 143; a
      // second signal while they stop ends the demo at once, but not before the temporary directory is removed
      const interrupt = listenForInterrupt({ onRepeat: removeTemporary });
      let runs: Awaited<ReturnType<typeof fineTuneBoth>> | undefined;
      try {
        // the setup text once a run is open: a device that is not there (--device cuda without one) or a run that cannot
        // open was one line on stderr after the whole setup text on stdout
        let setupShown = quiet;
        const onOpen = () => {
          if (setupShown) return;
          setupShown = true;
          for (const l of DEMO_SETUP) process.stdout.write(l + '\n');
        };
        runs = await fineTuneBoth(out, { steps, threads: opts.threads, device: opts.device, quiet, baseline: opts.baseline, signal: interrupt.signal, onOpen });
      } catch (e) {
        removeTemporary();
        // after a signal, the error is the cancellation's: reported below as the signal
        if (!interrupt.received) throw e;
      } finally {
        interrupt.end();
      }
      // a signal that came after both runs had finished stopped nothing: their results are shown
      const stopped = !runs || runs.dp.report.stopReason === 'cancelled' || (opts.baseline && runs.np?.report.stopReason !== 'completed');
      if (!runs || stopped) {
        removeTemporary();
        process.stderr.write(`dpzo: demo stopped by ${interrupt.received}${opts.out === undefined ? '' : ` (its runs so far are in ${out})`}\n`);
        process.exitCode = interrupt.exitCode;
        return;
      }
      const { dp, np } = runs;
      const card = JSON.parse(readFileSync(join(root, DEMO_RUN.model, 'config.json'), 'utf8')) as { vocab_size: number };
      const result = {
        zeroShotAccuracy: dp.report.evalBefore!.accuracy!,
        dpzoAccuracy: dp.report.evalAfter!.accuracy!,
        ...(np ? { nonPrivateAccuracy: np.report.evalAfter!.accuracy! } : {}),
        epsilon: dp.report.epsilon.pld,
        epsilonRdp: dp.report.epsilon.rdp,
        delta: dp.report.epsilon.delta,
        steps: dp.report.steps,
        evalExamples: dp.report.evalAfter!.examples,
        seeds: {
          // the public parts: the pretrained model is rebuilt from these; each run's directions are in its trajectory.jsonl
          modelInit: DEMO_MODEL.initSeed,
          pretrainShuffle: DEMO_MODEL.shuffleSeed,
          thesaurusSample: DEMO_MODEL.thesaurus.seed,
          directions: `CSPRNG, released per step in <run>/trajectory.jsonl (dpzo eval --run <run> --data ${fromHere('data/sst2/test.tsv')} replays them)`,
        },
        model: { dir: DEMO_RUN.model, vocabSize: card.vocab_size },
        settings: { ...DEMO_RUN, steps },
        runs: { dpzo: dp.dir, ...(np ? { nonPrivate: np.dir } : {}) },
        curves: { dpzo: dp.curves, ...(np ? { nonPrivate: np.curves } : {}) },
        seconds: (performance.now() - t0) / 1000,
      };
      if (opts.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      process.stdout.write('\n');
      for (const l of heldOutChart([
        { name: `DP-ZO ε = ${DEMO_RUN.epsilon}`, mark: '●', metrics: dp.metrics },
        ...(np ? [{ name: 'ZO NOT PRIVATE', mark: '○', metrics: np.metrics }] : []),
      ]))
        process.stdout.write(l + '\n');
      process.stdout.write('\n');
      for (const l of epsilonChart(dp.metrics, 'pld')) process.stdout.write(l + '\n');
      process.stdout.write('\n');
      printTable([
        ['zero-shot', `${pct(result.zeroShotAccuracy)}  (the pretrained model with the prompt; no private data used)`],
        [`DP-ZO ε = ${DEMO_RUN.epsilon}`, `${pct(result.dpzoAccuracy)}  (${steps} private steps)`],
        ...(np ? ([['ZO ε = ∞', `${pct(np.report.evalAfter!.accuracy)}  (NOT PRIVATE reference, same steps)`]] as [string, string][]) : []),
        ['ε spent', `${result.epsilon.toFixed(2)} (PLD), ${result.epsilonRdp.toFixed(2)} (RDP) at δ = ${result.delta}`],
        ['accuracy on', `the ${result.evalExamples} GLUE SST-2 validation sentences (chance ≈ 50%)`],
        ['runs', `${dp.dir}${np ? `, ${np.dir}` : ''} (dpzo report DIR)`],
        // as --json's seeds.directions: the text output named the runs but not that (or how) they replay
        [
          'replay',
          `dpzo eval --run ${dp.dir} --data ${fromHere('data/sst2/test.tsv')}  (rebuilds the model from the seeds and ĝ released in its trajectory.jsonl: the accuracy above${np ? '; likewise --run ' + np.dir : ''})`,
        ],
        ['curves', `${dp.curves}${np ? `, ${np.curves}` : ''}`],
        ['time', `${result.seconds.toFixed(0)} s`],
      ]);
      const gain = 100 * (result.dpzoAccuracy - result.zeroShotAccuracy);
      process.stdout.write(
        `\nDP-ZO at ε = ${result.epsilon.toFixed(2)} moved SST-2 accuracy ${gain >= 0 ? 'up' : 'down'} ${Math.abs(gain).toFixed(1)} points from zero-shot; ` +
          `the accuracies are on public validation sentences, the ε covers the ${dp.report.plan.steps} releases made from the training sentences.\n`,
      );
    });
}

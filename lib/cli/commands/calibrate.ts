// `dpzo calibrate`: the noise that reaches a target (ε, δ) in T steps, or the steps a given noise affords.
import type { Command } from 'commander';
import { argumentError, checkDelta, checkPositive, checkSampleRate } from '../../privacy/errors.js';
import { calibrateNoise, calibrationAccountant, maxSteps } from '../../privacy/calibrate.js';
import { checkLaplaceScale, checkNoiseMultiplier } from '../../privacy/mechanism.js';
import { flagInteger, flagNumber as num } from '../numbers.js';
import { printTable } from '../format.js';

/** Where the search for the steps a noise affords stops (maxSteps' default). */
const STEPS_LIMIT = 1e8;

interface CalibrateFlags {
  epsilon?: string;
  delta?: string;
  sampleRate?: string;
  steps?: string;
  mechanism: string;
  accountant: string;
  clip: string;
  tolerance: string;
  noiseMultiplier?: string;
  laplaceScale?: string;
  opacusCompat?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('calibrate')
    .description(
      'noise multiplier σ (or Laplace scale b) reaching a target (ε, δ) in T steps; with --noise-multiplier/--laplace-scale instead of --steps, the steps it affords',
    )
    .option('--epsilon <epsilon>', 'target ε')
    .option('--delta <delta>', 'target δ')
    .option('--sample-rate <q>', 'Poisson sampling rate q in (0, 1]')
    .option('--steps <T>', 'number of releases')
    .option('--mechanism <kind>', 'gaussian | laplace', 'gaussian')
    .option('--accountant <which>', "pld | prv | rdp | pure (prv: Opacus' name for the same PLD accounting; pure: Laplace only, basic composition)", 'pld')
    .option('--clip <C>', 'L1 clip C of the Laplace release (b scales with it)', '1')
    .option('--tolerance <t>', 'relative bisection tolerance: σ gives ε <= target, σ·(1−t) gives more', '0.001')
    .option('--noise-multiplier <sigma>', 'find the affordable steps for this σ instead')
    .option('--laplace-scale <b>', 'find the affordable steps for this b instead')
    .option('--opacus-compat', 'Opacus get_noise_multiplier semantics (RDP, Opacus orders, ε within 0.01 of the target)')
    .option('--json', 'print one JSON object: noiseMultiplier or laplaceScale, epsilon (or steps, atLimit, epsilon)')
    .action((o: CalibrateFlags, cmd: Command) => {
      const epsilon = checkPositive('--epsilon', num('--epsilon', o.epsilon));
      const sampleRate = checkSampleRate(num('--sample-rate', o.sampleRate), false, '--sample-rate');
      // 'prv' is Opacus' name for the PLD (privacy random variable) accounting: the library maps it (one place)
      const acc = calibrationAccountant(o.accountant, '--accountant');
      const delta = acc === 'pure' && o.delta === undefined ? 0.5 : checkDelta(num('--delta', o.delta), '--delta');
      // the pure accountant's ε holds at δ = 0; the 0.5 above only fills the library's unused argument (it was printed as δ)
      const shownDelta = acc === 'pure' ? 0 : delta;
      const mechanism = o.mechanism;
      if (mechanism !== 'gaussian' && mechanism !== 'laplace') throw argumentError('--mechanism', mechanism, 'gaussian or laplace');
      const clip = checkPositive('--clip', num('--clip', o.clip));
      // σ is a multiple of C, so a Gaussian ε does not depend on --clip: a --clip given there was silently dropped
      if (mechanism === 'gaussian' && cmd.getOptionValueSource('clip') === 'cli')
        throw argumentError('--clip', o.clip, 'absent for --mechanism gaussian (σ is a multiple of the clip C, so ε does not depend on C)');
      // Opacus' search is RDP with its own stopping rule (ε within 0.01 of the target): --accountant and --tolerance
      // given alongside were silently replaced
      if (o.opacusCompat) {
        if (cmd.getOptionValueSource('accountant') === 'cli' && acc !== 'rdp')
          throw argumentError('--accountant', o.accountant, 'rdp or absent with --opacus-compat (Opacus calibrates with RDP)');
        if (cmd.getOptionValueSource('tolerance') === 'cli')
          throw argumentError('--tolerance', o.tolerance, 'absent with --opacus-compat (Opacus stops when ε is within 0.01 of the target)');
      }
      // the noise flag of the other mechanism, and the flags of a calibration alongside a given noise, were ignored
      // (or blamed on the other mechanism's field: '--laplace-scale 2' alone read 'noiseMultiplier must be a number')
      if (mechanism === 'gaussian' && o.laplaceScale !== undefined)
        throw argumentError('--laplace-scale', o.laplaceScale, 'absent for --mechanism gaussian (use --noise-multiplier, or --mechanism laplace)');
      if (mechanism === 'laplace' && o.noiseMultiplier !== undefined)
        throw argumentError('--noise-multiplier', o.noiseMultiplier, 'absent for --mechanism laplace (use --laplace-scale)');
      if (o.noiseMultiplier !== undefined || o.laplaceScale !== undefined) {
        const given = o.noiseMultiplier !== undefined ? '--noise-multiplier' : '--laplace-scale';
        for (const [key, flag] of [
          ['steps', '--steps'],
          ['tolerance', '--tolerance'],
          ['opacusCompat', '--opacus-compat'],
        ] as const) {
          if (cmd.getOptionValueSource(key) === 'cli') throw argumentError(flag, 'given', `absent with ${given} (it finds the steps that noise affords)`);
        }
        const r = maxSteps({
          limit: STEPS_LIMIT,
          epsilon,
          delta,
          sampleRate,
          mechanism,
          accountant: acc,
          clip,
          // named by the flags: the library's own refusal would name its fields (noiseMultiplier, scale)
          noiseMultiplier:
            o.noiseMultiplier === undefined ? undefined : checkNoiseMultiplier(num('--noise-multiplier', o.noiseMultiplier), '--noise-multiplier'),
          laplaceScale: o.laplaceScale === undefined ? undefined : checkLaplaceScale(num('--laplace-scale', o.laplaceScale), clip, '--laplace-scale'),
        });
        // the search stops at STEPS_LIMIT: there the noise affords at least that many steps, not exactly that many
        const atLimit = r.steps === STEPS_LIMIT;
        const report = { steps: r.steps, atLimit, epsilon: r.epsilon, delta: shownDelta, accountant: acc, mechanism, sampleRate };
        if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else
          printTable([
            ['steps', atLimit ? `at least ${r.steps} (the search limit: ε there is below the target)` : String(r.steps)],
            ['epsilon', r.epsilon.toPrecision(6)],
            ['delta', String(shownDelta)],
            ['accountant', acc],
          ]);
        return;
      }
      const steps = flagInteger('--steps', o.steps, 1);
      const tolerance = checkPositive('--tolerance', num('--tolerance', o.tolerance));
      // named by the flag: calibrateNoise's own refusal names its option (tolerance)
      if (tolerance >= 1 || tolerance < Number.EPSILON)
        throw argumentError('--tolerance', tolerance, `in [${Number.EPSILON}, 1) (a float64 bracket narrows no further)`);
      const r = calibrateNoise({ epsilon, delta, sampleRate, steps, mechanism, accountant: acc, clip, tolerance, opacusCompat: o.opacusCompat });
      const noise = r.noiseMultiplier !== undefined ? { noiseMultiplier: r.noiseMultiplier } : { laplaceScale: r.laplaceScale };
      const report = {
        ...noise,
        epsilon: r.epsilon,
        delta: shownDelta,
        accountant: r.accountant,
        tolerance: r.tolerance,
        mechanism,
        sampleRate,
        steps,
        ...(mechanism === 'laplace' ? { clip } : {}),
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      printTable([
        r.noiseMultiplier !== undefined ? ['noise multiplier', String(r.noiseMultiplier)] : ['laplace scale', String(r.laplaceScale)],
        ['epsilon reached', r.epsilon.toPrecision(6)],
        ['delta', String(shownDelta)],
        ['accountant', r.accountant],
        ['tolerance', String(r.tolerance)],
      ]);
    });
}

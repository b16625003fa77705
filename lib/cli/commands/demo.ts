// `dpzo demo` (npm run demo): an end-to-end private fine-tuning with only what
// ships in the package (data/): the run, its ε, and held-out metrics before and
// after, with a plain statement of what the setup is (and is not).
import type { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseRunConfig } from '../../dpzo/config.js';
import { prepareRun } from '../../dpzo/session.js';
import { parseThreads, planRows, printTable, reportRows } from '../format.js';
import { createProgress } from '../progress.js';
import { parseInteger } from '../numbers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const DEMO_SETUP = [
  'Setup (read this first):',
  '  model    data/models/byte-llama: a small Llama (2 layers, hidden 64, 0.1M parameters) with RANDOM weights',
  '           and a byte-level tokenizer. dpzo has no pretraining yet (a later issue adds it), and the one',
  '           small pretrained model at hand (stories260K) ships without its tokenizer, so it cannot read text.',
  '  task     language modelling on SST-2 movie-review sentences (data/sst2), treated as the private data;',
  '           the metric is the held-out loss per byte token on other SST-2 sentences (GLUE validation).',
  '  training DP-ZO (Tang et al. 2024): Poisson sampling, 1 direction per step, per-example clipping,',
  '           Gaussian noise calibrated to (ε, δ) = (8, 1e-5); only lm_head and the norms are trainable.',
  '  meaning  what improves is mostly which bytes are frequent in English reviews: a real, held-out',
  '           improvement of a private model, not sentiment understanding.',
];

export function register(program: Command): void {
  program
    .command('demo')
    .description('private fine-tuning end to end on the data shipped in the package (about a minute on 2 cores)')
    .option('--steps <n>', 'steps (default 800)', parseInteger)
    .option('--threads <n>', 'native worker threads', parseThreads)
    .option('--json', 'print the report as one JSON object')
    .action(async (opts: { steps?: number; threads?: number; json?: boolean }) => {
      const out = mkdtempSync(join(tmpdir(), 'dpzo-demo-'));
      try {
        const config = parseRunConfig(
          {
            model: join(root, 'data/models/byte-llama'),
            data: join(root, 'data/sst2/train.tsv'),
            eval: join(root, 'data/sst2/test.tsv'),
            evalPublic: true,
            task: 'lm',
            textField: 'sentence',
            epsilon: 8,
            delta: 1e-5,
            steps: opts.steps ?? 800,
            evalEvery: 200,
            batchSize: 64,
            lr: 1e-2,
            zoEps: 1e-2,
            clip: 2,
            trainable: 'lm_head,norm',
            out,
            threads: opts.threads,
          },
          'demo',
        );
        if (!opts.json) for (const l of DEMO_SETUP) process.stdout.write(l + '\n');
        const { model, trainer } = await prepareRun(config);
        try {
          const plan = trainer.plan();
          const progress = createProgress(plan.steps, { label: 'demo', lossLabel: 'held-out loss' });
          let heldOutLoss = Number.NaN;
          if (!opts.json) for (const [k, v] of planRows(plan, model.numTrainable)) progress.note(`${k.padEnd(13)} ${v}`);
          const report = await trainer.train({
            onStep: (s) => progress.update({ step: s.step, steps: s.steps, loss: heldOutLoss, epsilon: s.epsilon }),
            onEval: (e) => {
              heldOutLoss = e.result.loss;
              progress.note(`held-out loss @ step ${e.step}: ${e.result.loss.toFixed(3)}`);
            },
          });
          progress.stop();
          if (opts.json) {
            process.stdout.write(JSON.stringify({ setup: DEMO_SETUP.join('\n'), ...report }) + '\n');
            return;
          }
          printTable(reportRows(report).filter(([k]) => k !== 'run'));
          const b = report.evalBefore!.loss;
          const a = report.evalAfter!.loss;
          process.stdout.write(
            `\nheld-out loss ${b.toFixed(3)} -> ${a.toFixed(3)} nats per byte token (${a < b ? 'improved' : 'NOT improved'}; uniform over 259 tokens would be ${Math.log(259).toFixed(3)}), ` +
              `at ε = ${report.epsilon.pld.toFixed(2)} (PLD) / ${report.epsilon.rdp.toFixed(2)} (RDP), δ = ${report.epsilon.delta}.\n`,
          );
        } finally {
          model.dispose();
        }
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
}

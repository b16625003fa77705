// defines: modelCard — the README.md `dpzo export` writes beside the weights: a
// privacy statement (as TF Privacy's compute_dp_sgd_privacy_statement gives one)
// that travels with the model. Everything in it comes from run.json and the run's
// ledger (what was released, not what was planned), nothing from the private data:
// not the training file's name (it can say what the data is), nor its SHA-256 — a
// hash of the whole file lets whoever knows all examples but one test each guess of
// the last, the very inference the guarantee bounds (run.json, a local record, keeps
// it to find the dataset ledger).
import { basename } from 'node:path';

import { hubSnapshotOf } from '../model/hf-cache.js';
import type { SpentResult } from '../privacy/index.js';
import { NO_CLIP, clipNorm, isNonPrivate, notPrivateReason, releaseSensitivity } from './options.js';
import type { RunRecord } from './run-record.js';

export interface ModelCardInput {
  run: RunRecord;
  /** Steps replayed onto the base model (the trajectory's length). */
  steps: number;
  /** Releases in the run's ledger (never fewer than the steps) and ε spent by them, at the budget's δ. */
  releases: number;
  spent: SpentResult | null;
  /** The training file's dataset ledger: every run on that file composed. */
  dataset?: { runs: number; releases: number; epsilon: number; delta: number; olderReleases?: number };
  /** Hash of the exported weights (Model.weightsHash). */
  weightsHash: string;
  /** dpzo's version. */
  version: string;
}

const fmt = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : '∞');

export function modelCard(c: ModelCardInput): string {
  const { run, spent } = c;
  const p = run.plan;
  const delta = p.budget.delta;
  const noise = isNonPrivate(p)
    ? 'none: the exact sum was released (NOT PRIVATE)'
    : p.mechanism === 'gaussian'
      ? `Gaussian, noise multiplier σ = ${fmt(p.noiseMultiplier!)} (noise std σ·Δ = ${fmt(p.noiseMultiplier! * releaseSensitivity(p))} per released coordinate)`
      : `Laplace, scale b = ${fmt(p.laplaceScale!)} per released coordinate`;
  const epsLines =
    spent === null || c.releases === 0
      ? ['- nothing was released: ε = 0']
      : [
          `- **ε = ${fmt(spent.pld!.epsilon)} at δ = ${delta}** by the PLD accountant (tight; Opacus calls it PRV)`,
          `- ε = ${fmt(spent.rdp!.epsilon)} at δ = ${delta} by the RDP accountant${spent.rdp!.order !== undefined && Number.isFinite(spent.rdp!.order) ? ` (order ${fmt(spent.rdp!.order)})` : ''}`,
          ...(spent.pure !== undefined ? [`- pure ε = ${fmt(spent.pure)} (Laplace, basic composition)`] : []),
        ];
  const sgd = p.method === 'dpsgd';
  const how = sgd
    ? `differentially private stochastic gradient descent (DP-SGD, Abadi et al. 2016: per-example gradients clipped, summed and noised; ${p.optimizer} optimizer, ${p.clipRegime} clipping)`
    : 'differentially private zeroth-order optimisation (DP-ZO, Tang et al. 2024, arXiv 2401.04343)';
  // the base model as a reader of the card can find it: its Hub id (and commit) for a cached snapshot, else the directory's
  // name; the card printed run.json's absolute path, which says where on whose machine it was made (/home/<user>/…) and
  // names nothing a reader can fetch. The weights' SHA-256 identifies it exactly either way.
  const hub = hubSnapshotOf(run.model.dir);
  const base = hub ? `\`${hub.id}\` (Hugging Face Hub, commit ${hub.commit.slice(0, 12)})` : `\`${basename(run.model.dir)}\` (a local directory)`;
  const exported = sgd ? `then exported from its checkpoint after ${c.steps} step(s)` : `then exported by replaying its ${c.steps} recorded steps bit for bit`;
  const lines = [
    '---',
    'tags:',
    '  - differential-privacy',
    sgd ? '  - dp-sgd' : '  - dp-zo',
    '  - dpzo',
    ...(hub ? [`base_model: ${hub.id}`] : []),
    '---',
    '',
    run.private
      ? `# Fine-tuned with differential privacy (${sgd ? 'DP-SGD' : 'DP-ZO'})`
      : `# NOT PRIVATE: fine-tuned without a privacy guarantee\n\n${notPrivateReason(p)}.`,
    '',
    isNonPrivate(p)
      ? `This model was fine-tuned from a base model with dpzo ${c.version} by ${sgd ? 'gradient descent' : 'zeroth-order optimisation'} WITHOUT noise (the ${sgd ? 'DP-SGD' : 'DP-ZO'} step as a non-private baseline), ${exported}.`
      : `This model was fine-tuned from a base model with dpzo ${c.version} by ${how}, ${exported}.`,
    '',
    '## Privacy statement',
    '',
    ...epsLines,
    `- unit of privacy: **one example** (one line of the training file), add/remove adjacency: the guarantee bounds what the released model says about whether any single example was in the training data`,
    `- budget set for the run: ε = ${fmt(p.budget.epsilon)}, δ = ${delta}`,
    ...(c.dataset
      ? [
          `- the training file's dataset ledger, all runs on it composed: ε ${c.dataset.olderReleases ? '≤ ' : '= '}${fmt(c.dataset.epsilon)} at δ = ${c.dataset.delta} over ${c.dataset.runs} run(s) and ${c.dataset.releases} release(s)` +
            (c.dataset.olderReleases
              ? ` (an upper bound: ${c.dataset.olderReleases} of them were written by an older dpzo that did not mark the sensitivity its noise was set for, and count at twice their recorded sensitivity)`
              : ''),
        ]
      : []),
    '',
    '## How it was trained',
    '',
    '| | |',
    '|---|---|',
    `| base model | ${base}, ${run.model.dtype}, weights SHA-256 \`${run.model.weightsHash}\` |`,
    `| training data | ${run.dataset ? 'a file, not named or hashed here (its hash would let one test guesses of its examples)' : 'given through the API'} |`,
    `| mechanism | ${noise} |`,
    // with q fixed a priori (--sample-rate) B is the public divisor of the update, not the expected batch q·N (N stays private):
    // the card stated it as the expected batch
    p.datasetSize === undefined
      ? `| sampling | Poisson, rate q = ${fmt(p.sampleRate)} fixed a priori (the dataset size is not public), update divided by B = ${p.expectedBatch} |`
      : `| sampling | Poisson, rate q = ${fmt(p.sampleRate)}, expected batch ${p.expectedBatch} |`,
    `| per-example clipping | ${p.clip === NO_CLIP ? 'none' : `C = ${fmt(p.clip)} (${clipNorm(p).toUpperCase()} over ${sgd ? "each example's gradient" : `${p.directions} direction(s)`})`}${releaseSensitivity(p) !== p.clip ? `, release sensitivity 2C (constant-time steps may cut a batch)` : ''} |`,
    `| steps | ${c.steps} ${sgd ? 'in the checkpoint' : 'replayed'}, ${c.releases} released (planned ${p.steps}) |`,
    sgd
      ? `| DP-SGD step | ${p.optimizer} optimizer, lr ${p.lr} (${p.schedule}), weight decay ${p.weightDecay}, ${p.clipRegime} clipping |`
      : `| ZO step | ${p.directions} direction(s) per step, ε_zo = ${p.zoEps}, lr ${p.lr} (${p.schedule}), weight decay ${p.weightDecay} |`,
    `| exported weights | SHA-256 \`${c.weightsHash}\` |`,
    `| run | ${run.runId ?? 'no id'}, created ${run.createdAt}, format ${run.format} |`,
    '',
    '## What the guarantee does not cover',
    '',
    '- the base model and whatever data it was pretrained on: only the fine-tuning data is protected;',
    '- choices made by looking at the private data: hyperparameter searches, repeated runs and early stopping on a private metric each spend privacy that this statement does not count (the dataset ledger above counts every dpzo run on the same file);',
    '- held-out evaluation data, unless it is public;',
    `- the time a step takes${p.constantTime ? ' (here bounded: every step evaluated the same number of padded slots)' : ', which depends on the sampled batch: keep per-step timings private or train with --constant-time-steps'};`,
    '- statistics printed with --private-diagnostics;',
    '- a different unit of privacy: several examples from one person are protected only as a group (group privacy, ε grows with the group size).',
    '',
  ];
  return lines.join('\n');
}

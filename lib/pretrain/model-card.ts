// defines: pretrainCard — the README.md `dpzo pretrain` writes beside its model (a Hugging Face model card): what it
// was trained from, on what and how, and that it carries NO privacy claim. The output had no card at all, so a model
// shared from it said nothing of how it was made, and nothing warned that pretraining is for public data only.
import { basename } from 'node:path';

import type { EvalResult } from '../dpzo/evaluate.js';
import { hubSnapshotOf } from '../model/hf-cache.js';
import type { PretrainReport } from './pretrain.js';

export interface PretrainCardInput {
  report: PretrainReport;
  /** The directory the starting model was loaded from. */
  baseDir: string;
  /** The training file (public data: it is named). */
  data: string;
  /** Its examples, and the run's settings. */
  examples: number;
  steps: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Hash of the saved weights (Model.weightsHash). */
  weightsHash: string;
  /** dpzo's version. */
  version: string;
}

const loss = (r: EvalResult | undefined): string => (r === undefined ? '—' : r.loss.toFixed(4));

export function pretrainCard(c: PretrainCardInput): string {
  const hub = hubSnapshotOf(c.baseDir);
  // as the export's card: a Hub id a reader can fetch, else the directory's name (not a path on the maker's machine)
  const base = hub ? `\`${hub.id}\` (Hugging Face Hub, commit ${hub.commit.slice(0, 12)})` : `\`${basename(c.baseDir)}\` (a local directory)`;
  const r = c.report;
  return [
    '---',
    'tags:',
    '  - dpzo',
    '  - pretraining',
    ...(hub ? [`base_model: ${hub.id}`] : []),
    '---',
    '',
    '# NOT PRIVATE: pretrained on public data',
    '',
    `This model was trained with \`dpzo pretrain\` (dpzo ${c.version}): gradient descent with Adam, a warmup and a cosine`,
    'learning rate, **without any privacy mechanism**. It makes no privacy claim and is meant as a starting point that',
    '`dpzo train` then fine-tunes privately on private data; its training data must be public.',
    '',
    '| | |',
    '|---|---|',
    `| base model | ${base} |`,
    `| training data | \`${basename(c.data)}\`, ${c.examples} examples (public) |`,
    `| steps | ${r.steps} of ${c.steps} (${r.stopReason}), batch ${c.batchSize}, lr ${c.lr}, weight decay ${c.weightDecay} |`,
    `| held-out loss | ${loss(r.evalBefore)} before, ${loss(r.evalAfter)} after |`,
    `| weights | SHA-256 \`${c.weightsHash}\` |`,
    '',
  ].join('\n');
}

// defines: modelReadme — the README.md that scripts/make-demo-model.ts writes
// next to the demo model: what it is, the data and its sources, the recipe and
// the measured time and held-out loss.
import type { DEMO_MODEL } from './recipe.js';

/** What the README reports. */
export interface ReadmeFacts {
  recipe: typeof DEMO_MODEL;
  vocabSize: number;
  config: Record<string, unknown>;
  trainTexts: number;
  /** Of the training texts, the passages from the public-domain books. */
  bookTexts: number;
  /** Of the training texts, the thesaurus entries. */
  thesaurusTexts: number;
  heldOutTexts: number;
  coverage: number;
  report: { evalBefore: { loss: number }; evalAfter: { loss: number }; seconds: number; weightsHash: string };
  /** Seconds from the script's start: the data preparation and the pretraining. */
  wallSeconds: number;
  /** The pretraining's --threads (the weights are the same at the same thread count only). */
  threads: number;
  /** CPU cores of the machine it ran on. */
  cores: number;
}

/** README.md of the demo model. */
export function modelReadme(f: ReadmeFacts): string {
  const c = f.config;
  const s = f.recipe.shape;
  const params =
    f.vocabSize * s.hiddenSize * (s.tie ? 1 : 2) +
    s.numLayers * (4 * s.hiddenSize ** 2 + 3 * s.hiddenSize * s.intermediateSize + 2 * s.hiddenSize) +
    s.hiddenSize;
  return `# word-llama: the demo's small pretrained model

A tiny Llama-architecture language model (${c.num_hidden_layers} layers, hidden ${c.hidden_size}, ${c.num_attention_heads} heads, SwiGLU ${c.intermediate_size},
tied input/output embedding, ${(params / 1e6).toFixed(2)}M parameters, float32) with a word-level tokenizer, pretrained
by \`dpzo pretrain\` (NON-private: public data only) so that \`npm run demo\` can fine-tune a model that
has read English. It is made from scratch, deterministically, by \`npm run make-demo-model\`
(scripts/make-demo-model.ts; recipe in lib/demo-model/recipe.ts).

## Data (public only)

- AG News (Zhang, Zhao, LeCun, 2015, "Character-level Convolutional Networks for Text Classification"),
  the copy in \`../shared/data/agnews\`: the text column only (titles and descriptions of news items;
  the labels are not used). HTML entities restored, line-break backslashes removed.
  Train: all ${(f.trainTexts - f.bookTexts - f.thesaurusTexts).toLocaleString('en-US')} texts of dev.tsv and test.tsv except every 10th line of test.tsv;
  held out: those ${f.heldOutTexts} lines.
- Public-domain books from Debian packages (${f.bookTexts.toLocaleString('en-US')} passages): the King James Bible (1611; package
  bible-kjv-text, printed by bible-kjv's \`bible gen1:1-rev22:21\`, in passages of 3 verses; "the copyright
  for the King James Version text of the Bible is expired", debian/copyright) and Ambrose Bierce's
  "The Devil's Dictionary" (1911; package dict-devil, one text per entry; "A Public Domain Text,
  Copyright Expired"). They add everyday and evaluative English that news lacks.
- The Moby Thesaurus (Grady Ward, 1996; placed in the public domain by its author), the words.txt of the
  npm package ${f.recipe.thesaurus.package} (sha256 ${f.recipe.thesaurus.sha256.slice(0, 16)}…): ${f.thesaurusTexts.toLocaleString('en-US')} entries, one text each,
  "head: w w w …" with ${f.recipe.thesaurus.perEntry} of the entry's related words drawn with seed ${f.recipe.thesaurus.seed}. It puts the words people judge
  things with ("funny", "dull", "clever", "tedious") into the vocabulary and places them near words of like
  meaning. (Without it, 21% of the words of SST-2, the demo's task, were unknown to the model's vocabulary,
  among the most frequent of them funny, entertaining, dull and boring: README.md, "Quick start".)
- No SST-2 text and no movie-review text of any kind is read: SST-2 is the demo's private task.

## Tokenizer

\`tokenizer.json\` (Hugging Face tokenizers format): Lowercase normalizer, Whitespace pre-tokenizer
(\`\\w+|[^\\w\\s]+\`), WordLevel model over the ${f.vocabSize} most frequent words of the training texts
(ties in code-point order; <unk>, <s>, </s> are ids 0-2; <s> is prepended). Held-out coverage:
${(100 * f.coverage).toFixed(1)}% of words are in the vocabulary.

## Recipe

Random start: N(0, 0.02²) weights (output projections / √(2L)), seed ${f.recipe.initSeed}. Then
\`dpzo pretrain\`: ${f.recipe.steps} steps of AdamW (peak lr ${f.recipe.lr}, warmup ${Math.floor(f.recipe.steps / 20)} steps then cosine,
weight decay ${f.recipe.weightDecay}), batch ${f.recipe.batchSize} texts of at most ${f.recipe.maxLength} tokens, shuffle seed ${f.recipe.shuffleSeed}, \`--threads ${f.threads}\`.

## Result

| | held-out loss (nats per token, the held-out AG News texts) |
| --- | --- |
| random start | ${f.report.evalBefore.loss.toFixed(3)} (ln ${f.vocabSize} = ${Math.log(f.vocabSize).toFixed(3)}) |
| after pretraining | ${f.report.evalAfter.loss.toFixed(3)} |

The held-out texts are news; with the thesaurus news is a smaller share of the training text, so this
loss is higher than a news-only model's (4.277 for the first demo model, docs/demo-history.md).

Pretraining took ${f.report.seconds.toFixed(0)} s (${(f.wallSeconds / 60).toFixed(1)} minutes with the data preparation) with \`--threads ${f.threads}\` on a ${f.cores}-core machine.
Weights hash: \`${f.report.weightsHash}\`.

This is a tiny model trained for minutes: it has learnt word statistics of news, old books and a thesaurus, not
language understanding. Its purpose is to show private fine-tuning (DP-ZO) on a model that starts
from public pretraining, as in the paper's setting, at a size a laptop runs in seconds.
`;
}

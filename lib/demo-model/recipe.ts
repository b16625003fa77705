// defines: DEMO_MODEL — the recipe of the demo's pretrained model
// (data/models/word-llama): its shape, vocabulary size and the `dpzo pretrain`
// settings and seeds that scripts/make-demo-model.ts uses.
import type { LlamaShape } from './llama-init.js';

/** How data/models/word-llama is made (scripts/make-demo-model.ts). */
export const DEMO_MODEL = {
  /** Words in the vocabulary, the 3 special tokens included. */
  vocabSize: 12288,
  shape: { hiddenSize: 128, numLayers: 2, numHeads: 4, intermediateSize: 256, maxPositions: 128, tie: true } satisfies Omit<LlamaShape, 'vocabSize'>,
  initSeed: 1,
  shuffleSeed: 1,
  steps: 3000,
  batchSize: 32,
  lr: 3e-3,
  weightDecay: 0.01,
  /** Tokens per text at most (AG News items are about 45 words). */
  maxLength: 96,
  /**
   * The Moby Thesaurus as the npm package that ships it (its words.txt, checked by hash), and how many related
   * words of each entry a text keeps, drawn with `seed` (corpus.ts parseMoby).
   */
  thesaurus: {
    package: 'moby@1.1.2',
    file: 'package/words.txt',
    sha256: '63fcdcec2efe34414825945c7837f4381c7df7344ae34fdf1e8368eda19d59f3',
    perEntry: 30,
    seed: 1,
  },
};

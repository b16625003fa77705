// defines: preTokenize, buildWordVocab and wordLevelTokenizerJson — a word-level
// tokenizer (Hugging Face tokenizer.json: Lowercase normalizer, Whitespace
// pre-tokenizer, WordLevel model with <unk>, <s> prepended) whose vocabulary is
// the most frequent words of a public corpus. For a model of a few hundred
// thousand weights trained for minutes, whole words are far more sample-efficient
// than bytes: the model learns word statistics, not spelling.
import { SPACE, WORD, rustLowercase } from '../data/tokenizer-unicode.js';
import { DEMO_MODEL } from './recipe.js';

/** The special tokens, ids 0, 1, 2 (Llama's convention). */
export const SPECIAL_TOKENS = ['<unk>', '<s>', '</s>'] as const;

// the Whitespace pre-tokenizer's pattern (tokenizers' `\w+|[^\w\s]+`) with the Rust library's Unicode \w and \s, as
// dpzo's loadTokenizer runs it (data/tokenizer-unicode.ts) and transformers does: with JS's ASCII \w, 'café' was counted
// as 'caf' and 'é', a word the tokenizer never produces, and 'café' itself was never counted
const PIECE = new RegExp(`[${WORD}]+|[^${WORD}${SPACE}]+`, 'gu');

/** The words the tokenizer.json this module writes splits `text` into (before the vocabulary lookup), as dpzo and transformers load it. */
export function preTokenize(text: string): string[] {
  return rustLowercase(text).match(PIECE) ?? [];
}

/** Options of {@link buildWordVocab}. */
export interface VocabOptions {
  /** Vocabulary size including the special tokens. */
  size: number;
  /** A word must occur at least this often to be kept (default 2). */
  minCount?: number;
}

/**
 * The vocabulary: the special tokens, then the corpus's words by descending count (ties in code-point order,
 * so the result does not depend on the order of the texts), cut to `size` entries.
 */
export function buildWordVocab(texts: Iterable<string>, o: VocabOptions): string[] {
  if (!(Number.isInteger(o.size) && o.size > SPECIAL_TOKENS.length))
    throw new RangeError(`vocabulary size must be an integer above ${SPECIAL_TOKENS.length} (got ${o.size})`);
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of preTokenize(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const minCount = o.minCount ?? 2;
  const words = [...counts]
    .filter(([w, c]) => c >= minCount && !(SPECIAL_TOKENS as readonly string[]).includes(w))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, o.size - SPECIAL_TOKENS.length)
    .map(([w]) => w);
  return [...SPECIAL_TOKENS, ...words];
}

/** Fraction of the words of `texts` that are in `vocab` (not `<unk>`). */
export function coverage(texts: Iterable<string>, vocab: readonly string[]): number {
  const known = new Set(vocab);
  let n = 0;
  let hit = 0;
  for (const t of texts)
    for (const w of preTokenize(t)) {
      n++;
      if (known.has(w)) hit++;
    }
  return n === 0 ? 0 : hit / n;
}

/** tokenizer.json (Hugging Face tokenizers format) of a word-level tokenizer over `vocab` (as {@link buildWordVocab} returns it). */
export function wordLevelTokenizerJson(vocab: readonly string[]): Record<string, unknown> {
  SPECIAL_TOKENS.forEach((s, i) => {
    if (vocab[i] !== s) throw new RangeError(`vocabulary entry ${i} must be ${s}`);
  });
  if (new Set(vocab).size !== vocab.length) throw new RangeError('the vocabulary has duplicate words');
  const bos = { id: '<s>', type_id: 0 };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: bos }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: bos }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    // joins words with spaces and removes the space before punctuation
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordLevel', vocab: Object.fromEntries(vocab.map((w, i) => [w, i])), unk_token: '<unk>' },
  };
}

/** tokenizer_config.json for {@link wordLevelTokenizerJson}. */
export const WORD_TOKENIZER_CONFIG = {
  bos_token: '<s>',
  eos_token: '</s>',
  unk_token: '<unk>',
  // the model's positions (config.json's max_position_embeddings): it was 256 over a model of 128, so transformers'
  // truncation=True let through sequences twice what the model was made for (and dpzo refuses them)
  model_max_length: DEMO_MODEL.shape.maxPositions,
  tokenizer_class: 'PreTrainedTokenizerFast',
};

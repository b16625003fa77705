// The demo model's word-level tokenizer (lib/demo-model/word-vocab.ts): the vocabulary builder's
// order and cut, and a tokenizer.json that @huggingface/tokenizers loads and that splits text
// exactly as preTokenize does (the vocabulary is counted with preTokenize, so they must agree), non-ASCII text included
// as dpzo's loadTokenizer (and transformers) split it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, describe, expect, it } from 'vitest';

import { loadTokenizer } from '../../../lib/data/tokenizer.js';

import { llamaConfig } from '../../../lib/demo-model/llama-init.js';
import { DEMO_MODEL } from '../../../lib/demo-model/recipe.js';
import { SPECIAL_TOKENS, WORD_TOKENIZER_CONFIG, buildWordVocab, coverage, preTokenize, wordLevelTokenizerJson } from '../../../lib/demo-model/word-vocab.js';

const TEXTS = [
  "Stocks fell sharply on Monday; the Dow's losses were the worst since May.",
  'The team won 3-1, and fans said it was great -- really great!',
  'Oil prices rose to $50.25 a barrel (a record), analysts said.',
  "It's a good day: good news, bad news, and U.S. markets closed.",
];

describe('buildWordVocab', () => {
  it('puts the special tokens first, then words by descending count, ties in code-point order', () => {
    const v = buildWordVocab(['b a a c c c', 'a b d'], { size: 10, minCount: 1 });
    expect(v).toEqual([...SPECIAL_TOKENS, 'a', 'c', 'b', 'd']);
  });

  it('cuts to the size, drops words below minCount and does not depend on the order of the texts', () => {
    const texts = ['x y y z z z', 'w z', 'q'];
    const v = buildWordVocab(texts, { size: 5, minCount: 2 });
    expect(v).toEqual([...SPECIAL_TOKENS, 'z', 'y']);
    expect(buildWordVocab([...texts].reverse(), { size: 5, minCount: 2 })).toEqual(v);
    expect(buildWordVocab(texts, { size: 4, minCount: 1 })).toEqual([...SPECIAL_TOKENS, 'z']);
  });

  it('lowercases and never lets a corpus word shadow a special token', () => {
    const v = buildWordVocab(['The THE the <s> <s>'], { size: 10, minCount: 1 });
    expect(v).toEqual([...SPECIAL_TOKENS, 'the', '<', '>', 's']);
    expect(() => buildWordVocab([], { size: 3 })).toThrow(/above 3/);
  });

  it('coverage is the fraction of words in the vocabulary', () => {
    expect(coverage(['a b c d'], [...SPECIAL_TOKENS, 'a', 'c'])).toBe(0.5);
    expect(coverage([''], [...SPECIAL_TOKENS])).toBe(0);
  });
});

describe('wordLevelTokenizerJson', () => {
  const vocab = buildWordVocab(TEXTS, { size: 200, minCount: 1 });
  const tok = new Tokenizer(wordLevelTokenizerJson(vocab), WORD_TOKENIZER_CONFIG);

  it('loads in @huggingface/tokenizers and splits text exactly as preTokenize does', () => {
    for (const t of TEXTS) {
      const e = tok.encode(t);
      expect(e.ids[0]).toBe(1); // <s>
      expect(e.ids.slice(1)).toEqual(preTokenize(t).map((w) => vocab.indexOf(w)));
    }
  });

  it('maps unknown words to <unk> and decodes known ones back to lowercase text', () => {
    expect(tok.encode('zebra great', { add_special_tokens: false }).ids).toEqual([0, vocab.indexOf('great')]);
    expect(tok.decode(tok.encode('It was great, really great!').ids, { skip_special_tokens: true })).toBe('it was great, really great!');
  });

  it('refuses a vocabulary without the special tokens first, or with duplicates', () => {
    expect(() => wordLevelTokenizerJson(['a', '<s>', '</s>'])).toThrow(/entry 0 must be <unk>/);
    expect(() => wordLevelTokenizerJson([...SPECIAL_TOKENS, 'a', 'a'])).toThrow(/duplicate/);
  });
});

describe('preTokenize on non-ASCII text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpzo-word-vocab-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // accented Latin, CJK, a typographic apostrophe, a word-final capital sigma, a no-break space, a combining accent
  const TEXT = 'Café naïve 日本語 it’s ΟΔΟΣ Zürich\u00a0Straße cafe\u0301!';

  it('splits as the tokenizer.json it is written into splits when dpzo loads it (Unicode \\w, as the Rust library)', () => {
    const vocab = buildWordVocab([TEXT], { size: 100, minCount: 1 });
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(wordLevelTokenizerJson(vocab)));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(WORD_TOKENIZER_CONFIG));
    const ids = loadTokenizer(dir).encode(TEXT, false);
    // every piece is in the vocabulary (counted with preTokenize): a piece split otherwise would be <unk> (id 0)
    expect(ids.map((id) => vocab[id])).toEqual(preTokenize(TEXT));
    expect(ids).not.toContain(0);
    // ASCII \w counted 'caf' and 'é', pieces the tokenizer never gives, and never 'café'
    expect(preTokenize(TEXT)).toEqual(['café', 'naïve', '日本語', 'it', '’', 's', 'οδοσ', 'zürich', 'straße', 'cafe\u0301', '!']);
  });
});

describe('tokenizer_config.json of the demo model', () => {
  it("names the model's positions as model_max_length (it said 256 over a model of 128 positions)", () => {
    const positions = llamaConfig({ ...DEMO_MODEL.shape, vocabSize: 12288 }).max_position_embeddings;
    expect(WORD_TOKENIZER_CONFIG.model_max_length).toBe(positions);
  });
});

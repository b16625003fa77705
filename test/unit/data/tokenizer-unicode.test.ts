// Token ids as the Rust tokenizers library (what Python transformers runs) gives them, where the pure-JS
// @huggingface/tokenizers split or normalized otherwise (ASCII-only \w / \d, ECMAScript \s, grouped punctuation,
// String#toLowerCase's final sigma, UTF-16 code units). The expected pieces come from the Rust sources of
// huggingface/tokenizers (tokenizers/src/...), cited per case; the ASCII cases are the Rust unit tests' own inputs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { loadTokenizer } from '../../../lib/data/tokenizer.js';
import { rustSemantics } from '../../../lib/data/tokenizer-unicode.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A WordLevel tokenizer over `words` (ids 1.., `<unk>` 0) with `normalizer` and `pre_tokenizer`; returns text -> ids and piece -> id. */
function wordLevel(pre: unknown, words: string[], normalizer: unknown = null) {
  const dir = mkdtempSync(join(tmpdir(), 'dpzo-tok-unicode-'));
  dirs.push(dir);
  const vocab: Record<string, number> = { '<unk>': 0 };
  for (const w of words) vocab[w] ??= Object.keys(vocab).length;
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer,
    pre_tokenizer: pre,
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  const tok = loadTokenizer(dir);
  return {
    ids: (text: string) => tok.encode(text, false),
    // the ids of the pieces the Rust library cuts `text` into (a piece not in the vocabulary is <unk>, as in WordLevel)
    of: (pieces: string[]) => pieces.map((p) => vocab[p] ?? 0),
  };
}

describe('pre-tokenizers as the Rust library splits', () => {
  it('Whitespace: \\w and \\s are Unicode (whitespace.rs: Regex::new(r"\\w+|[^\\w\\s]+"), regex crate \\w = Alphabetic|M|Nd|Pc|Join_Control, \\s = White_Space)', () => {
    // the JS library's ASCII \w cut "Zürich" into z / ü / rich
    const t = wordLevel({ type: 'Whitespace' }, ['Zürich', 'Z', 'ü', 'rich', 'café', 'caf', 'é', '١٢٣', 'x', '²', 'y', 'a', 'b', 'c', '\uFEFF', 'd', 'e\u0301']);
    expect(t.ids('Zürich café')).toEqual(t.of(['Zürich', 'café']));
    // Arabic-Indic digits are \d (Nd); ² is No, neither \w nor \s; a combining accent is M (\w)
    expect(t.ids('١٢٣ x²y e\u0301')).toEqual(t.of(['١٢٣', 'x', '²', 'y', 'e\u0301']));
    // U+0085 is White_Space (dropped); U+FEFF is not (JS \s counts it), so it is a piece of its own
    expect(t.ids('a\u0085b c\uFEFFd')).toEqual(t.of(['a', 'b', 'c', '\uFEFF', 'd']));
    // ASCII unchanged (whitespace.rs test `basic`)
    const a = wordLevel({ type: 'Whitespace' }, ['Hey', 'man', '!', 'How', 'are', 'you', 'doing', '?']);
    expect(a.ids('Hey man!')).toEqual(a.of(['Hey', 'man', '!']));
    expect(a.ids('How are you doing?')).toEqual(a.of(['How', 'are', 'you', 'doing', '?']));
  });

  it('WhitespaceSplit splits on char::is_whitespace (White_Space: U+0085 yes, U+FEFF no) (whitespace.rs)', () => {
    const t = wordLevel({ type: 'WhitespaceSplit' }, ['a', 'b', 'a\u0085b', 'c\uFEFFd', 'c', 'd', 'Zürich!']);
    expect(t.ids('a\u0085b c\uFEFFd Zürich!')).toEqual(t.of(['a', 'b', 'c\uFEFFd', 'Zürich!']));
  });

  it('BertPreTokenizer: whitespace per char::is_whitespace, each punctuation char isolated (bert.rs)', () => {
    const t = wordLevel({ type: 'BertPreTokenizer' }, ['Hey', 'friend', '!', 'How', 'are', 'you', '?', 'a', 'b', 'c\uFEFFd', 'c', 'd', '«', 'ça', '»']);
    // ASCII unchanged (bert.rs test `basic`)
    expect(t.ids('Hey friend!     How are you?!?')).toEqual(t.of(['Hey', 'friend', '!', 'How', 'are', 'you', '?', '!', '?']));
    expect(t.ids('a\u0085b c\uFEFFd «ça»')).toEqual(t.of(['a', 'b', 'c\uFEFFd', '«', 'ça', '»']));
  });

  it('Punctuation isolates each punctuation char by default, and follows `behavior` (punctuation.rs; normalizer.rs test `split`)', () => {
    // ASCII: punctuation.rs test `punctuation_basic`; the JS library kept "?!?" as one piece
    const t = wordLevel({ type: 'Punctuation' }, ['Hey friend', '!', '     How are you', '?', '?!?']);
    expect(t.ids('Hey friend!     How are you?!?')).toEqual(t.of(['Hey friend', '!', '     How are you', '?', '!', '?']));
    const words = ['The', '-', 'final', 'countdown', 'The-', 'final-', '-final', '-countdown', '--'];
    const cases: [string, string[]][] = [
      ['Removed', ['The', 'final', 'countdown']],
      ['Isolated', ['The', '-', 'final', '-', '-', 'countdown']],
      ['MergedWithPrevious', ['The-', 'final-', '-', 'countdown']],
      ['MergedWithNext', ['The', '-final', '-', '-countdown']],
      ['Contiguous', ['The', '-', 'final', '--', 'countdown']],
    ];
    for (const [behavior, pieces] of cases) {
      const b = wordLevel({ type: 'Punctuation', behavior }, words);
      expect(b.ids('The-final--countdown'), behavior).toEqual(b.of(pieces));
    }
  });

  it('Digits splits on char::is_numeric (Nd, Nl, No), not ASCII \\d (digits.rs)', () => {
    const t = wordLevel({ type: 'Digits', individual_digits: false }, ['Hey ', '123', ' friend!', 'x', '١٢٣', ' y', '²']);
    // ASCII unchanged (digits.rs test `numbers`)
    expect(t.ids('Hey 123 friend!')).toEqual(t.of(['Hey ', '123', ' friend!']));
    expect(t.ids('x١٢٣ y²')).toEqual(t.of(['x', '١٢٣', ' y', '²']));
    const i = wordLevel({ type: 'Digits', individual_digits: true }, ['x', '١', '٢', '½']);
    expect(i.ids('x١٢½')).toEqual(i.of(['x', '١', '٢', '½']));
  });

  it('ByteLevel: its regex\'s \\s is White_Space (byte_level.rs: SysRegex::new(r"\'s|...|\\s+(?!\\S)|\\s+"), onig Ruby syntax)', () => {
    // pieces are byte-mapped: U+0085 -> "Âħ", U+FEFF -> "ï»¿", ' ' -> "Ġ"
    const words = ['a', 'Ġa', 'b', 'Âħ', 'ÂħÂħ', 'ï»¿', 'ï»¿ï»¿', 'Hello', 'ĠHello', 'Ġworld', "'s"];
    for (const add_prefix_space of [false, true]) {
      const t = wordLevel({ type: 'ByteLevel', add_prefix_space, trim_offsets: true, use_regex: true }, words);
      const a = add_prefix_space ? 'Ġa' : 'a';
      // U+0085 is \s: `\s+(?!\S)` takes one, `\s+` the other; U+FEFF is not: `[^\s\p{L}\p{N}]+` takes both
      expect(t.ids('a\u0085\u0085b')).toEqual(t.of([a, 'Âħ', 'Âħ', 'b']));
      expect(t.ids('a\uFEFF\uFEFFb')).toEqual(t.of([a, 'ï»¿ï»¿', 'b']));
      expect(t.ids("Hello world's")).toEqual(t.of([add_prefix_space ? 'ĠHello' : 'Hello', 'Ġworld', "'s"]));
    }
  });

  it('Metaspace cuts before each replacement char unless split is false (metaspace.rs: split MergedWithNext, default true)', () => {
    // ASCII: metaspace.rs test `multiple_spaces`; the JS library ignored `split` and kept one piece
    const words = ['▁Hey', '▁', '▁friend!', '▁Hey▁▁▁friend!'];
    const t = wordLevel({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }, words);
    expect(t.ids('Hey   friend!')).toEqual(t.of(['▁Hey', '▁', '▁', '▁friend!']));
    const whole = wordLevel({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false }, words);
    expect(whole.ids('Hey   friend!')).toEqual(whole.of(['▁Hey▁▁▁friend!']));
  });

  it('rewrites inside a Sequence', () => {
    const t = wordLevel({ type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Digits', individual_digits: true }] }, ['Zürich', '١', '٢']);
    expect(t.ids('Zürich ١٢')).toEqual(t.of(['Zürich', '١', '٢']));
  });
});

describe('normalizers as the Rust library normalizes', () => {
  it('Lowercase maps char by char: a final Σ is σ, not ς (normalizer.rs lowercase: c.to_lowercase())', () => {
    const t = wordLevel({ type: 'WhitespaceSplit' }, ['οδοσ', 'οδος', 'zürich'], { type: 'Lowercase' });
    expect(t.ids('ΟΔΟΣ Zürich')).toEqual(t.of(['οδοσ', 'zürich']));
  });

  it('BertNormalizer: final Σ, and CJK chars above U+FFFF spaced (normalizers/bert.rs is_chinese_char 0x20000..=0x2A6DF, do_handle_chinese_chars)', () => {
    const bert = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true };
    const t = wordLevel({ type: 'BertPreTokenizer' }, ['οδοσ', 'a', '\u{20001}', 'b', '野', 'a\u{20001}b'], bert);
    expect(t.ids('ΟΔΟΣ a\u{20001}b野')).toEqual(t.of(['οδοσ', 'a', '\u{20001}', 'b', '野']));
  });

  it('Strip trims char::is_whitespace (normalizer.rs lrstrip): U+0085 trimmed, U+FEFF kept', () => {
    const t = wordLevel(null, ['x', '\uFEFFx', '\u0085x'], { type: 'Strip', strip_left: true, strip_right: true });
    expect(t.ids('\u0085x ')).toEqual(t.of(['x']));
    expect(t.ids('\uFEFFx')).toEqual(t.of(['\uFEFFx']));
  });
});

describe('the demo model (data/models/word-llama: Lowercase, Whitespace, WordLevel)', () => {
  const tok = loadTokenizer(fileURLToPath(new URL('../../../data/models/word-llama', import.meta.url)));
  it('keeps a non-ASCII word whole (<unk> here) as Rust does, where the JS library gave z / ü / rich', () => {
    // "zürich" and "café" are not in its vocabulary: <s> <unk> <unk> (the JS library: <s> z ü rich caf é = 1 0 0 871 0 0)
    expect(tok.encode('Zürich café', true)).toEqual([1, 0, 0]);
  });
  it('tokenizes ASCII SST-2 text as before', () => {
    // the ids the JS library gave before the change (as for all 866 ASCII-only sentences of data/sst2/test.tsv)
    expect(tok.encode("it 's a charming and often affecting journey .  It was", true)).toEqual([1, 23, 24, 28, 12, 7395, 6, 2838, 0, 3146, 5, 23, 41]);
  });
});

describe('rustSemantics', () => {
  it('leaves its argument and the pieces it does not know alone', () => {
    const json = { normalizer: { type: 'NFKC' }, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, use_regex: false }, model: {} };
    const copy = structuredClone(json);
    expect(rustSemantics(json)).toEqual(copy);
    expect(json).toEqual(copy);
    expect('normalizer' in rustSemantics({ model: {} })).toBe(false);
  });
});

// defines: rustSemantics — a tokenizer.json rewritten so that @huggingface/tokenizers (pure JS) splits and
// normalizes non-ASCII text as the Rust tokenizers library (what Python transformers runs) does.
//
// The JS library builds several pre-tokenizers and normalizers from JS regexes and string methods whose
// \w, \d, \s and trim() are ASCII or ECMAScript definitions, where the Rust library uses Unicode ones:
//  - Whitespace: JS /\w+|[^\w\s]+/g (ASCII \w: "Zürich" -> "Z" "ü" "rich"); Rust whitespace.rs
//    `Regex::new(r"\w+|[^\w\s]+")` with the regex crate, whose \w is Alphabetic|M|Nd|Pc|Join_Control and \s White_Space.
//  - WhitespaceSplit: JS /\S+/g; Rust whitespace.rs splits on `char::is_whitespace` (White_Space).
//  - BertPreTokenizer: JS \s; Rust bert.rs splits on `char::is_whitespace`, then isolates each punctuation char.
//  - Digits: JS \d (ASCII, even with the u flag); Rust digits.rs splits on `char::is_numeric` (Nd|Nl|No).
//  - Punctuation: JS keeps a run of punctuation together and ignores `behavior`; Rust punctuation.rs splits on
//    each punctuation char with `behavior` (default Isolated: "?!" -> "?" "!"), ASCII text included.
//  - ByteLevel (use_regex): the same GPT-2 regex in both, but JS \s; Rust byte_level.rs compiles it with onig
//    (Ruby syntax, no ASCII option: \s is White_Space), e.g. "a\u0085\u0085b" or "a\uFEFF\uFEFFb" split otherwise.
//  - Metaspace: JS ignores `split` (default true in Rust metaspace.rs: the text is cut before each replacement
//    char, MergedWithNext), ASCII text included; JS also prefers a `str_rep` key that Rust ignores.
//  - Strip: JS trim(); Rust normalizer.rs lrstrip trims `char::is_whitespace`.
//  - Lowercase / BertNormalizer lowercase: JS String#toLowerCase maps a word-final Σ to ς; Rust normalizer.rs
//    lowercase() maps char by char (`char::to_lowercase`), always σ.
//  - BertNormalizer handle_chinese_chars: JS tests UTF-16 code units, so it misses the CJK ranges above U+FFFF
//    that Rust normalizers/bert.rs is_chinese_char lists.
// JS \s differs from White_Space by U+FEFF (JS only) and U+0085 (White_Space only).
// Each rewrite below is a Split / Replace the JS library runs as the Rust one behaves; the JS library compiles
// their Regex patterns with the u flag, \p{...} passed through as written.

type Json = Record<string, unknown>;

/** The regex crate's Unicode \w (regex-syntax unicode_tables/perl_word.rs), inside a character class (u flag). */
export const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
/** `char::is_whitespace`: the White_Space property (the regex crate's Unicode \s is the same set), inside a character class (u flag). */
export const SPACE = '\\p{White_Space}';
/** Rust bert.rs / punctuation.rs: `char::is_ascii_punctuation(c) || c.is_punctuation()` (general category P). */
const PUNCT = '\\p{P}!-\\/:-@\\[-`{-~';
/** `char::is_numeric`: general categories Nd, Nl, No. */
const NUMERIC = '\\p{N}';

/** Rust byte_level.rs's regex (onig syntax: the JS library's Split translates its \s to White_Space). */
const BYTE_LEVEL_RE = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** A Split pre-tokenizer whose pieces are the matches of `regex` (what is not matched is dropped). */
const keepMatches = (regex: string): Json => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Removed', invert: true });

/**
 * Pieces of Rust's `NormalizedString::split(is_delim, behavior)` with a per-char predicate (each delimiter char its
 * own match), as one regex of which every match is a piece: `d` is the delimiter class's content.
 */
function splitOnChars(d: string, behavior: unknown): Json | null {
  switch (behavior ?? 'Isolated') {
    case 'Isolated':
      return keepMatches(`[^${d}]+|[${d}]`);
    case 'Removed':
      return keepMatches(`[^${d}]+`);
    case 'Contiguous':
      return keepMatches(`[^${d}]+|[${d}]+`);
    case 'MergedWithPrevious':
      return keepMatches(`[^${d}]*[${d}]|[^${d}]+`);
    case 'MergedWithNext':
      return keepMatches(`[${d}][^${d}]*|[^${d}]+`);
    default:
      return null; // not a behavior the Rust library knows: left for the JS library to accept or reject
  }
}

function preTokenizer(p: unknown): unknown {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return p;
  const o = p as Json;
  switch (o.type) {
    case 'Whitespace':
      return keepMatches(`[${WORD}]+|[^${WORD}${SPACE}]+`);
    case 'WhitespaceSplit':
      return keepMatches(`[^${SPACE}]+`);
    case 'BertPreTokenizer':
      return keepMatches(`[^${SPACE}${PUNCT}]+|[${PUNCT}]`);
    case 'Punctuation':
      return splitOnChars(PUNCT, o.behavior) ?? o;
    case 'Digits':
      return splitOnChars(NUMERIC, o.individual_digits === true ? 'Isolated' : 'Contiguous');
    case 'ByteLevel': {
      if (o.use_regex === false) return o;
      // Rust: a space prepended (add_prefix_space) to a piece not starting with one, then the regex split (Isolated),
      // then the bytes mapped: the JS Metaspace with ' ' for '▁' prepends the space, the JS Split the regex
      return {
        type: 'Sequence',
        pretokenizers: [
          ...(o.add_prefix_space === true ? [{ type: 'Metaspace', replacement: ' ', prepend_scheme: 'always', split: false }] : []),
          { type: 'Split', pattern: { Regex: BYTE_LEVEL_RE }, behavior: 'Isolated', invert: false },
          { ...o, add_prefix_space: false, use_regex: false },
        ],
      };
    }
    case 'Metaspace': {
      const r = typeof o.replacement === 'string' && [...o.replacement].length === 1 ? o.replacement : null;
      if (r === null) return o; // Rust wants one char: left for the JS library as it was
      const space: Json = { ...o, str_rep: r, split: false };
      if (o.split === false) return space;
      return { type: 'Sequence', pretokenizers: [space, splitOnChars(`\\x{${r.codePointAt(0)!.toString(16)}}`, 'MergedWithNext')] };
    }
    case 'Sequence':
      return Array.isArray(o.pretokenizers) ? { ...o, pretokenizers: o.pretokenizers.map(preTokenizer) } : o;
    default:
      return o;
  }
}

/** Σ to σ first: the JS lowercasing then gives what Rust's char-by-char `to_lowercase` gives (Final_Sigma is the only context rule). */
const SIGMA: Json = { type: 'Replace', pattern: { String: '\u03A3' }, content: '\u03C3' };
/** Rust normalizers/bert.rs is_chinese_char ranges above U+FFFF, spaced as do_handle_chinese_chars does (`$&`: String#replaceAll's whole match). */
const ASTRAL_CJK: Json = {
  type: 'Replace',
  pattern: { Regex: '[\\x{20000}-\\x{2A6DF}\\x{2A700}-\\x{2B73F}\\x{2B740}-\\x{2B81F}\\x{2B920}-\\x{2CEAF}\\x{2F800}-\\x{2FA1F}]' },
  content: ' $& ',
};

/**
 * What the Lowercase normalizer gives in the Rust library (char by char `to_lowercase`): the JS lowercasing after Σ → σ,
 * as the rewritten normalizer runs it (a word-final Σ is σ, not ς).
 */
export function rustLowercase(text: string): string {
  return text.replaceAll('\u03A3', '\u03C3').toLowerCase();
}

function normalizer(n: unknown): unknown {
  if (n === null || typeof n !== 'object' || Array.isArray(n)) return n;
  const o = n as Json;
  switch (o.type) {
    case 'Lowercase':
      return { type: 'Sequence', normalizers: [SIGMA, o] };
    case 'BertNormalizer': {
      // clean_text (controls dropped, whitespace to ' ') leaves CJK chars and Σ alone, so both may run before it
      const before = [...(o.handle_chinese_chars ? [ASTRAL_CJK] : []), ...(o.lowercase ? [SIGMA] : [])];
      return before.length > 0 ? { type: 'Sequence', normalizers: [...before, o] } : o;
    }
    case 'Strip': {
      const steps = [
        ...(o.strip_left === true ? [{ type: 'Replace', pattern: { Regex: `\\A[${SPACE}]+` }, content: '' }] : []),
        ...(o.strip_right === true ? [{ type: 'Replace', pattern: { Regex: `[${SPACE}]+\\z` }, content: '' }] : []),
      ];
      return { type: 'Sequence', normalizers: steps };
    }
    case 'Sequence':
      return Array.isArray(o.normalizers) ? { ...o, normalizers: o.normalizers.map(normalizer) } : o;
    default:
      return o;
  }
}

/**
 * `json` (a parsed tokenizer.json) with the pre-tokenizers and normalizers that @huggingface/tokenizers runs
 * differently from the Rust library on non-ASCII text (and Punctuation on any text) replaced by equivalents it
 * runs as Rust does. Does not modify `json`.
 */
export function rustSemantics(json: Json): Json {
  const out = { ...json };
  if ('normalizer' in json) out.normalizer = normalizer(json.normalizer);
  if ('pre_tokenizer' in json) out.pre_tokenizer = preTokenizer(json.pre_tokenizer);
  return out;
}

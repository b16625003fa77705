// defines: readAgNews and cleanAgNews — the public AG News text (Zhang et al.
// 2015; ../shared/data/agnews: `text<TAB>label`, no header) as plain English for
// pretraining. The crawl's HTML entities lost their '&' ("#39;" for an
// apostrophe, "quot;") and '\' stands for a line break: both are undone here so
// the vocabulary holds words, not markup.
import { readFileSync } from 'node:fs';

import { mulberry32, shuffleInPlace } from '../mulberry32.js';

const ENTITIES: [RegExp, string][] = [
  // the crawl left a space before the apostrophe ("Street #39;s" → "Street 's"); it is kept: the
  // Whitespace pre-tokenizer splits "'" off either way, and the shipped vocabulary was counted so
  [/&?#39;/g, "'"],
  [/&?quot;/g, '"'],
  [/&?amp;/g, '&'],
  [/&?lt;/g, '<'],
  [/&?gt;/g, '>'],
  [/&?#36;/g, '$'],
  [/&?#(\d+);/g, ' '],
];

/** One AG News text as plain text: entities restored, markup tags and line-break backslashes removed, spaces collapsed. */
export function cleanAgNews(text: string): string {
  let t = text;
  for (const [re, s] of ENTITIES) t = t.replace(re, s);
  return t
    .replace(/<[^>]{0,40}>/g, ' ')
    .replace(/\\+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The text column of an AG News TSV file, cleaned; rows without a tab or with empty text are skipped. */
export function readAgNews(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => {
      const tab = line.lastIndexOf('\t');
      return tab < 0 ? '' : cleanAgNews(line.slice(0, tab));
    })
    .filter((t) => t.length > 0);
}

/**
 * The King James Bible (1611, public domain) as printed by Debian's `bible` program (packages bible-kjv,
 * bible-kjv-text; `bible gen1:1-rev22:21`): verse lines "  N text" with wrapped continuations and book
 * headers. Returns passages of `versesPerText` consecutive verses (the size of a news item).
 */
export function parseKjv(printed: string, versesPerText = 3): string[] {
  const verses: string[] = [];
  for (const line of printed.split('\n')) {
    const m = /^\s+\d+ (.*)$/.exec(line);
    if (m) verses.push(m[1]!.trim());
    else if (line.trim() !== '' && verses.length > 0 && !/^[1-3]?\s?[A-Z][a-z]+( [A-Z][a-z]+)* \d+$/.test(line.trim()))
      verses[verses.length - 1] += ' ' + line.trim();
  }
  const out: string[] = [];
  for (let i = 0; i < verses.length; i += versesPerText) out.push(verses.slice(i, i + versesPerText).join(' '));
  return out;
}

/**
 * Ambrose Bierce's "The Devil's Dictionary" (1911, public domain) from Debian's dict-devil
 * (/usr/share/dictd/devil.dict, gunzipped): paragraphs, without the dictfmt header entries.
 */
export function parseDevil(dict: string): string[] {
  return dict
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').replace(/_/g, '').trim())
    .filter((p) => p.length > 40 && !p.startsWith('00-database') && !/wiretap|Copyright|Public Domain Text|original data|Entered by/i.test(p));
}

/**
 * The Moby Thesaurus (Grady Ward, 1996, public domain; words.txt of the npm package moby@1.1.2, one entry per
 * line: "head,related,related,…"). One text per entry: "head: w w w …." with `perEntry` of its related words
 * in a seeded random order — the lists are alphabetical, so their first words would be only a-words, and the
 * longest run to hundreds of words. What it teaches the model: which words are near in meaning. News and old
 * books leave the words people judge things with ("funny", "dull", "clever") out of a vocabulary of their
 * frequent words, or seen too rarely to mean anything.
 */
export function parseMoby(words: string, perEntry: number, seed: number): string[] {
  const next = mulberry32(seed);
  const out: string[] = [];
  for (const line of words.split(/\r?\n/)) {
    if (line === '') continue;
    const [head, ...related] = line.split(',');
    // the whole list shuffled, then its first perEntry
    out.push(`${head}: ${shuffleInPlace(related, next).slice(0, perEntry).join(' ')}.`);
  }
  return out;
}

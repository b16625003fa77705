// The demo model's public corpus readers (lib/demo-model/corpus.ts): AG News markup undone, the
// King James Bible's printed verses joined into passages, the Devil's Dictionary without its header.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanAgNews, parseDevil, parseKjv, parseMoby, readAgNews } from '../../../lib/demo-model/corpus.js';

describe('AG News', () => {
  it('restores entities and removes tags and line-break backslashes', () => {
    expect(cleanAgNews('It #39;s over. quot;Hi,quot; he said \\\\ lt;b&gt;Bold&lt;/b&gt;   AT&amp;T')).toBe('It \'s over. "Hi," he said Bold AT&T');
  });

  it('reads the text column of a headerless TSV and skips empty rows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpzo-agnews-'));
    try {
      writeFileSync(join(dir, 'a.tsv'), 'First item #39;s text\tWorld\n\tSports\nno tab here\nSecond\\item\tBusiness\n');
      expect(readAgNews(join(dir, 'a.tsv'))).toEqual(["First item 's text", 'Second item']);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('public-domain books', () => {
  it('joins wrapped KJV verses, skips book headers and groups verses into passages', () => {
    const printed =
      '\nGenesis 1\n\n  1 In the beginning.\n  2 And the earth was without form, and void; and darkness was upon the face of\nthe deep.\n  3 Let there be light.\n\n1 Kings 2\n\n  1 Now the days.\n';
    expect(parseKjv(printed, 2)).toEqual([
      'In the beginning. And the earth was without form, and void; and darkness was upon the face of the deep.',
      'Let there be light. Now the days.',
    ]);
  });

  it("keeps the Devil's Dictionary's entries and drops the dictfmt header and the transcriber's notice", () => {
    const dict =
      "00-database-short\n     The Devil's Dictionary (1881-1906)\n\nThe original data was distributed with the notice shown below. No additional restrictions.\n\n" +
      '           Copyright 1911 by Albert and Charles Boni, Inc.\n\nABASEMENT, n. A decent and customary mental attitude in the presence\nof wealth of _power_.\n\nshort\n';
    expect(parseDevil(dict)).toEqual(['ABASEMENT, n. A decent and customary mental attitude in the presence of wealth of power.']);
  });
});

describe('the Moby Thesaurus', () => {
  const words = 'good,excellent,fine,great,nice,sound\r\ndull,boring,tedious,flat\n\nodd,strange\n';

  it('makes one text per entry: the head, then perEntry related words in a seeded order', () => {
    const texts = parseMoby(words, 3, 1);
    expect(texts).toHaveLength(3);
    expect(texts[2]).toBe('odd: strange.');
    for (const [t, head, related] of [
      [texts[0]!, 'good', ['excellent', 'fine', 'great', 'nice', 'sound']],
      [texts[1]!, 'dull', ['boring', 'tedious', 'flat']],
    ] as const) {
      const m = /^(\w+): (.*)\.$/.exec(t)!;
      expect(m[1]).toBe(head);
      const got = m[2]!.split(' ');
      expect(got).toHaveLength(3);
      expect(new Set(got).size).toBe(3);
      for (const w of got) expect(related).toContain(w);
    }
  });

  it('draws the same words for the same seed, and not always the list order', () => {
    expect(parseMoby(words, 3, 1)).toEqual(parseMoby(words, 3, 1));
    const orders = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => parseMoby(words, 5, seed)[0]));
    expect(orders.size).toBeGreaterThan(1);
  });
});

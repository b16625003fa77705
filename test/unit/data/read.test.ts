import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { readRecords } from '../../../lib/data/read.js';

const dir = mkdtempSync(join(tmpdir(), 'dpzo-read-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('readRecords', () => {
  it('reads SST-2 style TSV with a header, keeping trailing spaces of fields', () => {
    const r = readRecords(file('a.tsv', 'sentence\tlabel\nit \'s good \t1\nbad\t0\n'));
    expect(r.rows).toEqual([{ sentence: "it 's good ", label: '1' }, { sentence: 'bad', label: '0' }]);
    expect(r.lines).toEqual([2, 3]);
  });
  it('reads CSV with quotes, doubled quotes, commas and newlines inside fields', () => {
    const r = readRecords(file('a.csv', 'text,label\r\n"a, ""quoted""\nline",1\nplain,0\n'));
    expect(r.rows).toEqual([{ text: 'a, "quoted"\nline', label: '1' }, { text: 'plain', label: '0' }]);
    expect(r.lines).toEqual([2, 4]);
  });
  it('keeps a lone CR inside an unquoted CSV field, as the TSV reader does (it was dropped: "a\\rb" read as "ab")', () => {
    const want = [{ text: 'a\rb', label: '1' }, { text: 'c', label: '0' }];
    expect(readRecords(file('cr-in.csv', 'text,label\r\na\rb,1\r\nc,0\r')).rows).toEqual(want);
    expect(readRecords(file('cr-in.tsv', 'text\tlabel\r\na\rb\t1\r\nc\t0\r\n')).rows).toEqual(want);
  });
  it('reads JSONL and JSON arrays', () => {
    expect(readRecords(file('a.jsonl', '{"text":"x"}\n\n{"text":"y","n":[1,2]}\n')).rows).toEqual([{ text: 'x' }, { text: 'y', n: [1, 2] }]);
    expect(readRecords(file('b.json', '[{"a":1},{"a":2}]')).rows).toHaveLength(2);
  });
  it('names the line where each element of a JSON array starts (in a pretty-printed file, element 2 was called line 2)', () => {
    const r = readRecords(file('pretty.json', '[\n  {\n    "s": "a, [b] {c}",\n    "n": 1\n  },\n  {"s": "\\"]\\n"}, {"s": 2}\n]\n'));
    expect(r.rows).toEqual([{ s: 'a, [b] {c}', n: 1 }, { s: '"]\n' }, { s: 2 }]);
    expect(r.lines).toEqual([2, 6, 6]);
  });
  it('reads a .json file in JSON Lines, as datasets writes it (Dataset.to_json) and load_dataset reads it', () => {
    const r = readRecords(file('hf.json', '{"sentence":"a good film","label":1}\n\n{"sentence":"bad","label":0}\n'));
    expect(r.rows).toEqual([{ sentence: 'a good film', label: 1 }, { sentence: 'bad', label: 0 }]);
    expect(r.lines).toEqual([1, 3]);
    expect(readRecords(file('one.json', ' {"a":1}')).rows).toEqual([{ a: 1 }]);
    expect(() => readRecords(file('badl.json', '{"a":1}\n{oops\n'))).toThrow(/badl\.json:2: invalid JSON/);
    expect(() => readRecords(file('num.json', '3'))).toThrow(/num\.json:1: each line must be a JSON object/);
  });
  it("reads pandas' to_csv with its index column (an empty header name is 'Unnamed: 0', as pandas names it; it was refused)", () => {
    const r = readRecords(file('pandas.csv', ',sentence,label\n0,a fine film,1\n1,dull,0\n'));
    expect(r.rows).toEqual([
      { 'Unnamed: 0': '0', sentence: 'a fine film', label: '1' },
      { 'Unnamed: 0': '1', sentence: 'dull', label: '0' },
    ]);
    expect(() => readRecords(file('dup.csv', 'Unnamed: 1,,x\n1,2,3\n'))).toThrow(/dup\.csv:1: the header names columns 1 and 2 the same/);
  });
  it('names the file and line of malformed input', () => {
    expect(() => readRecords(file('bad.jsonl', '{"a":1}\n{oops\n'))).toThrow(/bad\.jsonl:2: invalid JSON/);
    // not the row's own count of fields: its private text's delimiters
    expect(() => readRecords(file('bad.tsv', 'a\tb\n1\t2\t3\n'))).toThrow(/bad\.tsv:2: the number of fields is not the header's 2$/);
    expect(() => readRecords(file('bad.csv', 'a\n"open\n'))).toThrow(/unterminated/);
    expect(() => readRecords(file('x.parquet', ''))).toThrow(/unknown data format/);
  });
  it('refuses bytes that are not UTF-8, naming the line and not the text (a lenient decode trained on U+FFFD)', () => {
    const latin1 = (name: string, lines: string[]) => {
      const p = join(dir, name);
      writeFileSync(p, Buffer.from(lines.join('\n') + '\n', 'latin1'));
      return p;
    };
    // "café" in Latin-1 is 63 61 66 e9: e9 starts a 3-byte UTF-8 sequence that never completes
    const tsv = latin1('latin1.tsv', ['sentence\tlabel', 'fine\t1', 'secret café\t0']);
    expect(() => readRecords(tsv)).toThrow(expect.objectContaining({ code: 'ERR_DATA_FORMAT', message: `${tsv}:3: not valid UTF-8 (save the file as UTF-8)` }));
    const jsonl = latin1('latin1.jsonl', ['{"text":"ok"}', '{"text":"naïve secret"}']);
    expect(() => readRecords(jsonl)).toThrow(/latin1\.jsonl:2: not valid UTF-8/);
    try {
      readRecords(tsv);
    } catch (e) {
      expect((e as Error).message).not.toMatch(/secret|caf/);
    }
    // the same text saved as UTF-8 (with a BOM) reads as before
    const ok = join(dir, 'utf8.tsv');
    writeFileSync(ok, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('sentence\tlabel\nsecret café\t0\n', 'utf8')]));
    expect(readRecords(ok).rows).toEqual([{ sentence: 'secret café', label: '0' }]);
  });
  it('refuses CR-only line endings (classic Mac), naming the reason (a TSV read as one header line: "no examples"; its text became field names)', () => {
    for (const [name, text] of [
      ['cr.tsv', 'sentence\tlabel\rsecret a\t1\rb\t0\r'],
      ['cr.csv', 'sentence,label\rsecret a,1\rb,0\r'],
      ['cr.jsonl', '{"sentence":"secret a","label":1}\r{"sentence":"b","label":0}\r'],
    ]) {
      const p = file(name!, text!);
      expect(() => readRecords(p)).toThrow(expect.objectContaining({ code: 'ERR_DATA_FORMAT', message: expect.stringMatching(/lines end in CR only/) }));
    }
    // CRLF still reads
    expect(readRecords(file('crlf.tsv', 'sentence\tlabel\r\na\t1\r\n')).rows).toEqual([{ sentence: 'a', label: '1' }]);
  });
  it('rejects an empty dataset', () => {
    expect(() => readRecords(file('empty.tsv', 'sentence\tlabel\n'))).toThrow(expect.objectContaining({ code: 'ERR_DATA_EMPTY' }));
    expect(() => readRecords(file('empty.jsonl', '\n\n'))).toThrow(/no examples/);
  });
});

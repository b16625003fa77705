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
  it('reads JSONL and JSON arrays', () => {
    expect(readRecords(file('a.jsonl', '{"text":"x"}\n\n{"text":"y","n":[1,2]}\n')).rows).toEqual([{ text: 'x' }, { text: 'y', n: [1, 2] }]);
    expect(readRecords(file('b.json', '[{"a":1},{"a":2}]')).rows).toHaveLength(2);
  });
  it('names the file and line of malformed input', () => {
    expect(() => readRecords(file('bad.jsonl', '{"a":1}\n{oops\n'))).toThrow(/bad\.jsonl:2: invalid JSON/);
    expect(() => readRecords(file('bad.tsv', 'a\tb\n1\t2\t3\n'))).toThrow(/bad\.tsv:2: 3 fields, the header has 2/);
    expect(() => readRecords(file('bad.csv', 'a\n"open\n'))).toThrow(/unterminated/);
    expect(() => readRecords(file('x.parquet', ''))).toThrow(/unknown data format/);
  });
  it('rejects an empty dataset', () => {
    expect(() => readRecords(file('empty.tsv', 'sentence\tlabel\n'))).toThrow(expect.objectContaining({ code: 'ERR_DATA_EMPTY' }));
    expect(() => readRecords(file('empty.jsonl', '\n\n'))).toThrow(/no examples/);
  });
});

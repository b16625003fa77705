// Issue 10.14: a data file with one enormous line (10 MB) used to be tokenized whole (42 s,
// 2.4 GB) before any length check. Every format now refuses a record over MAX_RECORD_CHARS
// at read time, naming file and line and never quoting the record.
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { MAX_DATA_FILE_BYTES, MAX_RECORD_CHARS, readRecords } from '../../../lib/data/read.js';
import { makeTempDir } from '../../helpers/checkpoints.js';

const tmp = makeTempDir('dpzo-record-limit-');
afterAll(() => tmp.cleanup());
const SECRET = 'SECRETalice';
const huge = (SECRET + ' ').repeat(Math.ceil((10 * 1024 * 1024) / (SECRET.length + 1)));

function expectRefused(name: string, text: string, where: RegExp): void {
  const file = join(tmp.dir, name);
  writeFileSync(file, text);
  const t0 = performance.now();
  let err: Error | undefined;
  try {
    readRecords(file);
  } catch (e) {
    err = e as Error;
  }
  expect(err, name).toMatchObject({ code: 'ERR_DATA_FORMAT' });
  expect(err!.message).toMatch(where);
  expect(err!.message).toMatch(new RegExp(`limit of ${MAX_RECORD_CHARS}`));
  expect(err!.message).not.toContain(SECRET);
  // nor its length (private): the only large number in the message is the limit
  expect(err!.message.replaceAll(String(MAX_RECORD_CHARS), '')).not.toMatch(/\d{5,}/);
  // refused while reading, not after tokenizing: well under a second on any machine (not a timing assertion
  // on the code under test so much as a guard against the 42 s path coming back)
  expect(performance.now() - t0).toBeLessThan(10_000);
}

describe('records over the size limit', () => {
  it('TSV, CSV, JSONL and JSON: one line naming the file and record', () => {
    expectRefused('big.tsv', `sentence\tlabel\n${huge}\t1\n`, /big\.tsv:2: a record exceeds the limit/);
    expectRefused('big.csv', `sentence,label\n"${huge}",1\n`, /big\.csv:2: a record exceeds the limit/);
    expectRefused('big.jsonl', `{"text":"ok"}\n${JSON.stringify({ text: huge })}\n`, /big\.jsonl:2: a record/);
    expectRefused('big.json', JSON.stringify([{ text: 'ok' }, { text: huge }]), /big\.json: element 1 is over the limit/);
  });

  it('a file over the size limit is refused before it is read (a sparse 600 MB file: no time, no memory)', () => {
    const file = join(tmp.dir, 'huge.tsv');
    writeFileSync(file, 'sentence\tlabel\n');
    truncateSync(file, MAX_DATA_FILE_BYTES + 1);
    const t0 = performance.now();
    expect(() => readRecords(file)).toThrow(expect.objectContaining({ code: 'ERR_DATA_FORMAT', message: expect.stringMatching(/huge\.tsv: \d+ bytes is more than/) }));
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('a record just under the limit is read', () => {
    const file = join(tmp.dir, 'ok.tsv');
    const text = 'x'.repeat(MAX_RECORD_CHARS - 10);
    writeFileSync(file, `sentence\tlabel\n${text}\t1\n`);
    expect(readRecords(file).rows[0]!.sentence).toBe(text);
  });
});

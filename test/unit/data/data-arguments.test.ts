// The data layer's exported entry points check their arguments' types: loadDataset(5, …) and a number for any other
// path failed as Node's TypeError ERR_INVALID_ARG_TYPE from deep in node:fs (no DpzoError, no function named), a task,
// records or options that are none as bare TypeErrors, and PoissonSampler's refusals were uncoded RangeErrors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { DpzoError } from '../../../lib/errors.js';
import { PoissonSampler, buildDataset, cryptoUniform, formatOf, hasTokenizer, loadDataset, loadTokenizer, readRecords, validateTemplate } from '../../../lib/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'dpzo-data-arguments-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Calls `f` with arguments of any type (what a JavaScript caller can pass). */
const untyped = (f: unknown) => f as (...a: unknown[]) => unknown;

function argumentError(f: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(DpzoError);
  expect(thrown).toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(message) });
}

const config = { vocabSize: 100, maxPositions: 64 };

describe('data entry points: argument types', () => {
  it('loadDataset(5, …) is ERR_ARGUMENT naming the file argument, as are a modelDir or tokenizer that are none', () => {
    argumentError(() => untyped(loadDataset)(5, { task: { kind: 'tokens' }, modelDir: 'm', config }), /loadDataset: file must be a string \(got number\)/);
    argumentError(() => untyped(loadDataset)(undefined, { task: { kind: 'tokens' }, modelDir: 'm', config }), /file must be a string/);
    const f = join(dir, 'a.jsonl');
    writeFileSync(f, '{"text":"a"}\n');
    argumentError(() => untyped(loadDataset)(f, { task: { kind: 'lm' }, modelDir: 5, config }), /modelDir must be a string/);
    argumentError(() => untyped(loadDataset)(f, { task: { kind: 'lm' }, modelDir: 'm', config, tokenizer: 5 }), /tokenizer must be/);
  });

  it('readRecords, formatOf, hasTokenizer, loadTokenizer and validateTemplate name an argument that is not a string', () => {
    argumentError(() => untyped(readRecords)(5), /readRecords: file must be a string/);
    const f = join(dir, 'b.jsonl');
    writeFileSync(f, '{"text":"a"}\n');
    // a format that is none read the file as tab-separated: "no examples"
    argumentError(() => untyped(readRecords)(f, 5), /readRecords: format must be one of jsonl, json, csv, tsv/);
    expect(readRecords(f, 'jsonl').rows).toEqual([{ text: 'a' }]);
    argumentError(() => untyped(formatOf)(5), /formatOf: file must be a string/);
    argumentError(() => untyped(hasTokenizer)(5), /hasTokenizer: modelDir must be a string/);
    argumentError(() => untyped(loadTokenizer)(null), /loadTokenizer: modelDir must be a string \(got null\)/);
    argumentError(() => untyped(validateTemplate)(5), /validateTemplate: template must be a string/);
  });

  it('buildDataset names records, task, tokenizer and options that are not of their type', () => {
    const records = { file: 'x.jsonl', rows: [{ input_ids: [1, 2] }], lines: [1] };
    const opts = { maxLength: 16, vocabSize: 100 };
    argumentError(() => untyped(buildDataset)(5, { kind: 'tokens' }, null, opts), /buildDataset: records must be/);
    argumentError(() => untyped(buildDataset)(records, 5, null, opts), /buildDataset: task must be/);
    argumentError(() => untyped(buildDataset)(records, { kind: 'lm' }, 5, opts), /buildDataset: tokenizer must be/);
    argumentError(() => untyped(buildDataset)(records, { kind: 'tokens' }, null, 5), /buildDataset: options must be an object/);
    argumentError(() => untyped(buildDataset)(records, { kind: 'tokens' }, null, { maxLength: 16 }), /vocabSize must be a positive integer/);
    expect(buildDataset(records, { kind: 'tokens' }, null, opts).examples).toHaveLength(1);
  });

  it('PoissonSampler and cryptoUniform refusals are coded; a one-word buffer no longer draws NaN', () => {
    argumentError(() => new PoissonSampler(0, 0.5), /PoissonSampler: size/);
    argumentError(() => untyped((n: number, q: number) => new PoissonSampler(n, q))(5, '0.5'), /sampleRate/);
    argumentError(() => untyped((n: number, q: number, u: unknown) => new PoissonSampler(n, q, u as () => number))(5, 0.5, 'x'), /uniform must be a function/);
    argumentError(() => cryptoUniform(1), /cryptoUniform: bufferWords must be an integer of at least 2/);
    const u = cryptoUniform(2);
    for (let i = 0; i < 4; i++) expect(u()).toBeGreaterThan(0);
  });
});

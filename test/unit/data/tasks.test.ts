import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadDataset } from '../../../lib/data/load.js';
import { IGNORE, buildDataset } from '../../../lib/data/tasks.js';
import { readRecords } from '../../../lib/data/read.js';
import { loadTokenizer } from '../../../lib/data/tokenizer.js';
import { byteTokenizerJson, writeByteTokenizer } from '../../helpers/byte-tokenizer.js';

const dir = mkdtempSync(join(tmpdir(), 'dpzo-tasks-'));
writeByteTokenizer(dir);
const tok = loadTokenizer(dir);
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const bytes = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => b + 3);
const opts = { maxLength: 64, vocabSize: 259 };

describe('tokenizer', () => {
  it('encodes with BOS and decodes back', () => {
    expect(tok.encode('hi', true)).toEqual([1, ...bytes('hi')]);
    expect(tok.encode('hi', false)).toEqual(bytes('hi'));
    expect(tok.decode([1, ...bytes('héllo')])).toBe('héllo');
    expect(tok.eosId).toBe(2);
  });
  it('decodes no ids to the empty text (a generation of 0 tokens threw an Error without a code)', () => {
    expect(tok.decode([])).toBe('');
    expect(tok.decode(new Int32Array(0))).toBe('');
  });
  it("tokenizer_config.json's add_bos_token / add_eos_token decide the special tokens, as transformers rebuilds the post-processor from them", () => {
    const withConfig = (cfg: object) => {
      const d = mkdtempSync(join(tmpdir(), 'dpzo-addbos-'));
      writeByteTokenizer(d);
      writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', ...cfg }));
      return loadTokenizer(d);
    };
    expect(withConfig({ add_bos_token: false }).encode('hi', true)).toEqual(bytes('hi'));
    expect(withConfig({ add_eos_token: true }).encode('hi', true)).toEqual([1, ...bytes('hi'), 2]);
    expect(withConfig({ add_bos_token: false, add_eos_token: true }).encode('hi', true)).toEqual([...bytes('hi'), 2]);
    expect(withConfig({ add_bos_token: true }).encode('hi', true)).toEqual([1, ...bytes('hi')]);
    expect(withConfig({ add_eos_token: true }).encode('hi', false)).toEqual(bytes('hi'));
  });
  it("Llama's and Gemma's tokenizer classes add BOS (add_bos_token defaults to true) whatever tokenizer.json's post-processor does, as transformers rebuilds it", () => {
    const withClass = (cfg: object, postProcessor: unknown = null) => {
      const d = mkdtempSync(join(tmpdir(), 'dpzo-tokclass-'));
      writeFileSync(join(d, 'tokenizer.json'), JSON.stringify({ ...byteTokenizerJson(), post_processor: postProcessor }));
      writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ unk_token: '<unk>', ...cfg }));
      return loadTokenizer(d);
    };
    // no post-processor in tokenizer.json: the class's BOS (its default name '<s>' when the config names none)
    expect(withClass({ tokenizer_class: 'LlamaTokenizerFast' }).encode('hi', true)).toEqual([1, ...bytes('hi')]);
    expect(withClass({ tokenizer_class: 'LlamaTokenizer', bos_token: '<s>' }).encode('hi', false)).toEqual(bytes('hi'));
    expect(withClass({ tokenizer_class: 'CodeLlamaTokenizerFast', add_eos_token: true }).encode('hi', true)).toEqual([1, ...bytes('hi'), 2]);
    expect(withClass({ tokenizer_class: 'LlamaTokenizerFast', add_bos_token: false }).encode('hi', true)).toEqual(bytes('hi'));
    // a post-processor that appends EOS is replaced by the class's [BOS] $A
    const bosEos = { ...(byteTokenizerJson().post_processor as object), single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }], special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } } };
    expect(withClass({ tokenizer_class: 'LlamaTokenizerFast' }, bosEos).encode('hi', true)).toEqual([1, ...bytes('hi')]);
    // other classes keep tokenizer.json's post-processor: none, so no BOS
    expect(withClass({ tokenizer_class: 'PreTrainedTokenizerFast', bos_token: '<s>' }).encode('hi', true)).toEqual(bytes('hi'));
    expect(withClass({ tokenizer_class: 'constructor', bos_token: '<s>' }).encode('hi', true)).toEqual(bytes('hi'));
  });
  it('a model directory without tokenizer.json is a clear error', () => {
    const empty = mkdtempSync(join(tmpdir(), 'dpzo-notok-'));
    expect(() => loadTokenizer(empty)).toThrow(expect.objectContaining({ code: 'ERR_NO_TOKENIZER', message: expect.stringMatching(/no tokenizer\.json/) }));
  });
});

describe('classification', () => {
  // byte-level tokens: label words need distinct first bytes, so the space goes into the template
  const cls = { kind: 'classification' as const, template: '{sentence} It was ', labelWords: ['terrible', 'great'] };
  const recs = readRecords(file('sst.tsv', 'sentence\tlabel\nfun film \t1\ndull\t0\n'));
  it('fills the template, appends the label word token and targets only it', () => {
    const ds = buildDataset(recs, cls, tok, opts);
    expect(Array.from(ds.candidates!)).toEqual([bytes('t')[0], bytes('g')[0]]);
    const e = ds.examples[0]!;
    expect(Array.from(e.inputIds)).toEqual([1, ...bytes('fun film It was '), ds.candidates![1]!]);
    expect(Array.from(e.labels!).slice(0, -1).every((l) => l === IGNORE)).toBe(true);
    expect(e.labels![e.labels!.length - 1]).toBe(ds.candidates![1]);
    expect(e.classIndex).toBe(1);
    expect(ds.examples[1]!.classIndex).toBe(0);
  });
  it('a tokenizer that appends EOS (add_eos_token) ends the sequence, not the prompt: the label word follows the prompt directly', () => {
    const d = mkdtempSync(join(tmpdir(), 'dpzo-eos-'));
    writeByteTokenizer(d);
    writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', add_eos_token: true }));
    const eosTok = loadTokenizer(d);
    const ds = buildDataset(recs, cls, eosTok, opts);
    expect(Array.from(ds.examples[0]!.inputIds)).toEqual([1, ...bytes('fun film It was '), bytes('g')[0]]);
    const cut = buildDataset(recs, cls, eosTok, { ...opts, maxLength: 5 });
    expect(Array.from(cut.examples[0]!.inputIds)).toEqual([1, ...bytes('as '), bytes('g')[0]]);
    const pc = buildDataset(readRecords(file('pce.jsonl', '{"prompt":"ab","completion":"c"}\n')), { kind: 'lm' }, eosTok, opts);
    expect(Array.from(pc.examples[0]!.inputIds)).toEqual([1, ...bytes('abc')]);
    expect(Array.from(pc.examples[0]!.promptIds!)).toEqual([1, ...bytes('ab')]);
    // a text cut to fit keeps its EOS, as transformers truncates before adding it
    const lm = buildDataset(readRecords(file('te.jsonl', '{"text":"abcdef"}\n')), { kind: 'lm' }, eosTok, { ...opts, maxLength: 4 });
    expect(Array.from(lm.examples[0]!.inputIds)).toEqual([1, ...bytes('ab'), 2]);
  });
  it("the text is put into the template as is: a placeholder inside it is not expanded (a row's '{text}' became the row)", () => {
    const r = readRecords(file('ph.jsonl', '{"text":"a {text} b","label":1}\n'));
    const ds = buildDataset(r, { ...cls, textField: 'text', template: '{sentence} It was ' }, tok, opts);
    expect(Array.from(ds.examples[0]!.inputIds)).toEqual([1, ...bytes('a {text} b It was '), bytes('g')[0]]);
  });
  it('label words whose first tokens coincide are rejected', () => {
    // byte level: the defaults " terrible" and " great" both start with the space byte
    expect(() => buildDataset(recs, { kind: 'classification' }, tok, opts)).toThrow(/distinct tokens/);
    expect(() => buildDataset(recs, { ...cls, labelWords: ['terrible', 'tasty'] }, tok, opts)).toThrow(/distinct tokens/);
  });
  it('a label that is not one of the label words is an error naming the row', () => {
    const r = readRecords(file('bad.tsv', 'sentence\tlabel\nok\t1\nhm\t2\n'));
    expect(() => buildDataset(r, cls, tok, opts)).toThrow(expect.objectContaining({ code: 'ERR_DATA_LABEL', message: expect.stringMatching(/bad\.tsv:3: label is not one of/) }));
  });
  it('a template without {sentence} is an error', () => {
    expect(() => buildDataset(recs, { ...cls, template: 'It was' }, tok, opts)).toThrow(expect.objectContaining({ code: 'ERR_DATA_TEMPLATE' }));
  });
  it('maps string labels through a label-word object and cuts long sentences from the start', () => {
    const r = readRecords(file('s.jsonl', '{"text":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa end","y":"pos"}\n'));
    const ds = buildDataset(r, { kind: 'classification', textField: 'text', labelField: 'y', template: '{text}!', labelWords: { neg: 'no', pos: 'yes' } }, tok, { maxLength: 16, vocabSize: 259 });
    const e = ds.examples[0]!;
    expect(e.inputIds.length).toBe(16);
    expect(e.inputIds[0]).toBe(1);
    expect(tok.decode(e.inputIds.slice(0, -1))).toBe('aaaaaaaaa end!');
    expect(e.classIndex).toBe(1);
  });
});

describe('lm and tokens', () => {
  it('text: every position a target', () => {
    const ds = buildDataset(readRecords(file('t.jsonl', '{"text":"abc"}\n')), { kind: 'lm' }, tok, opts);
    expect(Array.from(ds.examples[0]!.inputIds)).toEqual([1, ...bytes('abc')]);
    expect(ds.examples[0]!.labels).toBeUndefined();
    expect(ds.generative).toBe(false);
  });
  it('prompt + completion: loss on the completion only, generative', () => {
    const ds = buildDataset(readRecords(file('p.jsonl', '{"prompt":"Q: 1+1?","completion":" 2"}\n')), { kind: 'lm' }, tok, opts);
    const e = ds.examples[0]!;
    const p = [1, ...bytes('Q: 1+1?')];
    expect(Array.from(e.inputIds)).toEqual([...p, ...bytes(' 2')]);
    expect(Array.from(e.labels!)).toEqual([...p.map(() => IGNORE), ...bytes(' 2')]);
    expect(Array.from(e.promptIds!)).toEqual(p);
    expect(e.reference).toBe(' 2');
    expect(ds.generative).toBe(true);
  });
  it('tokens: ids and optional labels, range-checked', () => {
    const ds = buildDataset(readRecords(file('k.jsonl', '{"input_ids":[1,5,6]}\n{"input_ids":[1,7],"labels":[-100,7]}\n')), { kind: 'tokens' }, null, opts);
    expect(Array.from(ds.examples[1]!.labels!)).toEqual([IGNORE, 7]);
    expect(() => buildDataset(readRecords(file('k2.jsonl', '{"input_ids":[1,999]}\n')), { kind: 'tokens' }, null, opts)).toThrow(/input_ids\[1\] is not a token id in \[0, 259\)/);
    expect(() => buildDataset(readRecords(file('k3.jsonl', '{"input_ids":[1,5],"labels":[5]}\n')), { kind: 'tokens' }, null, opts)).toThrow(/k3\.jsonl:1: 'labels' and 'input_ids' differ in length$/);
  });
  it('errors never quote private values or the row\'s keys', () => {
    const msg = (text: string, task: Parameters<typeof buildDataset>[1]) => {
      try {
        buildDataset(readRecords(file('secret.jsonl', text)), task, tok, opts);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    const secret = 'SECRET alice@example.com';
    const m1 = msg(`{"input_ids":[1,"${secret}",5]}\n`, { kind: 'tokens' });
    expect(m1).toMatch(/secret\.jsonl:1: input_ids\[1\] is not a token id .*\(a string\)/);
    expect(m1).not.toContain('SECRET');
    const m2 = msg('{"input_ids":[1,123456789]}\n', { kind: 'tokens' });
    expect(m2).not.toContain('123456789');
    const m3 = msg(`{"${secret}":1}\n`, { kind: 'lm' });
    expect(m3).toMatch(/missing field 'text'/);
    expect(m3).not.toContain('SECRET');
    // a tokenizer that does not match the model: the id it gives is the private text ('s' is byte 115, id 118)
    let m4 = '';
    try {
      buildDataset(readRecords(file('secret-vocab.jsonl', '{"text":"secret"}\n')), { kind: 'lm' }, tok, { ...opts, vocabSize: 100 });
    } catch (e) {
      m4 = (e as Error).message;
    }
    expect(m4).not.toMatch(/\b118\b/);
    expect(m4).toMatch(/secret-vocab\.jsonl:1: the tokenizer gives a token outside the model's vocabulary \[0, 100\)/);
    // a row's length is private too: the limit and the fields are named, not the row's 77 tokens or 3 labels
    const m5 = msg(`{"input_ids":${JSON.stringify(Array(77).fill(5))}}\n`, { kind: 'tokens' });
    expect(m5).toMatch(/secret\.jsonl:1: 'input_ids' has more tokens than the maximum 64$/);
    expect(m5.split('secret.jsonl:1:')[1]).not.toMatch(/77/);
    const m6 = msg('{"input_ids":[1,5,6,7,8],"labels":[5,6,7]}\n', { kind: 'tokens' });
    expect(m6).toMatch(/secret\.jsonl:1: 'labels' and 'input_ids' differ in length$/);
    expect(m6.split('secret.jsonl:1:')[1]).not.toMatch(/[35]/);
  });
  it('the lm row format is decided by the task, not by row 0: mixed rows are refused', () => {
    const mixed = readRecords(file('mixed.jsonl', '{"prompt":"a","completion":" b"}\n{"text":"hello world"}\n'));
    expect(() => buildDataset(mixed, { kind: 'lm' }, tok, opts)).toThrow(expect.objectContaining({ code: 'ERR_DATA_FORMAT', message: expect.stringMatching(/mixed\.jsonl:2: rows mix/) }));
    // the same row is built the same way whether or not a differently shaped row precedes it
    const alone = buildDataset(readRecords(file('alone.jsonl', '{"text":"hello world","prompt":"x"}\n')), { kind: 'lm', format: 'text' }, tok, opts);
    const after = buildDataset(
      readRecords(file('after.jsonl', '{"text":"a","prompt":"a","completion":" b"}\n{"text":"hello world","prompt":"x"}\n')),
      { kind: 'lm', format: 'text' },
      tok,
      opts,
    );
    expect(Array.from(after.examples[1]!.inputIds)).toEqual(Array.from(alone.examples[0]!.inputIds));
    // an explicit field decides for every row
    const paired = buildDataset(readRecords(file('pc.jsonl', '{"prompt":"a","completion":" b"}\n')), { kind: 'lm', promptField: 'prompt' }, tok, opts);
    expect(paired.generative).toBe(true);
  });
  it('a prompt cut to fit keeps its BOS, as transformers truncates before adding special tokens (and as classification does)', () => {
    const pc = buildDataset(readRecords(file('long.jsonl', '{"prompt":"abcdefgh","completion":"xy"}\n')), { kind: 'lm' }, tok, { ...opts, maxLength: 6 });
    const ex = pc.examples[0]!;
    expect(Array.from(ex.inputIds)).toEqual([1, ...bytes('fghxy')]);
    expect(Array.from(ex.promptIds!)).toEqual([1, ...bytes('fgh')]);
    expect(Array.from(ex.labels!)).toEqual([IGNORE, IGNORE, IGNORE, IGNORE, ...bytes('xy')]);
  });
  it('a completion is tokenized after its prompt, as one text (a Llama-2 style tokenizer gave a lone completion an extra leading "▁")', () => {
    // legacy Llama normalizer: "▁" before the text, spaces as "▁"; one merge "▁b"
    const j = byteTokenizerJson() as { normalizer: unknown; model: { vocab: Record<string, number>; merges: string[] } };
    j.normalizer = { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] };
    Object.assign(j.model.vocab, { '▁': 259, '▁b': 260 });
    j.model.merges = ['▁ b'];
    const d = mkdtempSync(join(tmpdir(), 'dpzo-llama2-'));
    writeFileSync(join(d, 'tokenizer.json'), JSON.stringify(j));
    const t = loadTokenizer(d);
    const ds = buildDataset(readRecords(file('sp.jsonl', '{"prompt":"a","completion":" b"}\n')), { kind: 'lm' }, t, { ...opts, vocabSize: 261 });
    const ex = ds.examples[0]!;
    expect(Array.from(ex.inputIds)).toEqual(t.encode('a b', true));
    expect(Array.from(ex.inputIds)).toEqual([1, 259, ...bytes('a'), 260]);
    expect(Array.from(ex.labels!)).toEqual([IGNORE, IGNORE, IGNORE, 260]);
    expect(Array.from(ex.promptIds!)).toEqual([1, 259, ...bytes('a')]);
  });
  it('a text task without a tokenizer is an error', () => {
    expect(() => buildDataset(readRecords(file('t2.jsonl', '{"text":"abc"}\n')), { kind: 'lm' }, null, opts)).toThrow(expect.objectContaining({ code: 'ERR_NO_TOKENIZER' }));
  });
});

describe('loadDataset options', () => {
  const data = file('opts.jsonl', '{"input_ids":[1,2,3]}\n{"input_ids":[1,2,4]}\n');
  const config = { vocabSize: 259, maxPositions: 64 };
  it.each([
    // misspelt names were ignored: the default length, or the default label words, silently applied
    [{ task: { kind: 'tokens' }, modelDir: dir, config, maxLenght: 2 }, 'maxLenght'],
    [{ task: { kind: 'classification', labelWord: ['no', 'yes'] }, modelDir: dir, config }, 'labelWord'],
    [{ task: { kind: 'tokens', inputFeild: 'ids' }, modelDir: dir, config }, 'inputFeild'],
    // limit -1 dropped the last row (slice(0, -1)), 1.5 kept one; maxLength NaN kept every row
    [{ task: { kind: 'tokens' }, modelDir: dir, config, limit: -1 }, 'limit'],
    [{ task: { kind: 'tokens' }, modelDir: dir, config, limit: 1.5 }, 'limit'],
    [{ task: { kind: 'tokens' }, modelDir: dir, config, maxLength: Number.NaN }, 'maxLength'],
    // these were TypeErrors from inside
    [{ task: null, modelDir: dir, config }, 'task'],
    [{ task: { kind: 'tokens' }, modelDir: dir }, 'config'],
    [undefined, 'options'],
  ])('%o -> ERR_ARGUMENT naming the option', (o, name) => {
    expect(() => loadDataset(data, o as never)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining(name) }));
  });
  it('a valid call still loads', () => {
    expect(loadDataset(data, { task: { kind: 'tokens' }, modelDir: dir, config, limit: 1 }).examples).toHaveLength(1);
  });
});

describe('a maxLength of 1', () => {
  it('is refused for text tasks: a classification prompt was cut to nothing, and every example had no target to train on', () => {
    const cls = readRecords(file('ml1.jsonl', '{"sentence":"SECRET a","label":1}\n{"sentence":"SECRET b","label":0}\n'));
    expect(() => buildDataset(cls, { kind: 'classification', labelWords: ['x', 'y'] }, tok, { ...opts, maxLength: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_DATA_TOKENS', message: expect.stringMatching(/^maxLength 1 .*at least 2 tokens$/) }),
    );
    const pc = readRecords(file('ml1-pc.jsonl', '{"prompt":"SECRET a","completion":"b"}\n'));
    expect(() => buildDataset(pc, { kind: 'lm' }, tok, { ...opts, maxLength: 1 })).toThrow(expect.objectContaining({ code: 'ERR_DATA_TOKENS' }));
    // 2 is enough: a (cut) prompt and the label word
    expect(buildDataset(cls, { kind: 'classification', labelWords: ['x', 'y'] }, tok, { ...opts, maxLength: 2 }).examples[0]!.inputIds).toHaveLength(2);
  });
});

describe('a label word outside the vocabulary', () => {
  it("is refused naming the word (it became the tokenizer's unknown token, and classification asked the model for '<unk>')", () => {
    const d = mkdtempSync(join(tmpdir(), 'dpzo-wordlevel-'));
    const vocab = { '<unk>': 0, '<s>': 1, it: 2, was: 3, great: 4, bad: 5, a: 6, film: 7 };
    writeFileSync(
      join(d, 'tokenizer.json'),
      JSON.stringify({
        version: '1.0',
        added_tokens: [{ id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
        normalizer: { type: 'Lowercase' },
        pre_tokenizer: { type: 'Whitespace' },
        post_processor: null,
        decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
        model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
      }),
    );
    const words = loadTokenizer(d);
    const recs = readRecords(file('unk.jsonl', '{"sentence":"SECRET a film","label":1}\n{"sentence":"a film","label":0}\n'));
    const build = (labelWords: string[]) => buildDataset(recs, { kind: 'classification', labelWords }, words, { maxLength: 16, vocabSize: 8 });
    expect(build([' bad', ' great']).candidates).toEqual(Int32Array.from([5, 4]));
    expect(() => build([' zzzqqq', ' great'])).toThrow(
      expect.objectContaining({ code: 'ERR_DATA_LABEL', message: "label word ' zzzqqq' is not in the tokenizer's vocabulary (it starts with the unknown token)" }),
    );
    expect(words.unkId).toBe(0);
  });
});

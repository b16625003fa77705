// evaluate() on the byte-level Llama with its tokenizer, against metrics
// computed here from full-vocabulary logits (model.logits) and from greedy
// generation (model.generate) scored by a separate SQuAD normaliser: accuracy
// and candidate loss for classification, token-weighted NLL for lm, exact
// match and token F1 for prompt/completion data.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadDataset } from '../../../lib/data/load.js';
import type { TaskSpec } from '../../../lib/data/tasks.js';
import { loadTokenizer } from '../../../lib/data/tokenizer.js';
import { evaluate } from '../../../lib/dpzo/evaluate.js';
import { loadModel } from '../../../lib/index.js';
import type { Model } from '../../../lib/model/types.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { expectRejection } from '../../helpers/expect-error.js';
import { ROOT } from '../../helpers/cli.js';

const MODEL_DIR = join(ROOT, 'data', 'models', 'byte-llama');
const tok = loadTokenizer(MODEL_DIR);
const tmp = makeTempDir('dpzo-evaluate-');
let model: Model;
beforeAll(async () => {
  model = await loadModel(MODEL_DIR, { threads: 2 });
});
afterAll(() => {
  model?.dispose();
  tmp.cleanup();
});

const byteToken = (ch: string) => ch.charCodeAt(0) + 3; // <unk>, <s>, </s>, then bytes 0..255
const load = (file: string, task: TaskSpec) => loadDataset(file, { task, modelDir: MODEL_DIR, config: model.config });
const writeJsonl = (name: string, rows: object[]) => {
  const p = join(tmp.dir, name);
  writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
};

/** log Σ exp(row[j]) − row[target], in float64. */
function nll(row: ArrayLike<number>, target: number, over?: number[]): number {
  const idx = over ?? Array.from({ length: row.length }, (_, j) => j);
  const m = Math.max(...idx.map((j) => row[j]!));
  const lse = m + Math.log(idx.reduce((s, j) => s + Math.exp(row[j]! - m), 0));
  return lse - row[target]!;
}

/** Full logits of one sequence at `positions`, as rows. */
async function logitRows(ids: number[], positions: number[]): Promise<Float32Array[]> {
  const [flat] = await model.logits({ inputIds: [ids], positions: [positions] });
  const V = model.config.vocabSize;
  return positions.map((_, i) => flat!.subarray(i * V, (i + 1) * V));
}

/** NLL of each target token: labels[t] (≠ −100) predicted at t − 1. */
async function targetNlls(ids: number[], labels: number[]): Promise<number[]> {
  const at = labels.map((l, t) => (l >= 0 && t > 0 ? t - 1 : -1)).filter((p) => p >= 0);
  const rows = await logitRows(ids, at);
  return at.map((p, i) => nll(rows[i]!, labels[p + 1]!));
}

// SQuAD's normalize_answer as the official Python script runs it: lower(), drop
// string.punctuation, re.sub(r'\b(a|an|the)\b', ' ') with Unicode word characters, ' '.join(s.split()).
const PY_PUNCT = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
const PY_WS = new Set('\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000');
const isWord = (c: string | undefined) => c !== undefined && /^[\p{L}\p{N}_]$/u.test(c);
function squadTokens(s: string): string[] {
  const chars = [...s.toLowerCase()].filter((c) => !PY_PUNCT.has(c));
  const out: string[] = [];
  for (let i = 0; i < chars.length; ) {
    const art = ['the', 'an', 'a'].find((a) => chars.slice(i, i + a.length).join('') === a && !isWord(chars[i - 1]) && !isWord(chars[i + a.length]));
    if (art) {
      out.push(' ');
      i += art.length;
    } else out.push(chars[i++]!);
  }
  const words: string[] = [];
  let cur = '';
  for (const c of out) {
    if (PY_WS.has(c)) {
      if (cur) words.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur) words.push(cur);
  return words;
}
const squadEM = (pred: string, ref: string) => (squadTokens(pred).join(' ') === squadTokens(ref).join(' ') ? 1 : 0);
function squadF1(pred: string, ref: string): number {
  const p = squadTokens(pred);
  const r = squadTokens(ref);
  if (p.length === 0 || r.length === 0) return p.length === r.length ? 1 : 0; // SQuAD v2's convention for empty answers
  const left = new Map<string, number>();
  for (const t of r) left.set(t, (left.get(t) ?? 0) + 1);
  const same = p.filter((t) => {
    const c = left.get(t) ?? 0;
    if (c > 0) left.set(t, c - 1);
    return c > 0;
  }).length;
  return same === 0 ? 0 : (2 * same) / (p.length + r.length);
}

describe('SQuAD normaliser', () => {
  it('agrees with the Python semantics on the cases where JavaScript regexes differ', async () => {
    const { exactMatch, tokenF1, normalizeAnswer } = await import('../../../lib/dpzo/squad.js');
    // 'a' before 'ñ' is inside a word for Python; \x1c is whitespace for str.split()
    expect(normalizeAnswer('Añejo\x1cThe  Cat.')).toBe('añejo cat');
    expect(squadTokens('Añejo\x1cThe  Cat.')).toEqual(['añejo', 'cat']);
    for (const [p, r] of [['The cat sat', 'a cat  sat!'], ['cat cat dog', 'cat dog dog'], ['an', ''], ['', ''], ['x\x85y', 'x y'], ['théâtre a', 'théâtre']]) {
      expect(exactMatch(p!, r!), `${p} | ${r}`).toBe(squadEM(p!, r!));
      expect(tokenF1(p!, r!), `${p} | ${r}`).toBeCloseTo(squadF1(p!, r!), 12);
    }
    expect(squadF1('cat cat dog', 'cat dog dog')).toBeCloseTo(2 / 3, 12);
  });
});

describe('evaluate', () => {
  it('classification: accuracy is the argmax over the label words at the last prompt position, loss the mean candidate CE', async () => {
    const sentences = ['a gripping, beautiful film', 'dull and far too long', 'I loved every minute of it', 'the plot makes no sense', 'charming', 'a waste of time', 'one of the best of the year', 'flat'];
    const cands = [byteToken('t'), byteToken('g')]; // 'terrible', 'great' after a template that ends in a space
    const rows: Float32Array[] = [];
    for (const s of sentences) {
      const prompt = tok.encode(`${s} It was `, true);
      rows.push((await logitRows(prompt, [prompt.length - 1]))[0]!);
    }
    const pred = rows.map((r) => (r[cands[1]!]! > r[cands[0]!]! ? 1 : 0));
    // half the labels agree with the model's prediction: accuracy 0.5 exactly, whatever the random model prefers
    const labels = pred.map((p, i) => (i % 2 === 0 ? p : 1 - p));
    const ceOf = (i: number) => nll(rows[i]!, cands[labels[i]!]!, cands);
    const meanCE = (n: number) => sentences.slice(0, n).reduce((s, _, i) => s + ceOf(i), 0) / n;
    const accOf = (n: number) => labels.slice(0, n).filter((l, i) => l === pred[i]).length / n;

    const tsv = join(tmp.dir, 'cls.tsv');
    writeFileSync(tsv, 'sentence\tlabel\n' + sentences.map((s, i) => `${s}\t${labels[i]}`).join('\n') + '\n');
    const ds = load(tsv, { kind: 'classification', template: '{sentence} It was ', labelWords: ['terrible', 'great'] });
    expect(Array.from(ds.candidates!)).toEqual(cands);

    const r = await evaluate(model, ds);
    expect(r.metric).toBe('accuracy');
    expect(r.examples).toBe(8);
    expect(r.accuracy).toBe(0.5);
    expect(r.value).toBe(r.accuracy);
    expect(r.loss).toBeCloseTo(meanCE(8), 5);

    // several forward calls (a small token budget) and a prefix of the set give the same numbers
    const chunked = await evaluate(model, ds, { maxBatchTokens: 40 });
    expect(chunked.accuracy).toBe(r.accuracy);
    expect(chunked.loss).toBeCloseTo(r.loss, 6);
    const first3 = await evaluate(model, ds, { maxExamples: 3 });
    expect(first3.examples).toBe(3);
    expect(first3.accuracy).toBeCloseTo(accOf(3), 12);
    expect(first3.loss).toBeCloseTo(meanCE(3), 5);

    // label words as a map with string labels: class order is the map's key order
    const names = ['neg', 'pos'];
    const jsonl = writeJsonl('cls.jsonl', sentences.map((s, i) => ({ text: s, y: names[labels[i]!] })));
    const mapped = load(jsonl, { kind: 'classification', textField: 'text', labelField: 'y', template: '{text} It was ', labelWords: { neg: 'terrible', pos: 'great' } });
    const rm = await evaluate(model, mapped);
    expect(rm.accuracy).toBe(0.5);
    expect(rm.loss).toBeCloseTo(meanCE(8), 5);
  });

  it('lm text: the loss is the mean NLL per target token (token-weighted, not per example)', async () => {
    const texts = ['the quick brown fox', 'jumps over the lazy dog again and again and again', 'hi'];
    const nlls: number[][] = [];
    for (const t of texts) {
      const ids = tok.encode(t, true);
      nlls.push(await targetNlls(ids, ids.map((x, i) => (i === 0 ? -100 : x))));
    }
    const all = nlls.flat();
    const tokenMean = all.reduce((a, b) => a + b, 0) / all.length;
    const exampleMean = nlls.reduce((s, l) => s + l.reduce((a, b) => a + b, 0) / l.length, 0) / nlls.length;
    expect(Math.abs(tokenMean - exampleMean)).toBeGreaterThan(1e-3); // the two definitions are distinguishable here

    const ds = load(writeJsonl('lm.jsonl', texts.map((text) => ({ text }))), { kind: 'lm' });
    expect(ds.generative).toBe(false);
    const r = await evaluate(model, ds, { decode: (ids) => tok.decode(ids) });
    expect(r.metric).toBe('loss');
    expect(r.examples).toBe(3);
    expect(r.value).toBe(r.loss);
    expect(r.loss).toBeCloseTo(tokenMean, 5);
    expect(r.f1).toBeUndefined();
    const chunked = await evaluate(model, ds, { maxBatchTokens: 20 });
    expect(chunked.loss).toBeCloseTo(r.loss, 6);
  });

  it('a set with nothing to score is refused (ERR_DATA_EMPTY), not scored NaN', async () => {
    const lm = load(writeJsonl('lm-empty.jsonl', [{ text: 'the quick brown fox' }, { text: 'hi' }]), { kind: 'lm' });
    await expectRejection(() => evaluate(model, { ...lm, examples: [] }), 'ERR_DATA_EMPTY', ['no examples']);
    const unlabelled = lm.examples.map((e) => ({ ...e, labels: new Int32Array(e.inputIds.length).fill(-100) }));
    await expectRejection(() => evaluate(model, { ...lm, examples: unlabelled }), 'ERR_DATA_EMPTY', ['no target tokens']);
    const tsv = join(tmp.dir, 'cls-empty.tsv');
    writeFileSync(tsv, 'sentence\tlabel\ncharming\t1\n');
    const cls = load(tsv, { kind: 'classification', template: '{sentence} It was ', labelWords: ['terrible', 'great'] });
    await expectRejection(() => evaluate(model, { ...cls, examples: [] }), 'ERR_DATA_EMPTY', ['no examples']);
    expect((await evaluate(model, cls)).examples).toBe(1);
  });

  it('prompt/completion: greedy generation scored by SQuAD exact match and token F1; loss over the completion tokens', async () => {
    // the random model's greedy output for '2 2 1' has a line break: only the first line is the answer
    const prompts = ['2 2 1', 'Q: 2+2? A:', 'Q: colour of the sky? A:', 'Q: opposite of hot? A:', 'Q: first letter? A:'];
    const maxNewTokens = 12;
    const raw: string[] = [];
    for (const p of prompts) raw.push(tok.decode(await model.generate(tok.encode(p, true), maxNewTokens, { eosTokenId: tok.eosId! })));
    const generated = raw.map((t) => t.split('\n')[0]!);
    expect(raw[0], 'a generation with a second line').toMatch(/^[^\n]*\S[^\n]*\n.*\S/su);
    // completions built from what the model generates: exact, equal after normalisation, partial overlap, unrelated
    const completions = [generated[0]!, `The ${generated[1]!}.`, `${generated[2]!} extra words`, 'Paris', `${generated[4]!}${generated[4]!}`];
    const em = completions.map((c, i) => squadEM(generated[i]!, c));
    const f1 = completions.map((c, i) => squadF1(generated[i]!, c));
    expect(em[0]).toBe(1);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

    const ds = load(writeJsonl('qa.jsonl', prompts.map((prompt, i) => ({ prompt, completion: completions[i] }))), { kind: 'lm' });
    expect(ds.generative).toBe(true);
    const r = await evaluate(model, ds, { decode: (ids) => tok.decode(ids), eosTokenId: tok.eosId, maxNewTokens });
    expect(r.metric).toBe('f1');
    expect(r.exactMatch).toBeCloseTo(mean(em), 12);
    expect(r.f1).toBeCloseTo(mean(f1), 12);
    expect(r.value).toBe(r.f1);
    expect(r.exactMatch).toBeGreaterThanOrEqual(0.2);
    expect(r.exactMatch).toBeLessThan(1);

    // the loss: NLL of the completion tokens only, weighted per token
    const nlls: number[] = [];
    for (let i = 0; i < prompts.length; i++) {
      const p = tok.encode(prompts[i]!, true);
      const c = tok.encode(completions[i]!, false);
      nlls.push(...(await targetNlls([...p, ...c], [...p.map(() => -100), ...c])));
    }
    expect(r.loss).toBeCloseTo(mean(nlls), 5);

    // without a decoder there is no generation: the headline metric is the loss
    const noDecode = await evaluate(model, ds);
    expect(noDecode.metric).toBe('loss');
    expect(noDecode.f1).toBeUndefined();
    expect(noDecode.loss).toBeCloseTo(r.loss, 10);
    // maxGenerate bounds the generated examples: the first two only
    const two = await evaluate(model, ds, { decode: (ids) => tok.decode(ids), eosTokenId: tok.eosId, maxNewTokens, maxGenerate: 2 });
    expect(two.f1).toBeCloseTo(mean(f1.slice(0, 2)), 12);
    expect(two.exactMatch).toBeCloseTo(mean(em.slice(0, 2)), 12);
  });
});

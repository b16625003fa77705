// Privacy audit: each test pins a bug found in the audit (it failed before the
// fix) or a property the sensitivity analysis relies on: nothing private in error
// messages, no data-dependent failure mid-training, resume equal to replay, a
// warning when the "held-out" set is the training set, and per-example losses
// that do not depend on which other examples share the batch.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { buildDataset, type Dataset } from '../../../lib/data/tasks.js';
import { readRecords } from '../../../lib/data/read.js';
import { loadTokenizer } from '../../../lib/data/tokenizer.js';
import { batchLosses } from '../../../lib/dpzo/estimator.js';
import { DPZOTrainer, exportRun, makePlan } from '../../../lib/dpzo/index.js';
import { loadModel } from '../../../lib/index.js';
import { writeByteTokenizer } from '../../helpers/byte-tokenizer.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';
import { writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-audit-');
afterAll(() => tmp.cleanup());
const file = (name: string, text: string) => {
  const p = join(tmp.dir, name);
  writeFileSync(p, text);
  return p;
};
const tokDir = join(tmp.dir, 'tok');
mkdirSync(tokDir);
writeByteTokenizer(tokDir);
const tok = loadTokenizer(tokDir);
const SECRET = 'xyzzy-diagnosis';

/** The error `fn` throws (fails the test when it does not throw). */
function errorOf(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
}

describe('error messages name file:line, never the private content', () => {
  it('malformed JSONL / JSON: no excerpt of the record', () => {
    const jl = errorOf(() => readRecords(file('a.jsonl', `{"sentence":"ok","label":1}\n{"sentence": "${SECRET}", "label": oops}\n`)));
    expect(jl.message).toMatch(/a\.jsonl:2: invalid JSON/);
    expect(jl.message).not.toMatch(/xyzzy|oops/);
    const js = errorOf(() => readRecords(file('b.json', `[{"sentence": "${SECRET}", "label": oops}]`)));
    expect(js.message).toMatch(/b\.json: invalid JSON/);
    expect(js.message).not.toMatch(/xyzzy|oops/);
  });

  it('an unknown classification label: the row, not its value (a misconfigured --label-field would print the text)', () => {
    const r = readRecords(file('c.tsv', `sentence\tlabel\nfine\t1\nsecret row\t${SECRET}\n`));
    const e = errorOf(() => buildDataset(r, { kind: 'classification', template: '{sentence} It was ', labelWords: ['terrible', 'great'] }, tok, { maxLength: 64, vocabSize: 259 }));
    expect(e.code).toBe('ERR_DATA_LABEL');
    expect(e.message).toMatch(/c\.tsv:3: label/);
    expect(e.message).not.toMatch(/xyzzy/);
  });
});

describe('no data-dependent failure once training has started', () => {
  // byte tokenizer ids are 3 + byte: 'A' = 68 fits a vocabulary of 100, 'h' = 107 does not
  const small = { maxLength: 64, vocabSize: 100 };
  it('text tokenized beyond the model vocabulary is rejected at load (the native forward would throw at the step that samples it)', () => {
    const lm = errorOf(() => buildDataset(readRecords(file('l.jsonl', '{"text":"ABC"}\n{"text":"hello"}\n')), { kind: 'lm' }, tok, small));
    expect(lm.code).toBe('ERR_DATA_TOKENS');
    expect(lm.message).toMatch(/l\.jsonl:2/);
    const pc = errorOf(() => buildDataset(readRecords(file('p.jsonl', '{"prompt":"AB","completion":"C"}\n{"prompt":"AB","completion":"x"}\n')), { kind: 'lm' }, tok, small));
    expect(pc.message).toMatch(/p\.jsonl:2/);
    const cls = { kind: 'classification' as const, template: '{sentence}=', labelWords: ['A', 'B'] };
    const c = errorOf(() => buildDataset(readRecords(file('k.tsv', 'sentence\tlabel\nABBA\t0\nsecret\t1\n')), cls, tok, small));
    expect(c.message).toMatch(/k\.tsv:3/);
    expect(c.message).not.toMatch(/secret/);
    expect(buildDataset(readRecords(file('ok.tsv', 'sentence\tlabel\nABBA\t0\n')), cls, tok, small).examples).toHaveLength(1);
    // a label word outside the vocabulary fails the first non-empty batch: reject it at load too
    const w = errorOf(() => buildDataset(readRecords(file('ok2.tsv', 'sentence\tlabel\nABBA\t0\n')), { ...cls, labelWords: ['A', 'z'] }, tok, small));
    expect(w.code).toBe('ERR_DATA_LABEL');
  });
});

/** FakeModel with decoupled weight decay θ ← factor·θ (float32). */
class DecayModel extends FakeModel {
  async decay(factor: number): Promise<void> {
    this.log.push(`decay ${factor}`);
    for (let j = 0; j < this.theta.length; j++) this.theta[j] = Math.fround(this.theta[j]! * Math.fround(factor));
  }
}

describe('resume', () => {
  it('rebuilds the weights with weight decay: resumed in-memory weights equal the export of the trajectory', async () => {
    const theta0 = [0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.0, 0.7];
    const runDir = join(tmp.dir, 'run-decay');
    const opts = { train: tokenDataset(Array.from({ length: 40 }, (_, i) => 3 + (i % 50))), epsilon: 8, delta: 1e-5, accountant: 'rdp' as const, noiseMultiplier: 1, batchSize: 4, steps: 6, lr: 0.05, clip: 1, zoEps: 1e-2, weightDecay: 0.5, runDir };
    const controller = new AbortController();
    const first = await new DPZOTrainer(new DecayModel(8, theta0), opts).train({ signal: controller.signal, onStep: (s) => void (s.step === 2 && controller.abort()) });
    expect(first.stopReason).toBe('cancelled');
    const resumed = new DecayModel(8, theta0);
    const second = await new DPZOTrainer(resumed, { ...opts, resume: true }).train();
    expect(second.steps).toBe(6);
    const replayed = await exportRun(new DecayModel(8, theta0), runDir, join(tmp.dir, 'export-decay'));
    expect(replayed.steps).toBe(6);
    expect(await resumed.weightsHash()).toBe(replayed.weightsHash);
  });
});

describe('evaluation on the training set', () => {
  const base = { epsilon: 8, delta: 1e-5, accountant: 'rdp' as const, noiseMultiplier: 1, batchSize: 4, steps: 1, lr: 0.01, clip: 1, zoEps: 1e-2 };
  const withSource = (ds: Dataset, source: string): Dataset => ({ ...ds, source });
  it('warns even when the eval set is declared public', async () => {
    const train = withSource(tokenDataset([3, 4, 5, 6, 7, 8]), '/data/train.jsonl');
    for (const evalSet of [train, withSource(tokenDataset([3, 4]), '/data/train.jsonl')]) {
      const r = await new DPZOTrainer(new FakeModel(4), { ...base, train, eval: evalSet, evalPublic: true }).train();
      expect(r.warnings.join('\n')).toMatch(/training set/);
    }
    const held = await new DPZOTrainer(new FakeModel(4), { ...base, train, eval: withSource(tokenDataset([3, 4]), '/data/dev.jsonl'), evalPublic: true }).train();
    expect(held.warnings).toEqual([]);
  });
});

describe('per-example losses do not depend on the rest of the batch', () => {
  // the sensitivity C holds only if adding an example leaves every other g_i unchanged, bit for bit
  it('alone, in one packed batch, or split by maxBatchTokens: identical losses (tiny Llama, 2 threads)', async () => {
    const dir = writeTinyModel(join(tmp.dir, 'tiny'), 5);
    const model = await loadModel(dir, { threads: 2 });
    try {
      let s = 9;
      const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
      const examples = Array.from({ length: 12 }, (_, i) => {
        const inputIds = Int32Array.from({ length: 3 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 32));
        return i % 3 === 0 ? { inputIds, labels: Int32Array.from(inputIds, (t, j) => (j % 2 ? t : -100)) } : { inputIds };
      });
      const packed = await batchLosses(model, examples, { maxBatchTokens: 1 << 20 });
      const chunked = await batchLosses(model, examples, { maxBatchTokens: 50 });
      expect(Array.from(chunked)).toEqual(Array.from(packed));
      for (let i = 0; i < examples.length; i++) expect((await batchLosses(model, [examples[i]!]))[0]).toBe(packed[i]);
    } finally {
      model.dispose();
    }
  });
});

describe('planned steps', () => {
  it('--epochs e gives ceil(e·N/B) steps without a float off-by-one (1.1·100/10 is 11.000000000000002 in doubles)', () => {
    const plan = (epochs: number, n: number, batchSize: number) =>
      makePlan({ train: tokenDataset(Array.from({ length: n }, (_, i) => 3 + (i % 50))), epsilon: 50, delta: 1e-5, accountant: 'rdp', noiseMultiplier: 2, batchSize, epochs }).steps;
    expect(plan(1.1, 100, 10)).toBe(11);
    expect(plan(4.4, 100, 10)).toBe(44);
    expect(plan(1.15, 100, 10)).toBe(12);
    expect(plan(0.01, 100, 10)).toBe(1);
  });
});

describe('accounting lives as long as the trainer', () => {
  // without a run directory the ledger is in memory: a second train() must not start a fresh budget
  const opts = { train: tokenDataset(Array.from({ length: 40 }, (_, i) => 3 + (i % 50))), epsilon: 8, delta: 1e-5, accountant: 'rdp' as const, noiseMultiplier: 1.5, batchSize: 4, steps: 10, lr: 0.01, clip: 1, zoEps: 1e-2 };
  it('a second train() after completion releases nothing more', async () => {
    const trainer = new DPZOTrainer(new FakeModel(4), opts);
    const first = await trainer.train();
    expect(first.steps).toBe(10);
    let released = 0;
    const second = await trainer.train({ onStep: () => void released++ });
    expect(released).toBe(0);
    expect(second.steps).toBe(10);
    expect(second.epsilon.rdp).toBe(first.epsilon.rdp);
  });
  it('train() after a cancellation continues the same ledger up to the planned steps', async () => {
    const trainer = new DPZOTrainer(new FakeModel(4), opts);
    const controller = new AbortController();
    const first = await trainer.train({ signal: controller.signal, onStep: (s) => void (s.step === 3 && controller.abort()) });
    expect(first.steps).toBe(4);
    const seen: number[] = [];
    const second = await trainer.train({ onStep: (s) => void seen.push(s.step) });
    expect(seen).toEqual([4, 5, 6, 7, 8, 9]);
    expect(second.steps).toBe(10);
    expect(second.epsilon.rdp).toBeLessThanOrEqual(8);
  });
});

// Issue "CPU forward": per-example losses, candidate-set losses, logits and
// greedy decoding of the native forward against the independent float64
// reference (test/reference/forward-f64.ts) on random checkpoints of every
// variant and dtype, and on the trained stories260K.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Model, loadModel } from '../../lib/index.js';
import { type Checkpoint, VARIANTS, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';
import { Rng } from '../helpers/prng.js';
import { type FloatDType, roundTo } from '../helpers/safetensors.js';
import { RefModel, candidateLoss, sequenceLoss } from '../reference/forward-f64.js';

const tmp = makeTempDir('dpzo-forward-');
afterAll(() => tmp.cleanup());
let counter = 0;
const fresh = (tag: string) => join(tmp.dir, `${tag}-${counter++}`);

/** Relative tolerance on losses and logits by stored dtype (compute accumulates in F32). */
const TOL: Record<FloatDType, number> = { F32: 1e-5, BF16: 2e-3, F16: 2e-3 };

interface Batch {
  inputIds: number[][];
  labels?: number[][];
}

/** Mixed lengths 1..maxLen (always including 1 and 2), labels with ~30% -100. */
function randomBatch(rng: Rng, vocab: number, n: number, maxLen: number, withLabels: boolean): Batch {
  const lengths = Array.from({ length: n }, (_, i) => (i === 0 ? 1 : i === 1 ? 2 : rng.range(3, maxLen)));
  rng.shuffle(lengths);
  const inputIds = lengths.map((len) => Array.from({ length: len }, () => rng.int(vocab)));
  if (!withLabels) return { inputIds };
  const labels = inputIds.map((s) => s.map(() => (rng.uniform() < 0.3 ? -100 : rng.int(vocab))));
  return { inputIds, labels };
}

function expectClose(got: number, want: number, rel: number, what: string): void {
  const err = Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
  if (!(err <= rel)) expect.fail(`${what}: native ${got}, reference ${want}, relative error ${err.toExponential(2)} > ${rel}`);
}

/** Logit rows agree to `rel` of the row's scale (max |logit|, at least 1). */
function expectRowClose(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string): void {
  expect(got.length, `${what} length`).toBe(want.length);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let worst = 0;
  let at = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / scale;
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  if (!(worst <= rel)) expect.fail(`${what}[${at}]: native ${got[at]}, reference ${want[at]}, error ${worst.toExponential(2)} of scale ${scale.toFixed(3)} > ${rel}`);
}

/** Reference logits memoised per sequence. */
function refLogitsOf(ref: RefModel) {
  const cache = new Map<string, Float64Array[]>();
  return (ids: number[]) => {
    const key = ids.join(',');
    let l = cache.get(key);
    if (!l) cache.set(key, (l = ref.logits(ids)));
    return l;
  };
}

async function expectLossesMatch(m: Model, ref: RefModel, batch: Batch, tol: number, what: string): Promise<void> {
  const logitsOf = refLogitsOf(ref);
  const r = await m.perExampleLoss(batch);
  expect(r.loss.length).toBe(batch.inputIds.length);
  expect(r.targets.length).toBe(batch.inputIds.length);
  batch.inputIds.forEach((ids, i) => {
    const want = sequenceLoss(logitsOf(ids), ids, batch.labels?.[i]);
    expect(r.targets[i], `${what} targets of sequence ${i} (length ${ids.length})`).toBe(want.targets);
    if (want.targets === 0) expect(r.loss[i], `${what} loss of sequence ${i} without targets`).toBeNaN();
    else expectClose(r.loss[i]!, want.loss, tol, `${what} loss of sequence ${i} (length ${ids.length})`);
  });
}

describe('per-example loss, candidates and logits vs the float64 reference', () => {
  for (const [variant, opts] of Object.entries(VARIANTS)) {
    for (const dtype of ['F32', 'BF16', 'F16'] as FloatDType[]) {
      it(`${variant} ${dtype}`, async () => {
        const seed = 1000 + counter;
        const ck = writeRandomCheckpoint(fresh(variant), { ...opts, dtype, seed, vocabSize: 120 });
        const ref = new RefModel(ck.config, ck.tensors);
        const V = ref.vocabSize;
        const tol = TOL[dtype];
        const rng = new Rng(seed);
        const m = await loadModel(ck.dir, { threads: 2 });
        try {
          // labels with -100 holes, and labels missing (every position from 1 is a target)
          await expectLossesMatch(m, ref, randomBatch(rng, V, 6, 40, true), tol, 'labelled');
          await expectLossesMatch(m, ref, randomBatch(rng, V, 4, 40, false), tol, 'unlabelled');

          // candidate set: a label word at the last position (and one earlier target in one sequence)
          const candidates = [rng.int(V), rng.int(V), rng.int(V), rng.int(V)].filter((c, i, a) => a.indexOf(c) === i);
          const inputIds = [5, 1, 17, 30].map((len) => Array.from({ length: len }, () => rng.int(V)));
          const labels = inputIds.map((s) => s.map(() => -100));
          labels.forEach((l, i) => {
            if (l.length > 1) l[l.length - 1] = candidates[rng.int(candidates.length)]!;
            if (i === 3) l[10] = candidates[0]!;
          });
          const logitsOf = refLogitsOf(ref);
          const cr = await m.perExampleLoss({ inputIds, labels, candidates });
          expect(cr.candidateLogits, 'candidateLogits in candidate mode').toBeInstanceOf(Float32Array);
          expect(cr.candidateLogits!.length).toBe(inputIds.length * candidates.length);
          inputIds.forEach((ids, i) => {
            const want = candidateLoss(logitsOf(ids), ids, candidates, labels[i]);
            expect(cr.targets[i]).toBe(want.targets);
            const row = cr.candidateLogits!.subarray(i * candidates.length, (i + 1) * candidates.length);
            if (want.targets === 0) {
              expect(cr.loss[i]).toBeNaN();
              for (const v of row) expect(v, `candidate logits of sequence ${i} without targets`).toBeNaN();
            } else {
              expectClose(cr.loss[i]!, want.loss, tol, `candidate loss of sequence ${i}`);
              expectRowClose(row, want.candidateLogits, tol, `candidateLogits of sequence ${i}`);
            }
          });

          // full logits at chosen positions
          const seqs = [Array.from({ length: 23 }, () => rng.int(V)), Array.from({ length: 7 }, () => rng.int(V))];
          const positions = [[0, 5, 22, 11], [6]];
          const lg = await m.logits({ inputIds: seqs, positions });
          expect(lg.length).toBe(2);
          seqs.forEach((ids, i) => {
            const want = logitsOf(ids);
            expect(lg[i]!.length).toBe(positions[i]!.length * V);
            positions[i]!.forEach((p, j) => expectRowClose(lg[i]!.subarray(j * V, (j + 1) * V), want[p]!, tol, `logits of sequence ${i} at ${p}`));
          });
        } finally {
          m.dispose();
        }
      });
    }
  }
});

describe('weights converted on load', () => {
  for (const target of ['BF16', 'F16'] as const) {
    it(`an F32 file loaded as ${target} computes with the rounded weights`, async () => {
      const ck = writeRandomCheckpoint(fresh(`conv-${target}`), { family: 'llama', numKvHeads: 2, tie: false, seed: 61, shards: 2 });
      const rounded = new Map([...ck.tensors].map(([n, t]) => [n, { shape: t.shape, values: t.values.map((x) => roundTo(x, target)) }]));
      const ref = new RefModel(ck.config, rounded);
      const m = await loadModel(ck.dir, { threads: 2, dtype: target === 'BF16' ? 'bfloat16' : 'float16' });
      try {
        await expectLossesMatch(m, ref, randomBatch(new Rng(62), ref.vocabSize, 5, 40, true), TOL[target], `loaded as ${target}`);
      } finally {
        m.dispose();
      }
    });
  }
});

describe('greedy generation equals argmax decoding with the reference', () => {
  for (const variant of ['gpt2', 'opt-project', 'llama-qkv-bias', 'llama-gqa-untied', 'qwen3']) {
    it(variant, async () => {
      const ck = writeRandomCheckpoint(fresh(`gen-${variant}`), { ...VARIANTS[variant]!, seed: 31 });
      const ref = new RefModel(ck.config, ck.tensors);
      const m = await loadModel(ck.dir, { threads: 2 });
      try {
        const prompt = [3, 14, 15];
        const n = 10;
        const out = await m.generate(prompt, n);
        expect(out.length, 'generate returns the new tokens only').toBe(n);
        const seq = [...prompt];
        for (const tok of out) {
          const row = ref.logits(seq)[seq.length - 1]!;
          let best = 0;
          for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
          // equal to the reference argmax, or a near tie within float32 error
          if (tok !== best) expect(row[best]! - row[tok]!, `step ${seq.length - prompt.length}: native ${tok}, reference ${best}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(row[best]!)));
          seq.push(tok);
        }
        // stops at eos, which is included (as transformers' generate does)
        const eos = out[3]!;
        const k = out.indexOf(eos);
        expect(await m.generate(prompt, n, { eosTokenId: eos })).toEqual(out.slice(0, k + 1));
      } finally {
        m.dispose();
      }
    });
  }
});

describe('invariance', () => {
  let ck: Checkpoint;
  beforeAll(() => {
    ck = writeRandomCheckpoint(fresh('inv'), { family: 'llama', numKvHeads: 2, qkvBias: true, seed: 41, extraConfig: { model_type: 'qwen2' } });
  });

  it('a sequence\'s loss does not depend on what is packed beside it', async () => {
    const rng = new Rng(5);
    const V = ck.config.vocab_size as number;
    const a = Array.from({ length: 29 }, () => rng.int(V));
    const la = a.map((t) => (rng.uniform() < 0.2 ? -100 : t));
    const m = await loadModel(ck.dir, { threads: 2 });
    try {
      const alone = (await m.perExampleLoss({ inputIds: [a], labels: [la] })).loss[0]!;
      for (let trial = 0; trial < 4; trial++) {
        const others = randomBatch(rng, V, 1 + trial, 40, true);
        const at = rng.int(others.inputIds.length + 1);
        others.inputIds.splice(at, 0, a);
        others.labels!.splice(at, 0, la);
        const r = await m.perExampleLoss(others);
        expectClose(r.loss[at]!, alone, 1e-6, `sequence at slot ${at} of ${others.inputIds.length}`);
      }
    } finally {
      m.dispose();
    }
  });

  it('losses do not depend on the thread count (1 vs 2)', async () => {
    const rng = new Rng(6);
    const batch = randomBatch(rng, ck.config.vocab_size as number, 7, 40, true);
    const m1 = await loadModel(ck.dir, { threads: 1 });
    const m2 = await loadModel(ck.dir, { threads: 2 });
    try {
      expect(m1.threads).toBe(1);
      expect(m2.threads).toBe(2);
      const [r1, r2] = [await m1.perExampleLoss(batch), await m2.perExampleLoss(batch)];
      r1.loss.forEach((l, i) => (Number.isNaN(l) ? expect(r2.loss[i]).toBeNaN() : expectClose(r2.loss[i]!, l, 1e-6, `sequence ${i}`)));
      expect(Array.from(r2.targets)).toEqual(Array.from(r1.targets));
    } finally {
      m1.dispose();
      m2.dispose();
    }
  });

  it('a sequence of exactly max positions is accepted and matches the reference', async () => {
    const ck2 = writeRandomCheckpoint(fresh('maxpos'), { family: 'opt', maxPositions: 24, seed: 7 });
    const ref = new RefModel(ck2.config, ck2.tensors);
    const rng = new Rng(8);
    const m = await loadModel(ck2.dir, { threads: 2 });
    try {
      await expectLossesMatch(m, ref, { inputIds: [Array.from({ length: 24 }, () => rng.int(ref.vocabSize))] }, TOL.F32, 'full length');
    } finally {
      m.dispose();
    }
  });
});

describe('bad batches', () => {
  let ck: Checkpoint;
  let m: Model;
  beforeAll(async () => {
    ck = writeRandomCheckpoint(fresh('bad'), { family: 'gpt2', maxPositions: 32, vocabSize: 50, seed: 51 });
    m = await loadModel(ck.dir, { threads: 2 });
  });
  afterAll(() => m.dispose());

  // a batch is private data: the message names the sequence and position, never the id, label or length
  it('token id >= vocab or negative -> ERR_TOKEN_RANGE', async () => {
    const noValue = (e: Error, v: string) => expect(e.message).not.toMatch(new RegExp(`(^|[^0-9])${v}([^0-9]|$)`));
    const where = 'the token id at position 1 of sequence 1 is outside the vocabulary [0, 50)';
    noValue(await expectRejection(() => m.perExampleLoss({ inputIds: [[1, 2, 3], [4, 51, 6]] }), 'ERR_TOKEN_RANGE', [where]), '51');
    noValue(await expectRejection(() => m.perExampleLoss({ inputIds: [[1, -3, 3]] }), 'ERR_TOKEN_RANGE', ['position 1 of sequence 0']), '-3');
    noValue(await expectRejection(() => m.logits({ inputIds: [[1, 77]] }), 'ERR_TOKEN_RANGE', ['position 1 of sequence 0']), '77');
    noValue(await expectRejection(() => m.generate([1, 99], 3), 'ERR_TOKEN_RANGE', ['position 1']), '99');
  });

  it('sequence longer than max positions -> ERR_SEQUENCE_LENGTH', async () => {
    const e = await expectRejection(() => m.perExampleLoss({ inputIds: [[1, 2], Array.from({ length: 33 }, () => 1)] }), 'ERR_SEQUENCE_LENGTH', ['sequence 1', '32']);
    expect(e.message).not.toMatch(/33/);
  });

  it('a sequence with no targets has loss NaN and 0 targets; the others are unaffected', async () => {
    const inputIds = [[1, 2, 3, 4], [5], [6, 7, 8]];
    const labels = [[-100, -100, -100, -100], [5], [6, 7, 8]];
    const r = await m.perExampleLoss({ inputIds, labels });
    expect(Array.from(r.targets)).toEqual([0, 0, 2]);
    expect(r.loss[0]).toBeNaN();
    expect(r.loss[1]).toBeNaN();
    const ref = new RefModel(ck.config, ck.tensors);
    expectClose(r.loss[2]!, sequenceLoss(ref.logits(inputIds[2]!), inputIds[2]!).loss, TOL.F32, 'sequence 2');
  });

  it('empty batch, labels of another length or count -> ERR_BATCH', async () => {
    await expectRejection(() => m.perExampleLoss({ inputIds: [] }), 'ERR_BATCH');
    await expectRejection(() => m.perExampleLoss({ inputIds: [[1, 2, 3]], labels: [[1, 2]] }), 'ERR_BATCH');
    await expectRejection(() => m.perExampleLoss({ inputIds: [[1, 2, 3], [4, 5]], labels: [[1, 2, 3]] }), 'ERR_BATCH');
  });

  it('logits at a position outside its sequence -> ERR_BATCH naming the entry, not the position or the length', async () => {
    const e = await expectRejection(() => m.logits({ inputIds: [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10]], positions: [[0], [17]] }), 'ERR_BATCH', [
      'positions[1] holds a position outside sequence 1',
    ]);
    expect(e.message).not.toMatch(/17|7/);
  });

  it('candidate mode: a target label outside the candidates -> ERR_BATCH', async () => {
    const e = await expectRejection(() => m.perExampleLoss({ inputIds: [[1, 2, 3]], labels: [[-100, -100, 9]], candidates: [7, 8] }), 'ERR_BATCH', [
      'the label at position 2 of sequence 0 is not among the candidates',
    ]);
    expect(e.message).not.toMatch(/9/);
  });

  it('a label outside the vocabulary (not -100) is rejected', async () => {
    const e = await m.perExampleLoss({ inputIds: [[1, 2, 3]], labels: [[-100, 2, 50]] }).then(
      () => expect.fail('accepted label 50 with vocab 50'),
      (err: Error & { code?: string }) => err,
    );
    expect(['ERR_TOKEN_RANGE', 'ERR_BATCH']).toContain(e.code);
  });
});

// The typed model API (lib/model/model.ts over the binding) as a caller sees it:
// cancellation through AbortSignal, one-at-a-time ordering of ops on a model,
// memory stats, dispose, a free event loop during native work, option
// validation on load, and seeds at and above 2^63.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { type NativeBackedModel } from '../../lib/model/model.js';
import { native } from '../../lib/native.js';
import { type Checkpoint, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection, expectThrow } from '../helpers/expect-error.js';
import { Rng } from '../helpers/prng.js';

let tmp: { dir: string; cleanup: () => void };
let small: Checkpoint;
let big: Checkpoint;

/** Random sequences (varied lengths) over a vocabulary. */
function sequences(vocab: number, n: number, len: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: len - (i % 5) }, () => rng.int(vocab)));
}

/** SHA-256 of every parameter as read back, independent of the native hash. */
function paramsDigest(m: NativeBackedModel): string {
  const h = createHash('sha256');
  for (const n of m.parameterNames()) h.update(new Uint8Array(m.getParameter(n).buffer));
  return h.digest('hex');
}

beforeAll(() => {
  tmp = makeTempDir('dpzo-api-');
  small = writeRandomCheckpoint(join(tmp.dir, 'small'), { family: 'gpt2', seed: 11 });
  // big enough that one forward over BIG_BATCH takes well over 200 ms on 2 cores (96 sequences: ~330 ms warm with 2
  // threads; 24 took ~85 ms, a 2× margin over the 40 ms abort and a first forward barely over the 100 ms the
  // event-loop test needs)
  big = writeRandomCheckpoint(join(tmp.dir, 'big'), {
    family: 'llama', hiddenSize: 256, numLayers: 4, numHeads: 4, numKvHeads: 2, intermediateSize: 512,
    vocabSize: 512, maxPositions: 128, seed: 12,
  });
});
afterAll(() => tmp?.cleanup());

const BIG_BATCH = () => ({ inputIds: sequences(512, 96, 128, 5) });

describe('AbortSignal', () => {
  it('an already-aborted signal rejects with ERR_CANCELLED and leaves the weights alone', async () => {
    const m = await loadModel(small.dir);
    try {
      const before = paramsDigest(m);
      const signal = AbortSignal.abort();
      await expectRejection(() => m.perturb(2n ** 63n + 1n, 0.5, { signal }), 'ERR_CANCELLED');
      await expectRejection(() => m.update([{ seed: 3, coeff: 1 }, { seed: 4, coeff: -2 }], { signal }), 'ERR_CANCELLED');
      await expectRejection(() => m.perExampleLoss({ inputIds: [[1, 2, 3]] }, { signal }), 'ERR_CANCELLED');
      await expectRejection(() => m.generate([1, 2], 4, { signal }), 'ERR_CANCELLED');
      expect(paramsDigest(m)).toBe(before);
      // and the model is still usable
      await m.perturb(7, 0.5);
      expect(paramsDigest(m)).not.toBe(before);
    } finally {
      m.dispose();
    }
  });

  it('aborting a long perExampleLoss rejects with ERR_CANCELLED; the model works afterwards', async () => {
    const m = await loadModel(big.dir);
    try {
      const probe = { inputIds: sequences(512, 3, 20, 9) };
      const want = await m.perExampleLoss(probe);
      const hash = await m.weightsHash();

      const ac = new AbortController();
      const started = performance.now();
      const running = m.perExampleLoss(BIG_BATCH(), { signal: ac.signal });
      setTimeout(() => ac.abort(), 40);
      const err = await running.then(
        () => null,
        (e: Error & { code?: string }) => e,
      );
      expect(err, `the forward finished in ${(performance.now() - started).toFixed(0)} ms before the abort`).not.toBeNull();
      expect(err!.code).toBe('ERR_CANCELLED');

      expect(await m.weightsHash()).toBe(hash);
      const again = await m.perExampleLoss(probe);
      expect(Array.from(again.loss)).toEqual(Array.from(want.loss));
      expect(Array.from(again.targets)).toEqual(Array.from(want.targets));
    } finally {
      m.dispose();
    }
  });

  it("aborting a queued op's signal cancels that op only, not the one running", async () => {
    const m = await loadModel(big.dir);
    try {
      const hash = await m.weightsHash();
      const ac = new AbortController();
      const running = m.perExampleLoss(BIG_BATCH());
      const queued = m.perturb(99, 1.0, { signal: ac.signal });
      // handled from the start: the queued op rejects as soon as the signal aborts, before the running one ends
      const cancelled = expectRejection(() => queued, 'ERR_CANCELLED');
      setTimeout(() => ac.abort(), 20);
      const r = await running;
      expect(r.loss).toHaveLength(96);
      expect(Array.from(r.loss).every(Number.isFinite)).toBe(true);
      await cancelled;
      expect(await m.weightsHash()).toBe(hash);
    } finally {
      m.dispose();
    }
  });

  it('a queued op rejects as soon as its signal aborts, not when the op ahead of it ends', async () => {
    const m = await loadModel(big.dir);
    try {
      const hash = await m.weightsHash();
      const order: string[] = [];
      const ac = new AbortController();
      const running = m.perExampleLoss(BIG_BATCH()).then(() => void order.push('running'));
      const queued = m.update([{ seed: 5, coeff: 1 }], { signal: ac.signal }).catch((e: { code?: string }) => void order.push(`queued ${e.code}`));
      setTimeout(() => ac.abort(), 20);
      await Promise.all([running, queued]);
      expect(order).toEqual(['queued ERR_CANCELLED', 'running']);
      // and the cancelled update never ran
      expect(await m.weightsHash()).toBe(hash);
    } finally {
      m.dispose();
    }
  });
});

describe('malformed arguments', () => {
  it('are a rejection with a code, never a raw TypeError from inside (null batch, sequence, pair; a signal that is not an AbortSignal)', async () => {
    const m = await loadModel(small.dir);
    try {
      const hash = await m.weightsHash();
      const ok = { inputIds: [[1, 2, 3]] };
      await expectRejection(() => m.perExampleLoss(null as never), 'ERR_BATCH');
      await expectRejection(() => m.perExampleLoss({ inputIds: [null as never] }), 'ERR_BATCH', ['inputIds[0]']);
      // a number is no sequence (it read as an empty one)
      await expectRejection(() => m.perExampleLoss({ inputIds: [[1, 2], 5 as never] }), 'ERR_BATCH', ['inputIds[1]']);
      await expectRejection(() => m.perExampleLoss({ inputIds: [[1, 2]], labels: [null as never] }), 'ERR_BATCH', ['labels[0]']);
      await expectRejection(() => m.perExampleLoss(ok, { at: [null as never] }), 'ERR_ARGUMENT', ['at[0]']);
      await expectRejection(() => m.perExampleLossAt(ok, [[{ seed: 1, coeff: 1 }], [null as never]]), 'ERR_ARGUMENT', ['points[1][0]']);
      await expectRejection(() => m.update([null as never]), 'ERR_ARGUMENT', ['pairs[0]']);
      await expectRejection(() => m.logits({ inputIds: [[1, 2]], positions: [1 as never] }), 'ERR_BATCH', ['positions[0]']);
      await expectRejection(() => m.generate(null as never, 2), 'ERR_BATCH');
      await expectRejection(() => m.perExampleLoss(ok, { signal: {} as never }), 'ERR_ARGUMENT', ['signal']);
      await expectRejection(() => m.update([{ seed: 1, coeff: 1 }], { signal: 'x' as never }), 'ERR_ARGUMENT', ['signal']);
      expect(await m.weightsHash()).toBe(hash);
    } finally {
      m.dispose();
    }
  });

  it('an empty sequence is ERR_BATCH naming it: logits({ inputIds: [[]] }) said "empty batch: no sequences" of a batch holding one', async () => {
    const m = await loadModel(small.dir);
    try {
      const empty = ['is empty: a sequence needs at least one token'];
      for (const [inputIds, name] of [
        [[[]], 'inputIds[0]'],
        [[[1, 2], [], [3]], 'inputIds[1]'],
      ] as const) {
        const e = await expectRejection(() => m.logits({ inputIds: inputIds as unknown as number[][] }), 'ERR_BATCH', [name, ...empty]);
        expect(e.message).not.toMatch(/no sequences/);
        await expectRejection(() => m.perExampleLoss({ inputIds: inputIds as unknown as number[][] }), 'ERR_BATCH', [name, ...empty]);
      }
      // positions given (none for the empty sequence): the same error, not a position one
      await expectRejection(() => m.logits({ inputIds: [[1, 2], []], positions: [[0], []] }), 'ERR_BATCH', ['inputIds[1]', ...empty]);
      // an empty batch (no sequence at all) is still that
      await expectRejection(() => m.logits({ inputIds: [] }), 'ERR_BATCH', ['no sequences']);
      // a prompt is named as written
      await expectRejection(() => m.generate([], 3), 'ERR_BATCH', ['promptIds is empty']);
    } finally {
      m.dispose();
    }
  });

  it('a call option that is not one is ERR_ARGUMENT naming it: { At } evaluated at θ, { decy } did not decay, { weight } gave the mean gradient', async () => {
    const m = await loadModel(small.dir);
    try {
      const hash = await m.weightsHash();
      const ok = { inputIds: [[1, 2, 3], [4, 5, 6]] };
      await expectRejection(() => m.perExampleLoss(ok, { At: [{ seed: 1, coeff: 1e-3 }] } as never), 'ERR_ARGUMENT', ['At']);
      await expectRejection(() => m.perExampleLossAt(ok, [[{ seed: 1, coeff: 1e-3 }]], { allrows: true } as never), 'ERR_ARGUMENT', ['allrows']);
      await expectRejection(() => m.update([{ seed: 1, coeff: 1e-3 }], { decy: 0.5 } as never), 'ERR_ARGUMENT', ['decy']);
      await expectRejection(() => m.lossAndGradient(ok, { weight: [1, 0] } as never), 'ERR_ARGUMENT', ['weight']);
      await expectRejection(() => m.perExampleGradNorms(ok, { Mode: 'ghost' } as never), 'ERR_ARGUMENT', ['Mode']);
      await expectRejection(() => m.generate([1, 2], 2, { eos: 2 } as never), 'ERR_ARGUMENT', ['eos']);
      await expectRejection(() => m.perturb(1, 1e-3, { sginal: undefined, x: 1 } as never), 'ERR_ARGUMENT', ['x']);
      // a misspelt batch field: { label } scored every token instead of the labelled ones
      await expectRejection(() => m.perExampleLoss({ ...ok, label: [[-100, -100, 3], [-100, -100, 6]] } as never), 'ERR_BATCH', ['label']);
      await expectRejection(() => m.logits({ ...ok, position: [[0], [0]] } as never), 'ERR_BATCH', ['position']);
      // an empty candidate set scored the whole vocabulary (it read as no candidates)
      await expectRejection(() => m.perExampleLoss({ ...ok, candidates: [] }), 'ERR_BATCH', ['candidates']);
      expect(await m.weightsHash()).toBe(hash);
      // the options as documented still work
      expect((await m.perExampleLoss(ok, { at: [{ seed: 1, coeff: 1e-3 }], allRows: true, signal: new AbortController().signal })).loss).toHaveLength(2);
    } finally {
      m.dispose();
    }
  });

  it('generate: maxNewTokens beyond int32 and an eosTokenId that is not a token id are ERR_ARGUMENT naming them (they were wrapped, or ignored)', async () => {
    const m = await loadModel(small.dir);
    try {
      // 1e12 was cast to a C int (undefined behaviour): 'the number of new tokens must be >= 0'
      await expectRejection(() => m.generate([1, 2], 1e12), 'ERR_ARGUMENT', ['maxNewTokens']);
      await expectRejection(() => m.generate([1, 2], 2 ** 31), 'ERR_ARGUMENT', ['maxNewTokens']);
      // a string or a fraction never stopped the generation
      await expectRejection(() => m.generate([1, 2], 3, { eosTokenId: '1' as never }), 'ERR_ARGUMENT', ['eosTokenId']);
      await expectRejection(() => m.generate([1, 2], 3, { eosTokenId: 1.5 }), 'ERR_ARGUMENT', ['eosTokenId']);
      expect(await m.generate([1, 2], 3)).toHaveLength(3);
    } finally {
      m.dispose();
    }
  });
});

describe('ordering', () => {
  it('ops on one model run in call order without awaiting in between', async () => {
    const m = await loadModel(small.dir);
    try {
      const batch = { inputIds: sequences(96, 4, 12, 3) };
      const steps: Array<[bigint, number]> = Array.from({ length: 10 }, (_, k) => [2n ** 64n - 1n - BigInt(k), k % 2 ? -0.04 : 0.05]);
      // all queued synchronously: loss, perturb 1, loss, perturb 2, loss, ...
      const queued: Promise<unknown>[] = [m.perExampleLoss(batch)];
      for (const [seed, scale] of steps) queued.push(m.perturb(seed, scale), m.perExampleLoss(batch));
      const got = (await Promise.all(queued)).filter((_, i) => i % 2 === 0) as { loss: Float64Array }[];

      // the same steps on a fresh copy, each awaited
      const ref = await loadModel(small.dir);
      const want = [await ref.perExampleLoss(batch)];
      for (const [seed, scale] of steps) {
        await ref.perturb(seed, scale);
        want.push(await ref.perExampleLoss(batch));
      }
      ref.dispose();

      const diff = (x: Float64Array, y: Float64Array) => Math.max(...x.map((v, i) => Math.abs(v - y[i]!)));
      for (let k = 1; k < want.length; k++) expect(diff(want[k]!.loss, want[k - 1]!.loss)).toBeGreaterThan(1e-3);
      // each loss sees exactly the perturbations queued before it
      got.forEach((g, k) => expect(Array.from(g.loss), `loss ${k}`).toEqual(Array.from(want[k]!.loss)));
    } finally {
      m.dispose();
    }
  });
});

describe('memory()', () => {
  it('counts the weights, and the peak grows with the activations of a forward', async () => {
    const m = await loadModel(big.dir);
    try {
      const paramBytes = m.numParameters * 4;
      const m0 = m.memory();
      expect(m0.hostBytes).toBeGreaterThanOrEqual(paramBytes);
      expect(m0.hostPeakBytes).toBeGreaterThanOrEqual(m0.hostBytes);
      expect(m0.deviceBytes).toBe(0);
      await m.perExampleLoss({ inputIds: sequences(512, 8, 64, 2) });
      const m1 = m.memory();
      expect(m1.hostPeakBytes).toBeGreaterThan(m0.hostPeakBytes);
      expect(m1.hostPeakBytes).toBeGreaterThanOrEqual(m1.hostBytes);
      expect(m1.hostBytes).toBeGreaterThanOrEqual(paramBytes);
    } finally {
      m.dispose();
    }
  });
});

describe('dispose()', () => {
  it('then every call rejects (async) or throws (sync) ERR_DISPOSED', async () => {
    const m = await loadModel(small.dir);
    m.dispose();
    m.dispose(); // twice is harmless
    await expectRejection(() => m.perturb(1, 0.1), 'ERR_DISPOSED');
    await expectRejection(() => m.update([{ seed: 1, coeff: 0.1 }]), 'ERR_DISPOSED');
    await expectRejection(() => m.perExampleLoss({ inputIds: [[1, 2]] }), 'ERR_DISPOSED');
    await expectRejection(() => m.logits({ inputIds: [[1, 2]] }), 'ERR_DISPOSED');
    await expectRejection(() => m.generate([1], 2), 'ERR_DISPOSED');
    await expectRejection(() => m.weightsHash(), 'ERR_DISPOSED');
    await expectRejection(() => m.save(join(tmp.dir, 'never')), 'ERR_DISPOSED');
    expectThrow(() => m.memory(), 'ERR_DISPOSED');
    expectThrow(() => m.getParameter('transformer.wte.weight'), 'ERR_DISPOSED');
  });

  it('while an op runs: that op completes, ops queued behind it reject ERR_DISPOSED', async () => {
    const m = await loadModel(big.dir);
    const probe = { inputIds: sequences(512, 2, 16, 4) };
    const want = await m.perExampleLoss(probe);
    const running = m.perExampleLoss(BIG_BATCH());
    const queued = m.perExampleLoss(probe);
    await new Promise((r) => setTimeout(r, 30));
    m.dispose();
    const r = await running;
    expect(r.loss).toHaveLength(96);
    expect(Array.from(r.loss).every(Number.isFinite)).toBe(true);
    await expectRejection(() => queued, 'ERR_DISPOSED');
    expect(want.loss).toHaveLength(2);
  });
});

describe('event loop', () => {
  it('keeps ticking during a long forward', async () => {
    const m = await loadModel(big.dir);
    try {
      let ticks = 0;
      let done = false;
      const timer = setInterval(() => {
        if (!done) ticks++;
      }, 5);
      const t0 = performance.now();
      await m.perExampleLoss(BIG_BATCH());
      done = true;
      clearInterval(timer);
      const ms = performance.now() - t0;
      expect(ms).toBeGreaterThan(100); // otherwise the test says nothing
      // a blocked loop would give 0-1 ticks; leave room for a busy 2-core machine
      expect(ticks).toBeGreaterThanOrEqual(Math.min(10, Math.floor(ms / 50)));
    } finally {
      m.dispose();
    }
  });
});

describe('synchronous reads during native work', () => {
  it('getParameter throws ERR_BUSY instead of blocking the event loop while a forward runs', async () => {
    const m = await loadModel(big.dir);
    try {
      const name = m.parameterNames()[0]!;
      let finished = false;
      const running = m.perExampleLoss(BIG_BATCH()).then(() => void (finished = true));
      // poll while the forward runs: every read returns at once, and some say ERR_BUSY
      const codes = new Set<string>();
      let slowest = 0;
      while (!finished) {
        const t0 = performance.now();
        try {
          m.getParameter(name);
          codes.add('ok');
        } catch (e) {
          codes.add((e as { code?: string }).code ?? 'none');
        }
        slowest = Math.max(slowest, performance.now() - t0);
        await new Promise((r) => setTimeout(r, 5));
      }
      await running;
      expect(codes.has('ERR_BUSY')).toBe(true);
      expect([...codes].every((c) => c === 'ok' || c === 'ERR_BUSY')).toBe(true);
      expect(slowest).toBeLessThan(100); // a blocking read would wait for the whole forward
      expect(m.getParameter(name).length).toBeGreaterThan(0); // free again
    } finally {
      m.dispose();
    }
  });
});

describe('loadModel options', () => {
  it.each([
    [{ dtype: 'int8' }, 'dtype'],
    [{ threads: -1 }, 'threads'],
    [{ threads: 1.5 }, 'threads'],
    [{ device: 'tpu' }, 'device'],
    // an empty list used to reach the core as "no patterns", which trains every tensor
    [{ trainable: [] }, 'trainable'],
    [{ trainable: [''] }, 'trainable'],
    // a misspelt option was ignored: 'trainabel' trained every tensor, 'dType' kept the stored dtype
    [{ trainabel: ['lm_head'] }, 'trainabel'],
    [{ dType: 'bfloat16' }, 'dType'],
    [null, 'options'],
  ])('%o -> ERR_ARGUMENT naming the option', async (opts, name) => {
    await expectRejection(() => loadModel(small.dir, opts as never), 'ERR_ARGUMENT', [name]);
  });

  it("device 'cuda' without a CUDA runtime/GPU -> ERR_DEVICE with a clear message", async () => {
    const e = await expectRejection(() => loadModel(small.dir, { device: 'cuda' }), 'ERR_DEVICE');
    expect(e.message).toMatch(/cuda/i);
    expect(e.message).toMatch(/cpu/); // says what to use instead
  });

  it("device 'auto' falls back to the CPU backend", async () => {
    const m = await loadModel(small.dir, { device: 'auto', threads: 1 });
    try {
      expect(m.backend).toBe('cpu');
      expect(m.threads).toBe(1);
    } finally {
      m.dispose();
    }
  });
});

describe('seeds at and above 2^63', () => {
  for (const seed of [2n ** 63n + 0x1234_5678_9abcn, 2n ** 64n - 1n]) {
    it(`perturb(${seed}) moves each trainable tensor by scale·z(seed, its global offset)`, async () => {
      const m = await loadModel(small.dir, { trainable: ['mlp'] });
      try {
        // global offsets: running sum over trainable tensors in canonical order
        const offset = new Map<string, number>();
        let g = 0;
        for (const n of m.trainableNames()) {
          offset.set(n, g);
          g += m.parameterShape(n).reduce((a, b) => a * b, 1);
        }
        expect(g).toBe(m.numTrainable);
        const target = 'transformer.h.1.mlp.c_proj.weight';
        expect(offset.get(target)).toBeGreaterThan(0);
        const frozen = 'transformer.h.1.ln_2.weight';
        expect(m.trainableNames()).not.toContain(frozen);

        const before = m.getParameter(target);
        const frozenBefore = m.getParameter(frozen);
        const scale = 0.01;
        await m.perturb(seed, scale);
        const after = m.getParameter(target);
        const z = native.direction(seed, offset.get(target)!, before.length);
        let worst = 0;
        for (let i = 0; i < before.length; i++) {
          // one float32 rounding of θ + scale·z
          const tol = 2 ** -23 * Math.max(Math.abs(before[i]!), Math.abs(after[i]!)) + 1e-30;
          worst = Math.max(worst, Math.abs(after[i]! - before[i]! - scale * z[i]!) / tol);
        }
        expect(worst).toBeLessThanOrEqual(1);
        expect(Array.from(m.getParameter(frozen))).toEqual(Array.from(frozenBefore));

        // the high bit of the seed matters (not truncated to 63 bits or read as signed)
        const low = native.direction(seed - 2n ** 63n, offset.get(target)!, 8);
        expect(Array.from(low)).not.toEqual(Array.from(z.subarray(0, 8)));
      } finally {
        m.dispose();
      }
    });
  }

  it('a seed of 2^64 or a negative seed is rejected with ERR_SEED', async () => {
    const m = await loadModel(small.dir);
    try {
      await expectRejection(() => m.perturb(2n ** 64n, 0.1), 'ERR_SEED');
      await expectRejection(() => m.perturb(-1n, 0.1), 'ERR_SEED');
      await expectRejection(() => m.perturb(2 ** 60, 0.1), 'ERR_SEED', ['bigint']);
    } finally {
      m.dispose();
    }
  });
});

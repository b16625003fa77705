// model.generate and model.logits as a caller sees them: greedy tokens equal the argmax of full-recompute logits at
// every step up to a full context (the KV cache against no cache, for each family), the context-full stop, and the
// argument checks (positions one list per sequence, errors naming the argument as the caller wrote it).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import type { Model } from '../../lib/model/types.js';
import { makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';

const P = 16; // max positions of every model here
let tmp: { dir: string; cleanup: () => void };
const models: Record<string, Model> = {};

beforeAll(async () => {
  tmp = makeTempDir('dpzo-generate-');
  const common = { vocabSize: 40, hiddenSize: 16, numLayers: 2, numHeads: 2, maxPositions: P, seed: 23 };
  const variants = {
    gpt2: { family: 'gpt2', ...common },
    opt: { family: 'opt', dtype: 'BF16', ...common },
    llama: { family: 'llama', intermediateSize: 32, numKvHeads: 1, shards: 2, dtype: 'F16', ...common },
  } as const;
  for (const [name, v] of Object.entries(variants)) {
    writeRandomCheckpoint(join(tmp.dir, name), v);
    models[name] = await loadModel(join(tmp.dir, name), { device: 'cpu', threads: 2 });
  }
});

afterAll(() => {
  for (const m of Object.values(models)) m.dispose();
  tmp?.cleanup();
});

function argmax(row: Float32Array): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
  return best;
}

describe('greedy generation against full recompute', () => {
  for (const family of ['gpt2', 'opt', 'llama']) {
    it(`${family}: every token is the argmax of the logits of the whole sequence so far, up to a full context`, async () => {
      const m = models[family]!;
      for (const L of [1, 5, P - 2, P]) {
        const prompt = Array.from({ length: L }, (_, i) => (i * 7 + 3) % 40);
        const out = await m.generate(prompt, 8);
        // the context holds P positions: the last token fed sits at P - 1, so at most P - L + 1 new tokens
        expect(out.length, `prompt of ${L}`).toBe(Math.min(8, P - L + 1));
        const seq = [...prompt];
        for (const tok of out) {
          const [row] = await m.logits({ inputIds: [seq], positions: [[seq.length - 1]] });
          expect(tok, `prompt of ${L}, step ${seq.length - L}`).toBe(argmax(row!));
          seq.push(tok);
        }
      }
    });
  }

  it('stops at eos (included); maxNewTokens 0 gives nothing but still checks the prompt', async () => {
    const m = models.gpt2!;
    const out = await m.generate([1, 2, 3], 8);
    const eos = out[2]!;
    expect(await m.generate([1, 2, 3], 8, { eosTokenId: eos })).toEqual(out.slice(0, out.indexOf(eos) + 1));
    // the config's eosTokenId is number | null: null means none
    expect(await m.generate([1, 2, 3], 8, { eosTokenId: null as unknown as number })).toEqual(out);
    expect(await m.generate([1, 2, 3], 0)).toEqual([]);
    await expectRejection(() => m.generate([1, 40], 0), 'ERR_TOKEN_RANGE');
    await expectRejection(() => m.generate([], 3), 'ERR_BATCH', ['empty']);
    await expectRejection(() => m.generate(Array<number>(P + 1).fill(1), 0), 'ERR_SEQUENCE_LENGTH');
  });
});

describe('generate argument errors name the argument as written', () => {
  it('an element of the prompt is promptIds[i], the prompt itself promptIds', async () => {
    const m = models.gpt2!;
    // were promptIds[0][2] and promptIds[0]: the prompt is one sequence, not a batch of them
    let e = await expectRejection(() => m.generate([1, 2, 1.5], 3), 'ERR_BATCH', ['promptIds[2] ']);
    expect(e.message).not.toContain('[0]');
    await expectRejection(() => m.generate(5 as never, 3), 'ERR_BATCH', ['promptIds must be an array']);
    e = await expectRejection(() => m.generate([[1, 2]] as never, 3), 'ERR_BATCH', ['promptIds[0] is not an integer']);
    expect(e.message).not.toContain('[0][0]');
  });

  it('a string where a number belongs is shown as a string', async () => {
    const m = models.gpt2!;
    // were "(got 3)" and "(got 5)": the value looked like a valid one
    await expectRejection(() => m.generate([1, 2], '3' as never), 'ERR_ARGUMENT', ['maxNewTokens', 'string "3"']);
    await expectRejection(() => m.generate([1, 2], 3, { eosTokenId: '5' as never }), 'ERR_ARGUMENT', ['eosTokenId', 'string "5"']);
  });
});

describe('logits of a packed batch', () => {
  it('each sequence alone and packed give the same rows, in the order of positions (duplicates kept)', async () => {
    const m = models.llama!;
    const V = m.config.vocabSize;
    const a = [1, 2, 3, 4, 5];
    const b = [6, 7, 8];
    const [pa, pb] = await m.logits({ inputIds: [a, b] });
    const [sa] = await m.logits({ inputIds: [a] });
    const [sb] = await m.logits({ inputIds: [b] });
    expect(pa!.length).toBe(a.length * V);
    expect(pb!.length).toBe(b.length * V);
    expect(pa).toEqual(sa);
    expect(pb).toEqual(sb);
    const [ra, rb] = await m.logits({ inputIds: [a, b], positions: [[4, 0, 4], []] });
    expect(ra).toEqual(Float32Array.from([...sa!.subarray(4 * V), ...sa!.subarray(0, V), ...sa!.subarray(4 * V)]));
    expect(rb!.length).toBe(0);
  });

  it('positions must hold one list per sequence', async () => {
    const m = models.gpt2!;
    const inputIds = [
      [1, 2],
      [3, 4],
    ];
    // a short list gave every position of the sequences it left out (a result of another shape), a long one dropped
    // its extra lists, and a number, null or object gave every position of every sequence
    for (const positions of [[[0]], [[0], [1], [0]], 5, null, { 0: [1], 1: [1] }]) {
      await expectRejection(() => m.logits({ inputIds, positions: positions as never }), 'ERR_BATCH', ['positions', 'one list of positions per sequence']);
    }
    // a hole or a null entry is not "every position" either
    // eslint-disable-next-line no-sparse-arrays -- the hole is what is tested
    await expectRejection(() => m.logits({ inputIds, positions: [, [1]] as never }), 'ERR_BATCH', ['positions[0]']);
    await expectRejection(() => m.logits({ inputIds, positions: [[1], null] as never }), 'ERR_BATCH', ['positions[1]']);
    // undefined still means every position
    const rows = await m.logits({ inputIds, positions: undefined });
    expect(rows.map((r) => r.length)).toEqual([2 * 40, 2 * 40]);
  });
});

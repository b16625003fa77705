// The KV cache of greedy generation in the CPU backend's memory: it grows with the tokens generated (doubling), so an
// eos after one token of a long-context model costs a few rows, not max positions × layers (it was sized for the
// whole context up front: 262,144 positions here, 134 MB); and memory()'s peak counts it (it was freed before the op
// was accounted, so the peak never saw it).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';

const tmp = makeTempDir('dpzo-kv-memory-');
afterAll(() => tmp.cleanup());
const LAYERS = 2;
const HIDDEN = 64; // 2 heads of 32, no GQA: 64 floats per position per layer for k, as many for v
const dir = (name: string, maxPositions: number) =>
  writeRandomCheckpoint(join(tmp.dir, name), {
    family: 'llama', hiddenSize: HIDDEN, numLayers: LAYERS, numHeads: 2, numKvHeads: 2, intermediateSize: 64,
    vocabSize: 97, maxPositions, seed: 5,
  }).dir;
/** Bytes of a cache holding `positions` positions. */
const cacheBytes = (positions: number) => LAYERS * 2 * positions * HIDDEN * 4;

async function peakAfter(modelDir: string, run: (m: Awaited<ReturnType<typeof loadModel>>) => Promise<unknown>): Promise<number> {
  const m = await loadModel(modelDir, { threads: 1 });
  try {
    await run(m);
    return m.memory().hostPeakBytes;
  } finally {
    m.dispose();
  }
}

describe('the KV cache of generate', () => {
  it("is counted in memory()'s peak", async () => {
    const d = dir('counted', 4096);
    const short = await peakAfter(d, (m) => m.generate([1, 2, 3], 1));
    const long = await peakAfter(d, async (m) => expect(await m.generate([1, 2, 3], 1000)).toHaveLength(1000));
    // 1,003 positions cached at the end (the doubling may hold up to twice that)
    expect(long - short).toBeGreaterThanOrEqual(cacheBytes(1003) - cacheBytes(4));
    expect(long - short).toBeLessThan(cacheBytes(2 * 1003) + (1 << 20));
  });

  it('grows with the tokens generated: an eos after one token of a 262,144-position model costs a few rows', async () => {
    const d = dir('long-context', 262_144);
    const m = await loadModel(d, { threads: 1 });
    const first = (await m.generate([1, 2], 1))[0]!;
    m.dispose();
    const withEos = await peakAfter(d, async (m2) => expect(await m2.generate([1, 2], 2 ** 31 - 1, { eosTokenId: first })).toEqual([first]));
    const plain = await peakAfter(d, (m2) => m2.generate([1, 2], 1));
    expect(withEos - plain).toBeLessThan(1 << 20); // sized for the context: cacheBytes(262,144) = 134 MB
  });
});

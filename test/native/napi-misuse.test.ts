// The binding as a library user who misuses it meets it: worker threads, a worker terminated while an op runs,
// an abort after dispose(), arguments of the wrong kind to the raw addon, a logits request too large to return.
// Crashes are run in a child process, so that they show as a signal instead of ending vitest.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { resolveAddonPath } from '../../lib/addon-path.js';
import { loadModel } from '../../lib/index.js';
import { nativeAddon } from '../../lib/native.js';
import { type Checkpoint, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';
import { Rng } from '../helpers/prng.js';

let tmp: { dir: string; cleanup: () => void };
let small: Checkpoint;
let big: Checkpoint;
const addonPath = resolveAddonPath();

/** The big model's long batch (the forward takes several hundred ms on 2 cores: see api.test.ts). */
function longBatch(): number[][] {
  const rng = new Rng(5);
  return Array.from({ length: 96 }, (_, i) => Array.from({ length: 128 - (i % 5) }, () => rng.int(512)));
}

/** The same batch packed for the raw addon. */
function packed(seqs: number[][]): { tokens: Int32Array; offsets: Int32Array } {
  const offsets = [0];
  for (const s of seqs) offsets.push(offsets[offsets.length - 1]! + s.length);
  return { tokens: Int32Array.from(seqs.flat()), offsets: Int32Array.from(offsets) };
}

/** The raw addon throws argument errors synchronously and rejects for errors of the work: either, with `code` naming `mentions`. */
async function expectCoded(call: () => unknown, code: string, mentions: string[] = []): Promise<void> {
  let err: (Error & { code?: string }) | undefined;
  try {
    await call();
  } catch (e) {
    err = e as Error & { code?: string };
  }
  expect(err, `expected an error with ${code}`).toBeInstanceOf(Error);
  expect({ code: err!.code, message: err!.message }).toMatchObject({ code });
  for (const m of mentions) expect(err!.message).toContain(m);
}

beforeAll(() => {
  tmp = makeTempDir('dpzo-napi-misuse-');
  small = writeRandomCheckpoint(join(tmp.dir, 'small'), { family: 'gpt2', seed: 11 });
  big = writeRandomCheckpoint(join(tmp.dir, 'big'), {
    family: 'llama', hiddenSize: 256, numLayers: 4, numHeads: 4, numKvHeads: 2, intermediateSize: 512,
    vocabSize: 512, maxPositions: 128, seed: 12,
  });
});
afterAll(() => tmp?.cleanup());

/** Runs a CommonJS script in a child node with the addon path, the model dir and the packed long batch in a file. */
function runChild(name: string, script: string, opts: { ulimitKb?: number } = {}): ReturnType<typeof spawnSync> {
  const file = join(tmp.dir, `${name}.cjs`);
  const batchFile = join(tmp.dir, 'long-batch.json');
  writeFileSync(batchFile, JSON.stringify(longBatch()));
  writeFileSync(file, script);
  const args = [file, addonPath, big.dir, batchFile, small.dir];
  if (opts.ulimitKb === undefined) return spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
  // a cap on the address space: the old code allocated the whole result before failing (or was OOM-killed)
  const quoted = [process.execPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return spawnSync('bash', ['-c', `ulimit -v ${opts.ulimitKb} && exec ${quoted}`], { encoding: 'utf8', timeout: 60_000 });
}

const PACK = `
const [addonPath, bigDir, batchFile, smallDir] = process.argv.slice(2);
function pack(seqs) {
  const offsets = [0];
  for (const s of seqs) offsets.push(offsets[offsets.length - 1] + s.length);
  return { tokens: Int32Array.from(seqs.flat()), offsets: Int32Array.from(offsets) };
}
const longBatch = () => pack(JSON.parse(require('node:fs').readFileSync(batchFile, 'utf8')));
`;

describe('worker threads', () => {
  it('a model loaded on the main thread after a worker that loaded the addon exited works (was SIGSEGV: one process-wide constructor)', () => {
    const r = runChild(
      'worker-exit',
      `${PACK}
const { Worker, isMainThread, parentPort } = require('node:worker_threads');
if (isMainThread) {
  const addon = require(addonPath);
  const w = new Worker(__filename, { argv: process.argv.slice(2) });
  w.on('message', (m) => console.log('worker:', m));
  w.on('exit', async () => {
    const m = await addon.loadModel(smallDir, { threads: 1 });
    console.log('main: ' + m.info().config.vocabSize + ' ' + (await m.weightsHash()).length);
    m.dispose();
  });
} else {
  const addon = require(addonPath);
  addon.loadModel(smallDir, { threads: 1 }).then((m) => { parentPort.postMessage('loaded ' + m.info().config.vocabSize); m.dispose(); });
}
`,
    );
    expect(r.signal, `killed by ${r.signal}\n${r.stderr}`).toBeNull();
    expect(r.status, r.stderr as string).toBe(0);
    expect(r.stdout).toContain('worker: loaded 96');
    expect(r.stdout).toContain('main: 96 64');
  });

  it('terminating a worker while its forward runs leaves the process alive (was SIGABRT: a throw out of OnOK)', () => {
    const r = runChild(
      'worker-terminate',
      `${PACK}
const { Worker, isMainThread, parentPort } = require('node:worker_threads');
if (isMainThread) {
  const w = new Worker(__filename, { argv: process.argv.slice(2) });
  w.on('message', (m) => { if (m === 'started') setTimeout(() => w.terminate(), 50); });
  w.on('exit', () => setTimeout(() => console.log('main alive'), 1500));
} else {
  const addon = require(addonPath);
  addon.loadModel(bigDir, { threads: 2 }).then((m) => {
    m.perExampleLoss(longBatch()).then(() => parentPort.postMessage('done'));
    parentPort.postMessage('started');
  });
}
`,
    );
    expect(r.signal, `killed by ${r.signal}\n${r.stderr}`).toBeNull();
    expect(r.status, r.stderr as string).toBe(0);
    expect(r.stdout).toContain('main alive');
  });
});

describe('cancellation after dispose()', () => {
  it('an abort after dispose() still cancels the op that runs (cancel() reached no op once the handle was reset)', async () => {
    const m = await loadModel(big.dir, { threads: 2 });
    const ac = new AbortController();
    const t0 = performance.now();
    const running = m.perExampleLoss({ inputIds: longBatch() }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 30));
    m.dispose();
    ac.abort();
    const err = await running.then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(err, `the forward completed in ${(performance.now() - t0).toFixed(0)} ms despite the abort`).not.toBeNull();
    expect(err!.code).toBe('ERR_CANCELLED');
  });

  it('the raw addon: cancel() after dispose() rejects the running op with ERR_CANCELLED', async () => {
    const m = await nativeAddon().loadModel(big.dir, { threads: 2 });
    const running = m.perExampleLoss(packed(longBatch()));
    await new Promise((r) => setTimeout(r, 30));
    m.dispose();
    m.cancel();
    await expectRejection(() => running, 'ERR_CANCELLED');
    m.cancel(); // nothing left in flight: harmless
  });
});

describe('the raw addon refuses arguments it used to truncate, wrap or ignore', () => {
  it('generate: maxNewTokens beyond int32 (was cast to int: undefined behaviour) and eosTokenId 1.5 / 2^32 + 1 / "2"', async () => {
    const m = await nativeAddon().loadModel(small.dir, { threads: 1 });
    try {
      for (const n of [2 ** 31, 1e10]) await expectCoded(() => m.generate(Int32Array.of(1), n), 'ERR_ARGUMENT', ['maxNewTokens']);
      for (const eos of [1.5, 2 ** 32 + 1, '2', -2]) {
        await expectCoded(() => m.generate(Int32Array.of(1), 2, eos as number), 'ERR_ARGUMENT', ['eosTokenId']);
      }
      expect(await m.generate(Int32Array.of(1), 2, -1)).toHaveLength(2);
      expect(await m.generate(Int32Array.of(1), 2)).toHaveLength(2);
    } finally {
      m.dispose();
    }
  });

  it('perExampleGradNorms: mode 2^32 + 1 or 1.5 (read as 1, ghost) -> ERR_ARGUMENT', async () => {
    const m = await nativeAddon().loadModel(small.dir, { threads: 1, dtype: 0 });
    try {
      for (const mode of [2 ** 32 + 1, 1.5]) {
        await expectCoded(() => m.perExampleGradNorms(packed([[1, 2, 3]]), { mode }), 'ERR_ARGUMENT', ['mode']);
      }
    } finally {
      m.dispose();
    }
  });

  it('direction: a count of 1.5 (was truncated to 1) -> ERR_ARGUMENT', () => {
    expect(() => nativeAddon().direction(0, 0, 1.5)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
    expect(nativeAddon().direction(0, 0, 2)).toHaveLength(2);
  });

  it("loadModel: trainable that is not an array (was ignored: every tensor trainable) -> ERR_ARGUMENT", async () => {
    await expectCoded(() => nativeAddon().loadModel(small.dir, { trainable: 'attn' as never }), 'ERR_ARGUMENT', ['trainable']);
  });

  it('a path with a NUL (the C library read it up to the NUL: "out\\0x" wrote out) -> ERR_ARGUMENT, also through the API', async () => {
    await expectCoded(() => nativeAddon().loadModel(`${small.dir}\0x`, {}), 'ERR_ARGUMENT', ['NUL']);
    await expectRejection(() => loadModel(`${small.dir}\0x`), 'ERR_ARGUMENT', ['NUL']);
    const m = await loadModel(small.dir);
    try {
      await expectRejection(() => m.save(join(tmp.dir, 'out\0x')), 'ERR_ARGUMENT', ['NUL']);
    } finally {
      m.dispose();
    }
  });
});

describe('logits too large to return', () => {
  it('positions × vocabulary beyond 2^32 values is ERR_ARGUMENT at once (it was allocated whole: ERR_OUT_OF_MEMORY, or the OOM killer)', () => {
    const wide = writeRandomCheckpoint(join(tmp.dir, 'wide'), { family: 'gpt2', vocabSize: 4096, seed: 3 });
    const r = runChild(
      'logits-huge',
      `${PACK}
const addon = require(addonPath);
addon.loadModel(${JSON.stringify(wide.dir)}, { threads: 1 }).then(async (m) => {
  const positions = new Int32Array(2 ** 20 + 1); // × 4096 = 2^32 + 4096 logits
  let out;
  try {
    out = await m.logits(pack([[1, 2, 3]]), positions).then(() => 'resolved', (e) => e.code + ' ' + e.message);
  } catch (e) {
    out = e.code + ' ' + e.message; // an argument error is thrown synchronously
  }
  console.log(out);
  m.dispose();
});
`,
      { ulimitKb: 6_000_000 },
    );
    expect(r.signal, `killed by ${r.signal}\n${r.stderr}`).toBeNull();
    expect(r.status, r.stderr as string).toBe(0);
    expect(r.stdout).toMatch(/^ERR_ARGUMENT logits: 1048577 positions/);
  });
});

describe("save names the saved weights' dtype in config.json", () => {
  it('a bfloat16 checkpoint loaded and saved as float32 says float32 (it kept "bfloat16"); the rest of the file is byte for byte', async () => {
    const ck = writeRandomCheckpoint(fresh('dtype-src'), { family: 'llama', dtype: 'BF16', seed: 6 });
    const source = readFileSync(join(ck.dir, 'config.json'), 'utf8');
    expect(JSON.parse(source).torch_dtype).toBe('bfloat16');
    const m = await loadModel(ck.dir, { threads: 1, dtype: 'float32' });
    const same = await loadModel(ck.dir, { threads: 1 });
    try {
      const out = fresh('dtype-f32');
      await m.save(out);
      const saved = readFileSync(join(out, 'config.json'), 'utf8');
      expect(JSON.parse(saved).torch_dtype).toBe('float32');
      expect(saved).toBe(source.replace('"torch_dtype": "bfloat16"', '"torch_dtype": "float32"'));
      const kept = fresh('dtype-bf16');
      await same.save(kept);
      expect(readFileSync(join(kept, 'config.json'), 'utf8')).toBe(source);
    } finally {
      m.dispose();
      same.dispose();
    }
  });
});

describe('save beside a crashed process\'s leftovers', () => {
  it('temporary files named with this pid (a dead process that had it) are skipped, not a failed save', () => {
    // a fresh process, so its counter of temporary names starts at 0 as after a restart; the leftovers carry its pid
    const ck = writeRandomCheckpoint(fresh('leftover'), { family: 'llama', seed: 4 });
    const out = fresh('leftover-saved');
    const script = [
      "import { mkdirSync, writeFileSync } from 'node:fs';",
      `const { loadModel } = await import(${JSON.stringify(join(REPO, 'dist', 'index.js'))});`,
      `const out = ${JSON.stringify(out)};`,
      'mkdirSync(out, { recursive: true });',
      "for (const f of ['model.safetensors', 'config.json']) for (let i = 0; i < 4; i++) writeFileSync(`${out}/${f}.tmp.${process.pid}.${i}`, 'left by a crash');",
      `const m = await loadModel(${JSON.stringify(ck.dir)}, { threads: 1 });`,
      'await m.save(out);',
      "process.stdout.write(await m.weightsHash());",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
    // the leftovers are not this save's to delete: they stay, and the saved model loads
    expect(readdirSync(out).filter((f) => f.includes('.tmp.')).length).toBe(8);
  });
});

// Issue "Foundation": loading, saving and validating Hugging Face checkpoints
// of the three families, against files written by an independent writer.
import { existsSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { type Checkpoint, type CheckpointOptions, VARIANTS, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection, expectThrow } from '../helpers/expect-error.js';
import {
  type FloatDType, type RawTensor, encodeValues, overlapOffsets, readSafetensors, removeTensor, roundTo,
  setHeaderLength, setTensorDtype, setTensorShape, truncateFile, writeRawSafetensors,
} from '../helpers/safetensors.js';

const tmp = makeTempDir('dpzo-checkpoint-');
afterAll(() => tmp.cleanup());
let counter = 0;
const fresh = (tag: string) => join(tmp.dir, `${tag}-${counter++}`);

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const byteSorted = (xs: string[]) => [...xs].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));

/** All tensors of a directory's safetensors file(s), by name as stored. */
function dirTensors(dir: string): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.safetensors'))) {
    for (const [name, t] of readSafetensors(join(dir, f)).tensors) {
      expect(out.has(name), `${name} stored twice in ${dir}`).toBe(false);
      out.set(name, t);
    }
  }
  return out;
}

function expectSameValues(got: Float32Array, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`${what}[${i}]: got ${got[i]}, stored ${want[i]}`);
  }
}

const DTYPES: FloatDType[] = ['F32', 'BF16', 'F16'];
const API_DTYPE = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

describe('round trip load -> save -> load', () => {
  for (const [variant, opts] of Object.entries(VARIANTS)) {
    for (const dtype of DTYPES) {
      it(`${variant} ${dtype}`, async () => {
        const shards = variant === 'llama-gqa-untied' ? 3 : variant === 'opt-postln' && dtype === 'BF16' ? 2 : 1;
        const ck = writeRandomCheckpoint(fresh(variant), { ...opts, dtype, seed: 100 + counter, shards, order: dtype === 'F16' ? 'random' : 'module' });
        const m = await loadModel(ck.dir, { threads: 1 });
        try {
          expect(m.dtype).toBe(API_DTYPE[dtype]);
          expect(m.parameterNames()).toEqual(byteSorted([...ck.tensors.keys()]));
          for (const [name, t] of ck.tensors) {
            expect(m.parameterShape(name), name).toEqual(t.shape);
            expectSameValues(m.getParameter(name), t.values, name);
          }
          const out = fresh(`${variant}-saved`);
          await m.save(out);
          // the saved directory is a Hugging Face directory with the same config and tensor bytes
          expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toEqual(ck.config);
          const src = dirTensors(ck.dir);
          for (const b of ck.buffers) src.delete(b); // causal-mask buffers are not parameters; transformers rebuilds them
          const dst = dirTensors(out);
          expect(byteSorted([...dst.keys()])).toEqual(byteSorted([...src.keys()]));
          for (const [name, t] of src) {
            const s = dst.get(name)!;
            expect({ name, dtype: s.dtype, shape: s.shape }).toEqual({ name, dtype: t.dtype, shape: t.shape });
            expect(Buffer.compare(Buffer.from(s.data), Buffer.from(t.data)), `bytes of ${name}`).toBe(0);
          }
          const m2 = await loadModel(out, { threads: 1 });
          try {
            expect(m2.parameterNames()).toEqual(m.parameterNames());
            for (const name of m.parameterNames()) expectSameValues(m2.getParameter(name), m.getParameter(name), `${name} after reload`);
            expect(await m2.weightsHash()).toBe(await m.weightsHash());
          } finally {
            m2.dispose();
          }
        } finally {
          m.dispose();
        }
      });
    }
  }

  it('converts dtype on load with round to nearest even, and saves in the new dtype', async () => {
    const ck = writeRandomCheckpoint(fresh('conv'), { family: 'llama', numKvHeads: 2, dtype: 'F32', seed: 5 });
    for (const target of ['BF16', 'F16'] as const) {
      const m = await loadModel(ck.dir, { threads: 1, dtype: API_DTYPE[target] });
      try {
        expect(m.dtype).toBe(API_DTYPE[target]);
        for (const [name, t] of ck.tensors) {
          expectSameValues(m.getParameter(name), Array.from(t.values, (x) => roundTo(x, target)), `${name} as ${target}`);
        }
        const out = fresh(`conv-${target}`);
        await m.save(out);
        const dst = dirTensors(out);
        for (const [name, t] of ck.tensors) {
          const s = dst.get(name)!;
          expect(s.dtype).toBe(target);
          expect(Buffer.compare(Buffer.from(s.data), Buffer.from(encodeValues(t.values, target))), `bytes of ${name}`).toBe(0);
        }
      } finally {
        m.dispose();
      }
    }
  });

  it('saved weights follow perturb (the file is the current state, not the source)', async () => {
    const ck = writeRandomCheckpoint(fresh('pert'), { family: 'gpt2', seed: 9 });
    const m = await loadModel(ck.dir, { threads: 1 });
    try {
      await m.perturb(123, 1e-2);
      const out = fresh('pert-saved');
      await m.save(out);
      const m2 = await loadModel(out, { threads: 1 });
      try {
        let changed = 0;
        for (const name of m.parameterNames()) {
          const a = m.getParameter(name);
          expectSameValues(m2.getParameter(name), a, name);
          const src = ck.tensors.get(name)!.values;
          for (let i = 0; i < a.length; i++) if (a[i] !== src[i]) changed++;
        }
        expect(changed).toBeGreaterThan(m.numParameters * 0.9);
      } finally {
        m2.dispose();
      }
    } finally {
      m.dispose();
    }
  });
});

describe('config normalisation', () => {
  const cases: Array<[string, CheckpointOptions, Record<string, unknown>]> = [
    ['gpt2 (n_inner null -> 4·hidden)', { family: 'gpt2', hiddenSize: 24, numHeads: 3, vocabSize: 77, maxPositions: 40 },
      { modelType: 'gpt2', vocabSize: 77, hiddenSize: 24, numLayers: 2, numHeads: 3, numKvHeads: 3, headDim: 8, intermediateSize: 96, maxPositions: 40, tieWordEmbeddings: true, bosTokenId: 76, eosTokenId: 76 }],
    ['gpt2 with n_inner', { family: 'gpt2', intermediateSize: 40, numLayers: 1 },
      { modelType: 'gpt2', hiddenSize: 32, numLayers: 1, intermediateSize: 40, headDim: 8 }],
    ['opt post-LN with projection', { family: 'opt', preLayerNorm: false, wordEmbedProjDim: 16, intermediateSize: 48, maxPositions: 50 },
      { modelType: 'opt', hiddenSize: 32, numHeads: 4, numKvHeads: 4, headDim: 8, intermediateSize: 48, maxPositions: 50, tieWordEmbeddings: true, bosTokenId: 2, eosTokenId: 2 }],
    ['llama GQA, explicit head_dim', { family: 'llama', numHeads: 4, numKvHeads: 2, headDim: 12, intermediateSize: 40, tie: false, numLayers: 3 },
      { modelType: 'llama', hiddenSize: 32, numLayers: 3, numHeads: 4, numKvHeads: 2, headDim: 12, intermediateSize: 40, maxPositions: 64, tieWordEmbeddings: false, bosTokenId: 1, eosTokenId: 2 }],
  ];
  for (const [title, opts, want] of cases) {
    it(title, async () => {
      const ck = writeRandomCheckpoint(fresh('cfg'), { ...opts, seed: 3 });
      const m = await loadModel(ck.dir, { threads: 1 });
      try {
        expect(m.config).toMatchObject(want);
      } finally {
        m.dispose();
      }
    });
  }

  it('llama without num_key_value_heads defaults to num_attention_heads; gpt2 without tie flag is tied', async () => {
    const ck = writeRandomCheckpoint(fresh('cfg-default'), { family: 'llama', numHeads: 4, seed: 4 });
    const cfg = { ...ck.config };
    delete cfg.num_key_value_heads;
    writeFileSync(join(ck.dir, 'config.json'), JSON.stringify(cfg));
    const m = await loadModel(ck.dir, { threads: 1 });
    try {
      expect(m.config).toMatchObject({ numHeads: 4, numKvHeads: 4, headDim: 8 });
    } finally {
      m.dispose();
    }
  });
});

describe('parameter counts', () => {
  const numelOf = (ck: Checkpoint, pred: (n: string) => boolean) =>
    [...ck.tensors].filter(([n]) => pred(n)).reduce((s, [, t]) => s + t.values.length, 0);

  it('tied head counted once, even when the file stores a copy', async () => {
    const ck = writeRandomCheckpoint(fresh('count'), { ...VARIANTS['gpt2-noprefix-lmhead']!, seed: 8 });
    expect(readSafetensors(join(ck.dir, 'model.safetensors')).tensors.has('lm_head.weight')).toBe(true);
    const m = await loadModel(ck.dir, { threads: 1 });
    try {
      expect(m.parameterNames()).not.toContain('lm_head.weight');
      expect(m.numParameters).toBe(numelOf(ck, () => true));
      expect(m.numTrainable).toBe(m.numParameters);
      expect(m.trainableNames()).toEqual(m.parameterNames());
    } finally {
      m.dispose();
    }
  });

  it('untied head is a parameter of its own', async () => {
    const ck = writeRandomCheckpoint(fresh('count-untied'), { family: 'llama', tie: false, seed: 8 });
    const m = await loadModel(ck.dir, { threads: 1 });
    try {
      expect(m.parameterNames()).toContain('lm_head.weight');
      const V = ck.config.vocab_size as number;
      const H = ck.config.hidden_size as number;
      expect(m.numParameters).toBe(numelOf(ck, () => true));
      expect(numelOf(ck, (n) => n === 'lm_head.weight')).toBe(V * H);
    } finally {
      m.dispose();
    }
  });

  const patternCases: Array<[string, string[], (n: string) => boolean]> = [
    ['substring', ['mlp'], (n) => n.includes('mlp')],
    ['glob', ['model.layers.*.self_attn.q_proj.weight'], (n) => /^model\.layers\.[^]*\.self_attn\.q_proj\.weight$/.test(n)],
    ['several patterns', ['*norm*', 'embed_tokens'], (n) => n.includes('norm') || n.includes('embed_tokens')],
  ];
  for (const [title, patterns, pred] of patternCases) {
    it(`trainable patterns: ${title}`, async () => {
      const ck = writeRandomCheckpoint(fresh('trainable'), { family: 'llama', numKvHeads: 2, attentionBias: true, tie: false, seed: 12 });
      const m = await loadModel(ck.dir, { threads: 1, trainable: patterns });
      try {
        const want = byteSorted([...ck.tensors.keys()].filter(pred));
        expect(want.length).toBeGreaterThan(0);
        expect(m.trainableNames()).toEqual(want);
        expect(m.numTrainable).toBe(numelOf(ck, pred));
        expect(m.numParameters).toBe(numelOf(ck, () => true));
        // perturb touches trainable tensors only
        await m.perturb(77, 0.5);
        for (const [name, t] of ck.tensors) {
          const got = m.getParameter(name);
          const same = got.every((v, i) => v === t.values[i]);
          expect(same, `${name} ${pred(name) ? 'trainable, should move' : 'frozen, should not move'}`).toBe(!pred(name));
        }
      } finally {
        m.dispose();
      }
    });
  }
});

describe('bad input is a rejected promise with a code and a message naming the culprit', () => {
  let good: Checkpoint;
  beforeAll(() => {
    good = writeRandomCheckpoint(fresh('good'), { family: 'llama', numKvHeads: 2, seed: 21 });
  });
  const copy = (tag: string, opts: Partial<CheckpointOptions> = {}) =>
    writeRandomCheckpoint(fresh(tag), { family: 'llama', numKvHeads: 2, seed: 21, ...opts });

  it('missing config.json -> ERR_CONFIG_MISSING', async () => {
    const ck = copy('nocfg');
    unlinkSync(join(ck.dir, 'config.json'));
    await expectRejection(() => loadModel(ck.dir), 'ERR_CONFIG_MISSING', ['config.json']);
  });

  it('a directory that does not exist -> ERR_CONFIG_MISSING', async () => {
    const dir = join(tmp.dir, 'does-not-exist');
    await expectRejection(() => loadModel(dir), 'ERR_CONFIG_MISSING', [dir]);
  });

  it('config.json that is not JSON -> ERR_CONFIG', async () => {
    const ck = copy('badjson');
    writeFileSync(join(ck.dir, 'config.json'), '{"model_type": "llama", ');
    await expectRejection(() => loadModel(ck.dir), 'ERR_CONFIG', ['config.json']);
  });

  it('config.json without hidden_size -> ERR_CONFIG naming the field', async () => {
    const ck = copy('nohidden');
    const cfg = { ...ck.config };
    delete cfg.hidden_size;
    writeFileSync(join(ck.dir, 'config.json'), JSON.stringify(cfg));
    await expectRejection(() => loadModel(ck.dir), 'ERR_CONFIG', ['hidden_size']);
  });

  it('unknown model_type -> ERR_MODEL_TYPE', async () => {
    const ck = copy('bert', { extraConfig: { model_type: 'bert' } });
    await expectRejection(() => loadModel(ck.dir), 'ERR_MODEL_TYPE', ['bert']);
  });

  it('truncated safetensors -> ERR_SAFETENSORS_TRUNCATED', async () => {
    const ck = copy('trunc');
    truncateFile(join(ck.dir, 'model.safetensors'), 10);
    await expectRejection(() => loadModel(ck.dir), 'ERR_SAFETENSORS_TRUNCATED', ['model.safetensors']);
  });

  it('header length beyond the end of the file -> ERR_SAFETENSORS_HEADER', async () => {
    const ck = copy('hdr');
    const f = join(ck.dir, 'model.safetensors');
    setHeaderLength(f, BigInt(readFileSync(f).length + 100));
    await expectRejection(() => loadModel(ck.dir), 'ERR_SAFETENSORS_HEADER', ['model.safetensors']);
  });

  it('absurd header length (2^63) -> ERR_SAFETENSORS_HEADER, no allocation crash', async () => {
    const ck = copy('hdr-huge');
    setHeaderLength(join(ck.dir, 'model.safetensors'), 1n << 63n);
    await expectRejection(() => loadModel(ck.dir), 'ERR_SAFETENSORS_HEADER', ['model.safetensors']);
  });

  it('header that is not JSON -> ERR_SAFETENSORS_HEADER', async () => {
    const ck = copy('hdr-json');
    const f = join(ck.dir, 'model.safetensors');
    const buf = readFileSync(f);
    buf[9] = '!'.charCodeAt(0); // inside the JSON text
    writeFileSync(f, buf);
    await expectRejection(() => loadModel(ck.dir), 'ERR_SAFETENSORS_HEADER', ['model.safetensors']);
  });

  it('overlapping data offsets -> ERR_SAFETENSORS_OFFSETS', async () => {
    const ck = copy('overlap');
    overlapOffsets(join(ck.dir, 'model.safetensors'), 'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.k_proj.weight');
    await expectRejection(() => loadModel(ck.dir), 'ERR_SAFETENSORS_OFFSETS', ['model.safetensors']);
  });

  it('a gap between tensors -> ERR_SAFETENSORS_OFFSETS', async () => {
    const ck = copy('gap');
    const f = join(ck.dir, 'model.safetensors');
    const p = readSafetensors(f);
    const header: Record<string, unknown> = { __metadata__: p.metadata };
    const parts: Uint8Array[] = [];
    let off = 0;
    for (const [name, t] of p.tensors) {
      if (name === 'model.norm.weight') off += 4; // 4 unused bytes before this tensor
      header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
      if (name === 'model.norm.weight') parts.push(new Uint8Array(4));
      parts.push(t.data);
      off += t.data.length;
    }
    writeRawSafetensors(f, header, Buffer.concat(parts));
    await expectRejection(() => loadModel(ck.dir), 'ERR_SAFETENSORS_OFFSETS', ['model.safetensors']);
  });

  it('byte size that disagrees with the shape -> ERR_SAFETENSORS_OFFSETS', async () => {
    const ck = copy('size');
    const f = join(ck.dir, 'model.safetensors');
    const p = readSafetensors(f);
    const header: Record<string, unknown> = { __metadata__: p.metadata };
    let off = 0;
    for (const [name, t] of p.tensors) {
      const shape = name === 'model.norm.weight' ? [t.shape[0]! / 2] : t.shape; // half the elements, same bytes
      header[name] = { dtype: t.dtype, shape, data_offsets: [off, off + t.data.length] };
      off += t.data.length;
    }
    writeRawSafetensors(f, header, Buffer.concat([...p.tensors.values()].map((t) => t.data)));
    await expectRejection(() => loadModel(ck.dir), 'ERR_SAFETENSORS_OFFSETS', ['model.norm.weight']);
  });

  it('"__metadata__": null is no metadata, as the safetensors library reads it (it was refused)', async () => {
    const ck = copy('null-metadata');
    const f = join(ck.dir, 'model.safetensors');
    const p = readSafetensors(f);
    const header: Record<string, unknown> = { __metadata__: null };
    let off = 0;
    for (const [name, t] of p.tensors) {
      header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
      off += t.data.length;
    }
    writeRawSafetensors(f, header, Buffer.concat([...p.tensors.values()].map((t) => t.data)));
    const m = await loadModel(ck.dir, { threads: 1 });
    try {
      expectSameValues(m.getParameter('model.norm.weight'), ck.tensors.get('model.norm.weight')!.values, 'model.norm.weight');
    } finally {
      m.dispose();
    }
  });

  it('a tensor missing -> ERR_TENSOR_MISSING', async () => {
    const ck = copy('missing');
    removeTensor(join(ck.dir, 'model.safetensors'), 'model.layers.1.mlp.up_proj.weight');
    await expectRejection(() => loadModel(ck.dir), 'ERR_TENSOR_MISSING', ['model.layers.1.mlp.up_proj.weight']);
  });

  it('untied llama without lm_head.weight -> ERR_TENSOR_MISSING', async () => {
    const ck = copy('missing-head', { tie: false });
    removeTensor(join(ck.dir, 'model.safetensors'), 'lm_head.weight');
    await expectRejection(() => loadModel(ck.dir), 'ERR_TENSOR_MISSING', ['lm_head.weight']);
  });

  it('wrong shape -> ERR_TENSOR_SHAPE', async () => {
    const ck = copy('shape');
    const name = 'model.layers.0.self_attn.k_proj.weight'; // (kv·hd, H) = (16, 32); store it transposed
    setTensorShape(join(ck.dir, 'model.safetensors'), name, [32, 16]);
    await expectRejection(() => loadModel(ck.dir), 'ERR_TENSOR_SHAPE', [name]);
  });

  it('gpt2 Conv1D weight stored as (out, in) -> ERR_TENSOR_SHAPE', async () => {
    const ck = writeRandomCheckpoint(fresh('conv1d'), { family: 'gpt2', seed: 2 });
    const name = 'transformer.h.0.attn.c_attn.weight';
    setTensorShape(join(ck.dir, 'model.safetensors'), name, [96, 32]);
    await expectRejection(() => loadModel(ck.dir), 'ERR_TENSOR_SHAPE', ['h.0.attn.c_attn.weight']);
  });

  it('unsupported dtype (I64) -> ERR_DTYPE', async () => {
    const ck = copy('i64');
    setTensorDtype(join(ck.dir, 'model.safetensors'), 'model.norm.weight', 'I64');
    await expectRejection(() => loadModel(ck.dir), 'ERR_DTYPE', ['model.norm.weight', 'I64']);
  });

  it('shard index naming a missing file -> ERR_SHARD_MISSING', async () => {
    const ck = copy('shards', { shards: 3 });
    const gone = ck.files[1]!;
    rmSync(join(ck.dir, gone));
    await expectRejection(() => loadModel(ck.dir), 'ERR_SHARD_MISSING', [gone]);
  });

  it('an empty weight_map -> ERR_SAFETENSORS_HEADER naming the index (it read as a model without tensors)', async () => {
    const ck = copy('shards-empty-map', { shards: 2 });
    const index = join(ck.dir, 'model.safetensors.index.json');
    writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: {} }));
    await expectRejection(() => loadModel(ck.dir), 'ERR_SAFETENSORS_HEADER', ['model.safetensors.index.json', 'weight_map', 'empty']);
  });

  it('a tensor in the index but not in its shard -> ERR_TENSOR_MISSING', async () => {
    const ck = copy('shards-hole', { shards: 2 });
    const first = readSafetensors(join(ck.dir, ck.files[0]!));
    const victim = [...first.tensors.keys()][0]!;
    removeTensor(join(ck.dir, ck.files[0]!), victim);
    await expectRejection(() => loadModel(ck.dir), 'ERR_TENSOR_MISSING', [victim]);
  });

  it('no safetensors at all -> an error naming model.safetensors', async () => {
    const ck = copy('nofile');
    rmSync(join(ck.dir, 'model.safetensors'));
    const e = await loadModel(ck.dir).then(
      () => expect.fail('loaded a directory without weights'),
      (err: Error & { code?: string }) => err,
    );
    expect(['ERR_SHARD_MISSING', 'ERR_TENSOR_MISSING', 'ERR_IO']).toContain(e.code);
    expect(e.message).toContain('model.safetensors');
  });

  describe('seeds', () => {
    it('perturb with a non-integer, negative or >= 2^64 seed -> ERR_SEED; 2^64-1 and 0 are fine', async () => {
      const m = await loadModel(good.dir, { threads: 1 });
      try {
        await expectRejection(() => m.perturb(1.5, 1e-3), 'ERR_SEED', ['1.5']);
        await expectRejection(() => m.perturb(-1, 1e-3), 'ERR_SEED');
        await expectRejection(() => m.perturb(-1n, 1e-3), 'ERR_SEED');
        await expectRejection(() => m.perturb(1n << 64n, 1e-3), 'ERR_SEED');
        await expectRejection(() => m.perturb(Number.NaN, 1e-3), 'ERR_SEED');
        await expectRejection(() => m.update([{ seed: 2.5, coeff: 1 }]), 'ERR_SEED');
        // nothing moved
        for (const [name, t] of good.tensors) expectSameValues(m.getParameter(name), t.values, name);
        await m.perturb((1n << 64n) - 1n, 1e-3);
        await m.perturb(0, 1e-3);
        await m.perturb(Number.MAX_SAFE_INTEGER, 1e-3);
      } finally {
        m.dispose();
      }
    });

    it('a seed as number and as bigint is the same direction', async () => {
      const a = await loadModel(good.dir, { threads: 1 });
      const b = await loadModel(good.dir, { threads: 2 });
      try {
        await a.perturb(987654321, 0.1);
        await b.perturb(987654321n, 0.1);
        expect(await a.weightsHash()).toBe(await b.weightsHash());
      } finally {
        a.dispose();
        b.dispose();
      }
    });
  });

  it('unknown parameter name -> ERR_TENSOR_UNKNOWN; use after dispose -> ERR_DISPOSED', async () => {
    const m = await loadModel(good.dir, { threads: 1 });
    expectThrow(() => m.getParameter('model.layers.9.mlp.up_proj.weight'), 'ERR_TENSOR_UNKNOWN', ['model.layers.9.mlp.up_proj.weight']);
    m.dispose();
    expectThrow(() => m.getParameter('model.norm.weight'), 'ERR_DISPOSED');
  });

  it('the process is still healthy after all of that', async () => {
    const m = await loadModel(good.dir, { threads: 1 });
    try {
      expect(m.numParameters).toBeGreaterThan(0);
      expect(existsSync(good.dir)).toBe(true);
    } finally {
      m.dispose();
    }
  });
});

// Random-initialised models (issue 12: benchmarks of shapes not on disk): loadModel(dir, { randomInit: { seed } }) reads config.json alone,
// never a weights file; the weights follow the documented init (matrices N(0, 0.02²), norm gains 1, biases 0); the same seed gives the same
// bits, another seed others; the known shape names of `dpzo bench memory --random-init` give the OPT configs' parameter counts.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { OPT_FAMILY, optParams } from '../../lib/bench/opt-family.js';
import { shapeConfigDir } from '../../lib/bench/shape-config.js';
import { makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { dpzo } from '../helpers/cli.js';

const tmp = makeTempDir('dpzo-random-init-');
afterAll(() => tmp.cleanup());

// a checkpoint whose weights file is then replaced by garbage: only a load that never opens it can succeed
const dir = join(tmp.dir, 'opt');
writeRandomCheckpoint(dir, { family: 'opt', seed: 4 });
writeFileSync(join(dir, 'model.safetensors'), 'not a safetensors file');

const std = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);

describe('randomInit', () => {
  it('sets a matrix element at global index i to fl(0.02·z(seed, i)) exactly, i over the tensors in canonical order', async () => {
    const m = await loadModel(dir, { threads: 1, randomInit: { seed: 7 } });
    try {
      let g0 = 0;
      let checked = 0;
      for (const n of m.parameterNames()) {
        const v = m.getParameter(n);
        if (!n.endsWith('bias') && !n.includes('layer_norm')) {
          const z = native.direction(7, g0, v.length);
          for (let i = 0; i < v.length; i++) if (v[i] !== Math.fround(Math.fround(0.02) * z[i]!)) expect.fail(`${n}[${i}]`);
          checked += v.length;
        }
        g0 += v.length;
      }
      expect(checked).toBeGreaterThan(1000);
    } finally {
      m.dispose();
    }
  });

  it('reads config.json only, follows the documented init, and is a function of the seed', async () => {
    await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({ code: 'ERR_SAFETENSORS_HEADER' });
    const a = await loadModel(dir, { threads: 1, randomInit: { seed: 7 } });
    const b = await loadModel(dir, { threads: 1, randomInit: { seed: 7n } });
    const c = await loadModel(dir, { threads: 1, randomInit: { seed: 8 } });
    try {
      expect(await a.weightsHash()).toBe(await b.weightsHash());
      expect(await a.weightsHash()).not.toBe(await c.weightsHash());
      const names = a.parameterNames();
      for (const n of names) {
        const v = a.getParameter(n);
        if (n.endsWith('bias')) expect(v.every((x) => x === 0), n).toBe(true);
        else if (n.includes('layer_norm')) expect(v.every((x) => x === 1), n).toBe(true);
        else expect(Math.abs(std(v) / 0.02 - 1), n).toBeLessThan(0.15);
      }
      const { loss } = await a.perExampleLoss({ inputIds: [[1, 2, 3, 4, 5]] });
      // near-zero weights: the prediction is close to uniform over the vocabulary
      expect(Math.abs(loss[0]! - Math.log(a.config.vocabSize))).toBeLessThan(0.5);
    } finally {
      a.dispose();
      b.dispose();
      c.dispose();
    }
  });

  it('in bfloat16 holds the float32 init rounded to nearest', async () => {
    const f = await loadModel(dir, { threads: 1, randomInit: { seed: 9 } });
    const h = await loadModel(dir, { threads: 1, randomInit: { seed: 9 }, dtype: 'bfloat16' });
    try {
      const name = f.parameterNames().find((n) => n.includes('fc1.weight'))!;
      const x = f.getParameter(name);
      const y = h.getParameter(name);
      const bf16 = (v: number): number => {
        const u = new Uint32Array(new Float32Array([v]).buffer)[0]!;
        const r = (u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000;
        return new Float32Array(new Uint32Array([r >>> 0]).buffer)[0]!;
      };
      for (let i = 0; i < x.length; i++) expect(y[i]).toBe(bf16(x[i]!));
    } finally {
      f.dispose();
      h.dispose();
    }
  });

  it('refuses an implausible config before building anything (ERR_CONFIG), and a malformed seed (ERR_ARGUMENT)', async () => {
    const huge = join(tmp.dir, 'huge');
    writeRandomCheckpoint(huge, { family: 'llama', seed: 1, extraConfig: { num_hidden_layers: 1_000_000_000 } });
    const e = (await loadModel(huge, { randomInit: { seed: 1 } }).catch((x: unknown) => x)) as { code: string; message: string };
    expect(e.code).toBe('ERR_CONFIG');
    expect(e.message).toMatch(/config\.json: describes \d+ parameters in 1000000000 layers/);
  });

  it('refuses a malformed seed with ERR_ARGUMENT', async () => {
    for (const seed of [-1, 1.5, 2n ** 64n, 'x'])
      await expect(loadModel(dir, { randomInit: { seed: seed as number } })).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
  });

  it('a known shape name gives the OPT config of that size (opt-125m: its parameter count)', async () => {
    const s = OPT_FAMILY.find((x) => x.name === 'opt-125m')!;
    const shapeDir = shapeConfigDir('opt-125m')!;
    try {
      const m = await loadModel(shapeDir, { randomInit: { seed: 1 }, dtype: 'bfloat16' });
      try {
        expect(m.numParameters).toBe(optParams(s));
        expect(m.config).toMatchObject({ modelType: 'opt', numLayers: 12, hiddenSize: 768, numHeads: 12 });
      } finally {
        m.dispose();
      }
    } finally {
      rmSync(shapeDir, { recursive: true, force: true });
    }
    expect(shapeConfigDir('opt-7b')).toBeUndefined();
  });

  it('dpzo bench memory --random-init measures a config-only model', async () => {
    const out = join(tmp.dir, 'bench');
    const r = await dpzo('bench', 'memory', '--model', dir, '--random-init', '3', '--batch', '2', '--seq', '8', '--threads', '1', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { rows: { method: string; peakBytes: number }[] };
    expect(report.rows.map((x) => x.method)).toContain('dpzo');
    for (const row of report.rows) expect(row.peakBytes).toBeGreaterThan(0);
    const bad = await dpzo('bench', 'memory', '--model', dir, '--random-init', 'x');
    expect(bad.status).toBe(2);
  }, 120_000);
});

// A Qwen3 checkpoint (model_type qwen3: per-head q_norm / k_norm, head_dim ≠ hidden / heads, GQA, tied head) as a
// user meets it: `dpzo info` names its family (llama) and its own model_type (qwen3) and counts the q/k norm weights, a `norm` trainable
// pattern selects them, `dpzo train` (DP-ZO and DP-SGD) moves them and the exported model holds the moved values,
// and a random-initialised Qwen3 (config.json alone) gets norm gains 1 there as everywhere.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { type CheckpointOptions, VARIANTS, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { dpzo } from '../helpers/cli.js';
import { writeCyclesJsonl } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-qwen3-cli-');
afterAll(() => tmp.cleanup());

const QWEN3: CheckpointOptions = { ...VARIANTS.qwen3!, seed: 13, vocabSize: 32 };
const ck = writeRandomCheckpoint(join(tmp.dir, 'qwen3'), QWEN3);
const data = writeCyclesJsonl(join(tmp.dir, 'train.jsonl'), 60, 1);
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const count = (keep: (name: string) => boolean) => [...ck.tensors].filter(([n]) => keep(n)).reduce((s, [, t]) => s + numel(t.shape), 0);
const isQkNorm = (n: string) => /self_attn\.[qk]_norm\.weight$/.test(n);

describe('dpzo info on a qwen3 checkpoint', () => {
  it('--json: the llama family, head_dim 12, every parameter counted (q_norm / k_norm included)', async () => {
    const r = await dpzo('info', '--model', ck.dir, '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(count(isQkNorm)).toBe(2 * 2 * 12); // 2 layers × (q_norm + k_norm) × head_dim
    expect(j).toMatchObject({ modelType: 'llama', configModelType: 'qwen3', headDim: 12, numHeads: 4, numKvHeads: 2, numParameters: count(() => true) });
  });

  it('human output: family llama, head dim 12; --trainable norm selects the q/k norms with the RMSNorm gains', async () => {
    const r = await dpzo('info', '--model', ck.dir, '--trainable', 'norm');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^family\s+llama \(model_type qwen3\)$/m);
    expect(r.stdout).toMatch(/^head dim\s+12$/m);
    const norms = count((n) => n.includes('norm'));
    expect(norms).toBe(2 * 2 * 32 + 32 + 2 * 2 * 12); // input/post-attention norms, the final norm, the q/k norms
    expect(r.stdout).toMatch(new RegExp(`^trainable\\s+${norms.toLocaleString('en-US')}$`, 'm'));
  });
});

describe('dpzo train on a qwen3 checkpoint', () => {
  const common = ['--model', ck.dir, '--data', data, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--batch-size', '10', '--threads', '1'];

  for (const method of ['dpzo', 'dpsgd'] as const) {
    it(`--method ${method} --trainable q_norm,k_norm: the exported model holds moved q/k norm weights`, async () => {
      const run = join(tmp.dir, `run-${method}`);
      const extra = method === 'dpsgd' ? ['--lr', '0.5'] : [];
      const r = await dpzo('train', ...common, '--method', method, '--trainable', 'q_norm,k_norm', '--steps', '3', '--out', run, '--json', ...extra);
      expect(r.status, r.stderr).toBe(0);
      const exported = join(tmp.dir, `exported-${method}`);
      const e = await dpzo('export', '--run', run, '--out', exported);
      expect(e.status, e.stderr).toBe(0);
      const m = await loadModel(exported, { threads: 1 });
      try {
        let moved = 0;
        for (const [name, t] of ck.tensors) {
          const now = m.getParameter(name);
          const changed = now.some((v, i) => v !== Math.fround(t.values[i]!));
          if (isQkNorm(name)) moved += changed ? 1 : 0;
          else expect(changed, name).toBe(false); // frozen
        }
        expect(moved).toBe(4);
      } finally {
        m.dispose();
      }
    }, 60_000);
  }
});

describe('a random-initialised qwen3 (config.json alone)', () => {
  it('q_norm / k_norm are gains of 1, the matrices N(0, 0.02²), and the forward runs', async () => {
    const dir = join(tmp.dir, 'qwen3-rand');
    writeRandomCheckpoint(dir, { ...QWEN3, seed: 2 });
    writeFileSync(join(dir, 'model.safetensors'), 'not a safetensors file');
    const m = await loadModel(dir, { threads: 1, randomInit: { seed: 5 } });
    try {
      const names = m.parameterNames();
      expect(names.filter(isQkNorm)).toHaveLength(4);
      for (const n of names.filter(isQkNorm)) expect(Array.from(m.getParameter(n)), n).toEqual(new Array<number>(12).fill(1));
      const q = m.getParameter('model.layers.0.self_attn.q_proj.weight');
      expect(q.length).toBe(48 * 32);
      const std = Math.sqrt(q.reduce((s, x) => s + x * x, 0) / q.length);
      expect(Math.abs(std / 0.02 - 1)).toBeLessThan(0.15);
      const { loss } = await m.perExampleLoss({ inputIds: [[1, 2, 3, 4, 5]] });
      expect(Math.abs(loss[0]! - Math.log(32))).toBeLessThan(0.5);
    } finally {
      m.dispose();
    }
  });
});

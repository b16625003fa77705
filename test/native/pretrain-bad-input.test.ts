// `dpzo pretrain` bad input is one line naming the flag and the reason, exit 2, and leaves no --out behind:
// a negative --warmup-steps was taken (the cosine decay then began that many steps early, the run never
// trained at its peak rate), and a file as --out failed with a bare "ENOTDIR: not a directory, scandir".
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadDataset, loadModel } from '../../lib/index.js';
import { pretrain } from '../../lib/pretrain/pretrain.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { dpzo } from '../helpers/cli.js';
import { writeCyclesJsonl, writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-pretrain-bad-input-');
afterAll(() => tmp.cleanup());
const model = writeTinyModel(join(tmp.dir, 'model'));
const train = writeCyclesJsonl(join(tmp.dir, 'train.jsonl'), 20, 1);
const run = (out: string, ...extra: string[]) => dpzo('pretrain', '--model', model, '--data', train, '--task', 'tokens', '--steps', '3', '--batch-size', '4', '--threads', '1', '--out', out, ...extra);

describe('dpzo pretrain bad input', () => {
  it('a negative --warmup-steps is refused naming the flag, exit 2, no --out', { timeout: 60_000 }, async () => {
    const out = join(tmp.dir, 'out-warmup');
    const r = await run(out, '--warmup-steps', '-5');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--warmup-steps.*must be a non-negative integer/);
    expect(existsSync(out)).toBe(false);
    // 0 (no warmup) is fine
    const ok = await run(join(tmp.dir, 'out-warmup-0'), '--warmup-steps', '0');
    expect(ok.status, ok.stderr).toBe(0);
  });

  it('a file as --out is refused naming --out and the reason, exit 2, the file untouched', { timeout: 60_000 }, async () => {
    const file = join(tmp.dir, 'a-file');
    writeFileSync(file, 'not a model\n');
    const r = await run(file);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--out .*a-file exists and is not a directory/);
    expect(r.stderr).not.toMatch(/ENOTDIR/);
    expect(readFileSync(file, 'utf8')).toBe('not a model\n');
  });
});

describe('pretrain() options', () => {
  it('refuses a warmup that is negative or not an integer, before any step', async () => {
    const m = await loadModel(model, { threads: 1, dtype: 'float32' });
    try {
      const data = loadDataset(train, { task: { kind: 'tokens' }, modelDir: model, config: m.config });
      const before = await m.weightsHash();
      for (const warmupSteps of [-5, 1.5, Number.NaN]) {
        await expect(pretrain(m, { train: data, steps: 3, batchSize: 4, warmupSteps }), String(warmupSteps)).rejects.toMatchObject({ code: 'ERR_TRAIN_OPTION' });
      }
      expect(await m.weightsHash()).toBe(before);
    } finally {
      m.dispose();
    }
  });
});

describe('pretrain that diverges', () => {
  it("stops with ERR_NON_FINITE naming the step and the learning rate (it failed inside addDense: 'delta[0] is not finite' [ERR_ARGUMENT])", async () => {
    const m = await loadModel(model, { threads: 1, dtype: 'float32' });
    try {
      const data = loadDataset(train, { task: { kind: 'tokens' }, modelDir: model, config: m.config });
      const p = pretrain(m, { train: data, steps: 5, batchSize: 4, lr: 1e30, weightDecay: 0 });
      await expect(p).rejects.toMatchObject({ code: 'ERR_NON_FINITE' });
      await expect(p).rejects.toThrow(/step \d: the update is not finite.*learning rate \(lr 1e\+30/);
    } finally {
      m.dispose();
    }
  });

  it('CLI: one line naming --lr, exit 2, and no --out left behind (its metrics were, and the same command again was refused as not empty)', { timeout: 60_000 }, async () => {
    const out = join(tmp.dir, 'out-diverged');
    for (let i = 0; i < 2; i++) {
      const r = await run(out, '--lr', '1e30', '--weight-decay', '0', '--json');
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n').pop()).toMatch(/^dpzo: step \d: the update is not finite.*--lr.*\[ERR_NON_FINITE\]$/);
      expect(r.stderr).not.toMatch(/not empty/);
      expect(existsSync(out)).toBe(false);
    }
  });
});

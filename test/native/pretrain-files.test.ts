// What `dpzo pretrain` writes opens as its source did: every checkpoint-<step> directory carries the tokenizer files, as
// the final model does (a checkpoint had weights and config.json only: `dpzo train --model out/checkpoint-N` on a text
// task failed with ERR_NO_TOKENIZER), and config.json names float32, the dtype pretrain trains and saves in (a bfloat16
// base's "torch_dtype": "bfloat16" was kept over float32 weights).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadDataset, loadModel } from '../../lib/index.js';
import { pretrain } from '../../lib/pretrain/pretrain.js';
import { makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { CLI_MAIN, ROOT, dpzo } from '../helpers/cli.js';
import { writeCyclesJsonl } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-pretrain-files-');
afterAll(() => tmp.cleanup());
const base = join(tmp.dir, 'base-bf16');
writeRandomCheckpoint(base, { family: 'llama', dtype: 'BF16', seed: 2, vocabSize: 32, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 64 });
writeFileSync(join(base, 'tokenizer_config.json'), '{"model_max_length": 64}\n');
const train = join(tmp.dir, 'train.jsonl');
writeCyclesJsonl(train, 40, 1);
const configOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;

describe('dpzo pretrain output', () => {
  it('checkpoints carry the tokenizer files and, like the final model, a config.json naming float32', async () => {
    const out = join(tmp.dir, 'out');
    const r = await dpzo('pretrain', '--model', base, '--data', train, '--task', 'tokens', '--steps', '4', '--checkpoint-every', '2', '--batch-size', '4', '--threads', '1', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const checkpoint = join(out, 'checkpoint-2');
    for (const dir of [checkpoint, out]) {
      expect(readdirSync(dir), dir).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer_config.json']));
      expect(readFileSync(join(dir, 'tokenizer_config.json'))).toEqual(readFileSync(join(base, 'tokenizer_config.json')));
      expect(configOf(dir)).toEqual({ ...configOf(base), torch_dtype: 'float32' });
    }
  });
});

describe('signals during dpzo pretrain', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal}: the run stops at the step in flight, the model so far is saved, exit ${code} (SIGTERM killed it, leaving no model)`, { timeout: 120_000 }, async () => {
      const out = join(tmp.dir, `out-${signal}`);
      const args = [CLI_MAIN, 'pretrain', '--model', base, '--data', train, '--task', 'tokens'];
      args.push('--steps', '100000', '--batch-size', '4', '--threads', '1', '--out', out, '--json');
      const status = await new Promise<number | null>((resolve, reject) => {
        const c = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] });
        const metrics = join(out, 'pretrain-metrics.jsonl');
        const timer = setInterval(() => {
          if (existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"type":"step"')) {
            clearInterval(timer);
            c.kill(signal);
          }
        }, 20);
        c.on('error', reject);
        c.on('close', (s) => {
          clearInterval(timer);
          resolve(s);
        });
      });
      expect(status).toBe(code);
      expect(readdirSync(out)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer_config.json']));
    });
  }
});

describe('dpzo pretrain stopped part-way through saving the final model', () => {
  // Stopped deterministically: a file size limit (ulimit -f) below the base's tokenizer file and above everything else the
  // run writes, so the copy of the tokenizer into the final model fails (EFBIG: Node ignores SIGXFSZ) after the weights and
  // config.json were written, as a full disk or a kill at that point would. The model was written straight into --out:
  // config.json and the weights were there and tokenizer.json cut short, and `dpzo train --model out` took it for a model.
  it('--out holds no config.json (no model) rather than a model with a tokenizer cut short', { timeout: 120_000 }, () => {
    const big = join(tmp.dir, 'base-big-tokenizer');
    writeRandomCheckpoint(big, { family: 'llama', seed: 3, vocabSize: 32, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 64 });
    writeFileSync(join(big, 'tokenizer.json'), JSON.stringify({ pad: 'x'.repeat(3 << 20) }));
    const out = join(tmp.dir, 'out-killed');
    const args = [CLI_MAIN, 'pretrain', '--model', big, '--data', train, '--task', 'tokens', '--steps', '2', '--batch-size', '4', '--threads', '1', '--out', out, '--json'];
    // 1024 blocks of 1 KiB: the weights (a few KiB), metrics and config fit, the 3 MiB tokenizer does not
    const r = spawnSync('bash', ['-c', 'ulimit -f 1024 && exec "$@"', 'bash', process.execPath, ...args], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/EFBIG/);
    expect(existsSync(join(out, 'pretrain-metrics.jsonl'))).toBe(true);
    expect(existsSync(join(out, 'config.json'))).toBe(false);
    expect(existsSync(join(out, 'tokenizer.json'))).toBe(false);
  });
});

describe('pretrain cancelled inside a step', () => {
  it("an abort that lands inside the step's backward stops the run as between steps (it rejected with ERR_CANCELLED: exit 2, no model saved)", async () => {
    const model = await loadModel(base, { threads: 1, dtype: 'float32' });
    try {
      const data = loadDataset(train, { task: { kind: 'tokens' }, modelDir: base, config: model.config });
      const controller = new AbortController();
      // the abort arrives while the third step's backward is under way (deterministically: as it is called)
      let calls = 0;
      const inner = model.lossAndGradient.bind(model);
      const wrapped = Object.assign(Object.create(model) as typeof model, {
        lossAndGradient: (...a: Parameters<typeof inner>) => {
          if (++calls === 3) controller.abort();
          return inner(...a);
        },
      });
      const before = await model.weightsHash();
      const report = await pretrain(wrapped, { train: data, steps: 10, batchSize: 4, lr: 1e-3, signal: controller.signal });
      expect(report).toMatchObject({ stopReason: 'cancelled', steps: 2 });
      expect(await model.weightsHash()).not.toBe(before);
    } finally {
      model.dispose();
    }
  });
});

// `dpzo pretrain` saves whole or not at all: a checkpoint-<k> directory appears only complete (staged beside it and
// renamed), and the final model in --out gets its config.json (what makes a directory a model) only after every other
// file of it is in place. The old saves wrote straight into checkpoint-<k> and --out: a process killed mid-save left
// model.safetensors without config.json (or a tokenizer cut short) for a later `dpzo train --model` to load. The
// interruption is deterministic: a fake model's save looks at the target while it writes, or kills its own process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import type { Dataset } from '../../../lib/data/tasks.js';
import type { Model } from '../../../lib/model/types.js';
import { pretrain } from '../../../lib/pretrain/pretrain.js';
import { saveModelInto } from '../../../lib/pretrain/save.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { ROOT } from '../../helpers/cli.js';

const tmp = makeTempDir('dpzo-pretrain-atomic-');
afterAll(() => tmp.cleanup());
const base = join(tmp.dir, 'base');
mkdirSync(base);
const TOKENIZER = JSON.stringify({ pad: 'x'.repeat(100_000) });
writeFileSync(join(base, 'tokenizer.json'), TOKENIZER);

/** A model that pretrain() can step and save; `during(dir)` runs between its weights file and its config.json. */
function fakeModel(during: (dir: string) => void): Model {
  return {
    dir: base,
    numTrainable: 2,
    lossAndGradient: async () => ({ loss: Float32Array.of(1), grad: Float32Array.of(0.5, -0.5) }),
    addDense: async () => {},
    // a checkpoint holds the weights and the run's starting weights' hash too (to resume from)
    getTrainable: async () => Float32Array.of(1, 2),
    weightsHash: async () => '0'.repeat(64),
    save: async (dir: string) => {
      writeFileSync(join(dir, 'model.safetensors'), Buffer.alloc(4096, 1));
      during(dir);
      writeFileSync(join(dir, 'config.json'), '{"model_type":"llama"}\n');
    },
  } as unknown as Model;
}

const data = { task: { kind: 'tokens' }, source: '', examples: [{ inputIds: Int32Array.of(1, 2, 3) }] } as unknown as Dataset;

/** What a model directory holds: every file of a complete save, or nothing a loader would take for a model. */
function expectWhole(dir: string): void {
  expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']));
  expect(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).toBe(TOKENIZER);
  expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
}

describe('pretrain checkpoints', () => {
  it('checkpoint-<k> does not exist while it is being written, and is whole once it does', async () => {
    const out = join(tmp.dir, 'out-ckpt');
    const seen: boolean[] = [];
    const report = await pretrain(
      fakeModel(() => seen.push(existsSync(join(out, 'checkpoint-2')))),
      { train: data, steps: 3, batchSize: 1, checkpointEvery: 2, outDir: out },
    );
    expect(seen).toEqual([false]);
    expect(report.checkpoints).toEqual([join(out, 'checkpoint-2')]);
    expectWhole(join(out, 'checkpoint-2'));
    expect(readdirSync(out)).toEqual(['checkpoint-2']);
  });

  it('a process killed (SIGKILL) in the middle of a checkpoint save leaves no checkpoint-<k>', () => {
    const out = join(tmp.dir, 'out-ckpt-killed');
    const lib = (p: string) => pathToFileURL(join(ROOT, 'dist', p)).href;
    // the same fake model, in a child that kills itself with SIGKILL between the weights and config.json
    const script = `
      import { writeFileSync } from 'node:fs';
      import { join } from 'node:path';
      const { pretrain } = await import(${JSON.stringify(lib('pretrain/pretrain.js'))});
      const model = {
        dir: ${JSON.stringify(base)},
        numTrainable: 2,
        lossAndGradient: async () => ({ loss: Float32Array.of(1), grad: Float32Array.of(0.5, -0.5) }),
        addDense: async () => {},
        getTrainable: async () => Float32Array.of(1, 2),
        weightsHash: async () => '0'.repeat(64),
        save: async (dir) => {
          writeFileSync(join(dir, 'model.safetensors'), Buffer.alloc(4096, 1));
          process.kill(process.pid, 'SIGKILL');
        },
      };
      const data = { task: { kind: 'tokens' }, source: '', examples: [{ inputIds: Int32Array.of(1, 2, 3) }] };
      await pretrain(model, { train: data, steps: 3, batchSize: 1, checkpointEvery: 2, outDir: ${JSON.stringify(out)} });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(existsSync(join(out, 'checkpoint-2'))).toBe(false);
  });
});

describe('the final model (saveModelInto --out)', () => {
  it('config.json appears in --out only after every other file is there, complete; the files beside it are kept', async () => {
    const out = join(tmp.dir, 'out-final');
    mkdirSync(out);
    writeFileSync(join(out, 'pretrain-metrics.jsonl'), '{}\n');
    const seen: string[][] = [];
    await saveModelInto(
      fakeModel(() => seen.push(readdirSync(out).filter((f) => !f.includes('.partial-')))),
      out,
    );
    // while the save was writing, --out held what it held before: nothing of the model
    expect(seen).toEqual([['pretrain-metrics.jsonl']]);
    expectWhole(out);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'pretrain-metrics.jsonl', 'tokenizer.json']);
  });

  it('a save that fails half-way leaves --out as it was (no weights, no config.json, no staging directory)', async () => {
    const out = join(tmp.dir, 'out-final-failed');
    mkdirSync(out);
    await expect(
      saveModelInto(
        fakeModel(() => {
          throw new Error('interrupted');
        }),
        out,
      ),
    ).rejects.toThrow('interrupted');
    expect(readdirSync(out)).toEqual([]);
  });
});

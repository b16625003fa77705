// The exported config.json names the dtype of the exported weights: it was the base's config.json as it was, so a
// float32 run from a bfloat16 base came out as float32 weights under "torch_dtype": "bfloat16" (transformers'
// torch_dtype="auto" then loads them in bfloat16, rounding the fine-tuning away). A run in the base's own dtype
// keeps the base's config.json byte for byte.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { parseRunConfig } from '../../../lib/dpzo/config.js';
import { exportRun } from '../../../lib/dpzo/index.js';
import { prepareRun } from '../../../lib/dpzo/session.js';
import { loadModel } from '../../../lib/index.js';
import { makeTempDir, writeRandomCheckpoint } from '../../helpers/checkpoints.js';
import { writeCyclesJsonl } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-export-dtype-');
afterAll(() => tmp.cleanup());
const base = join(tmp.dir, 'base-bf16');
writeRandomCheckpoint(base, { family: 'llama', dtype: 'BF16', seed: 4, vocabSize: 32, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 64 });
// the tokenizer files a base may have: each is copied into the export
const SIDE = { 'tokenizer_config.json': '{}\n', 'added_tokens.json': '{"<extra>": 32}\n', 'chat_template.jinja': '{{ messages }}\n' };
for (const [f, text] of Object.entries(SIDE)) writeFileSync(join(base, f), text);
const train = join(tmp.dir, 'train.jsonl');
writeCyclesJsonl(train, 100, 1);
const readConfig = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;

async function trainAndExport(dtype: 'float32' | 'bfloat16'): Promise<string> {
  const out = join(tmp.dir, `run-${dtype}`);
  const cfg = parseRunConfig({ model: base, data: train, task: 'tokens', epsilon: 8, delta: 1e-5, accountant: 'rdp', steps: 2, batchSize: 10, threads: 1, dtype, out }, 'test');
  const { model, trainer } = await prepareRun(cfg);
  await trainer.train();
  model.dispose();
  const fresh = await loadModel(base, { threads: 1, dtype });
  const exported = join(tmp.dir, `exported-${dtype}`);
  try {
    await exportRun(fresh, out, exported);
  } finally {
    fresh.dispose();
  }
  return exported;
}

describe('the exported config.json', () => {
  it('names float32 for a float32 run from a bfloat16 base; every other field is the base\'s', async () => {
    expect(readConfig(base).torch_dtype).toBe('bfloat16');
    const exported = await trainAndExport('float32');
    const back = await loadModel(exported, { threads: 1 });
    try {
      expect(back.dtype).toBe('float32');
    } finally {
      back.dispose();
    }
    expect(readConfig(exported)).toEqual({ ...readConfig(base), torch_dtype: 'float32' });
  });

  it("is the base's, byte for byte, for a run in the base's dtype", async () => {
    const exported = await trainAndExport('bfloat16');
    expect(readFileSync(join(exported, 'config.json'))).toEqual(readFileSync(join(base, 'config.json')));
  });
});

describe('the exported directory', () => {
  it("carries the base's tokenizer files: added_tokens.json and chat_template.jinja too", async () => {
    const exported = join(tmp.dir, 'exported-float32');
    for (const [f, text] of Object.entries(SIDE)) expect(readFileSync(join(exported, f), 'utf8'), f).toBe(text);
  });
});

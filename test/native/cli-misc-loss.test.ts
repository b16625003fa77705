// `dpzo loss` prints each loss as computed: NaN only for a sequence with no targets (or a NaN loss), an infinite
// loss as Infinity; --json writes null for both, and targets tells them apart.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { dpzo } from '../helpers/cli.js';
import { encodeValues, writeSafetensors } from '../helpers/safetensors.js';

let tmp: { dir: string; cleanup: () => void };
let model: string;
let data: string;

beforeAll(() => {
  tmp = makeTempDir('dpzo-cli-loss-');
  model = join(tmp.dir, 'model');
  // GPT-2 whose final hidden state is (2, 0, …, 0) at every position (ln_f weight 0, bias e0·2), and whose tied row 5
  // starts with -3e38: token 5's logit is -6e38, -Infinity in float32, so predicting 5 costs an infinite loss
  const H = 8;
  const ck = writeRandomCheckpoint(model, { family: 'gpt2', seed: 4, vocabSize: 16, hiddenSize: H, numLayers: 1, numHeads: 2, maxPositions: 16 });
  ck.tensors.get('transformer.ln_f.weight')!.values.fill(0);
  const bias = ck.tensors.get('transformer.ln_f.bias')!.values;
  bias.fill(0);
  bias[0] = 2;
  ck.tensors.get('transformer.wte.weight')!.values[5 * H] = -3e38;
  writeSafetensors(
    join(model, 'model.safetensors'),
    [...ck.tensors].map(([n, t]) => [ck.fileNames.get(n)!, { dtype: 'F32', shape: t.shape, data: encodeValues(t.values, 'F32') }]),
  );
  data = join(tmp.dir, 'data.jsonl');
  // an infinite loss (token 5 is only a target, never an input), a finite one, and one with no targets
  writeFileSync(data, ['{"input_ids":[1,2,3],"labels":[-100,5,5]}', '{"input_ids":[1,2,3]}', '{"input_ids":[1]}'].join('\n') + '\n');
});

afterAll(() => tmp?.cleanup());

describe('dpzo loss: NaN and Infinity apart', () => {
  it('text: Infinity for the infinite loss, NaN for the sequence with no targets', async () => {
    const r = await dpzo('loss', '--model', model, '--data', data, '--device', 'cpu');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    // was NaN: the same as a sequence with no targets
    expect(lines[0]).toBe('Infinity');
    expect(Number.isFinite(Number(lines[1]))).toBe(true);
    expect(lines[2]).toBe('NaN');
  });

  it('--json: null for both, targets tells them apart', async () => {
    const r = await dpzo('loss', '--model', model, '--data', data, '--device', 'cpu', '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['loss', 'targets']);
    expect(out.loss[0]).toBeNull();
    expect(out.loss[1]).toBeGreaterThan(0);
    expect(out.loss[2]).toBeNull();
    expect(out.targets).toEqual([2, 2, 0]);
  });
});

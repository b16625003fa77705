// prepareRun checks the RunConfig it is given, as parseRunConfig does, before it reads any file: a config built
// in code (not parsed) had its misspelt or mistyped fields ignored.
import { describe, expect, it } from 'vitest';

import { prepareRun } from '../../../lib/dpzo/index.js';
import type { RunConfig } from '../../../lib/dpzo/config.js';

const base = { model: '/nonexistent/model', data: '/nonexistent/train.jsonl', task: 'tokens', epsilon: 2, delta: 1e-5, steps: 3 } as const;

describe('prepareRun', () => {
  it('refuses a config field that is not one, or of the wrong type, with ERR_TRAIN_OPTION naming it (it was ignored)', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ datasetBudgte: 1 }, /datasetBudgte/],
      [{ privateDiagnostic: true }, /privateDiagnostic/],
      // limit -1 dropped the last row (slice(0, -1)); maxLength 'abc' was the default 256
      [{ limit: -1 }, /limit/],
      [{ maxLength: 'abc' }, /maxLength/],
      // an unknown task read as lm
      [{ task: 'xx' }, /task/],
    ];
    for (const [patch, re] of cases) {
      await expect(prepareRun({ ...base, ...patch } as unknown as RunConfig), JSON.stringify(patch)).rejects.toMatchObject({
        code: 'ERR_TRAIN_OPTION',
        message: expect.stringMatching(re),
      });
    }
    // a valid config gets as far as the model directory
    await expect(prepareRun(base)).rejects.toMatchObject({ code: 'ERR_CONFIG_MISSING' });
  });
});

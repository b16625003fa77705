// Planning checks the float32 range in every dtype (lib/dpzo/options.ts checkFloatReach): the virtual
// points θ ± ε_zo·z are read as float32 and never stored, so a float16 model has no tighter bound on
// ε_zo; a float16 update beyond 65504 depends on the released ĝ and is refused by the core after its
// release as a void step (exact-step.test.ts). This pins the first half: no float16 refusal of ε_zo.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { parseRunConfig } from '../../../lib/dpzo/config.js';
import { prepareRun } from '../../../lib/dpzo/session.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-f16-range-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 60, 1);

describe('float16 and the plan range check', () => {
  it('ε_zo·max|z| beyond the float16 range (65504) is no reason to refuse a plan: the virtual points are float32', async () => {
    // ε_zo 1e5: |ε_zo·z| reaches 5.8e5
    const cfg = { model: p.model, data: p.train, task: 'tokens' as const, epsilon: 8, delta: 1e-5, threads: 2, accountant: 'rdp' as const };
    const { model, trainer } = await prepareRun(
      parseRunConfig({ ...cfg, dtype: 'float16', out: join(tmp.dir, 'run'), steps: 3, batchSize: 10, lr: 0, zoEps: 1e5 }, 'test'),
    );
    const before = await model.weightsHash();
    const report = await trainer.train();
    expect(report.steps).toBe(3);
    expect(await model.weightsHash()).toBe(before);
    model.dispose();
  });
});
